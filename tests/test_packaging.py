"""The installed package carries its content and starts fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import needs

import normquiz
from normquiz.content import CONTENT_FOLDERS, default_catalog

REPO = Path(__file__).resolve().parents[1]


def test_ci_tests_the_installed_wheel():
    # The package must come from site-packages (a non-editable install), so that a
    # file missing from the wheel fails the tests. .ci/run installs it so; a developer's
    # editable install is told this test was skipped, and CI fails without it.
    package = Path(normquiz.__file__).resolve().parent
    needs(REPO not in package.parents, "a non-editable install of normquiz (as .ci/run makes)")
    assert REPO not in package.parents, package
    for folder in CONTENT_FOLDERS:
        assert (package / "content" / folder).is_dir(), folder


def test_content_is_found_from_any_directory(tmp_path):
    out = subprocess.run([sys.executable, "-m", "normquiz", "list"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    for slug in default_catalog().slugs:
        assert slug in out


def test_help_does_not_import_numpy_or_pytest():
    code = ("import sys; from normquiz.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'pytest', 'pydantic', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
