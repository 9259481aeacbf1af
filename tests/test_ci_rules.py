"""Under CI (CI=true, as .ci/run sets it) no test may skip: each skip fails the run.

The rules of tests/conftest.py and tests/helpers.needs, tried on small test files run
by pytest in a subprocess, with and without CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
SKIPPING = {
    "test_module_skip": """
        import pytest
        pytest.importorskip("a_module_that_is_not_installed")

        def test_never_runs():
            pass
        """,
    "test_needs_in_a_module": """
        from helpers import needs
        needs(False, "a dependency")

        def test_never_runs():
            pass
        """,
    "test_needs_in_a_test": """
        from helpers import needs

        def test_it():
            needs(False, "a dependency")
        """,
    "test_plain_skip": """
        import pytest

        def test_it():
            pytest.skip("not here")
        """,
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(helpers=(TESTS / "helpers.py").read_text(encoding="utf-8"),
                        **SKIPPING)
    return pytester


@pytest.mark.parametrize("ci", [True, False])
def test_every_kind_of_skip_fails_under_ci_and_skips_elsewhere(project, monkeypatch, ci):
    monkeypatch.setenv("CI", "true" if ci else "")
    # Collection errors stop a session; here every case is to be seen.
    result = project.runpytest_subprocess("-p", "no:cacheprovider",
                                          "--continue-on-collection-errors")
    outcomes = result.parseoutcomes()
    if ci:
        # Two modules fail as a whole (collection) and two tests fail: nothing skipped.
        assert "skipped" not in outcomes, result.stdout.str()
        assert (outcomes.get("errors", 0), outcomes.get("failed", 0)) == (2, 2), outcomes
        assert result.ret != 0
        result.stdout.fnmatch_lines(["*a dependency is missing, and CI must run this test*"])
    else:
        assert outcomes == {"skipped": 4}, result.stdout.str()
        assert result.ret == 0
