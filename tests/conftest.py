"""Shared fixtures: the toy course, a CLI runner, workspaces in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import COURSE, UNDER_CI

from normquiz.cli import cli
from normquiz.content import Catalog

# The toy course's graders are content, collected only by normquiz itself.
collect_ignore = ["fixtures"]
# pytester runs pytest on small test files: tests/test_ci_rules.py checks these rules.
pytest_plugins = ("pytester",)


def _fail_a_skip_under_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Under CI no test may skip: a skip there means CI did not test something."""
    if UNDER_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    _fail_a_skip_under_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    # A module that skips as a whole (pytest.skip(allow_module_level=True), importorskip).
    outcome = yield
    _fail_a_skip_under_ci(outcome.get_result())


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests must not depend on the machine's NORMQUIZ_PATH or colors.
    monkeypatch.delenv("NORMQUIZ_PATH", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def toy_catalog() -> Catalog:
    return Catalog([COURSE])


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """run(*args, cwd=None, toy=False) -> click Result, run from tmp_path by default."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, cwd: Path | None = None, toy: bool = False, env: dict | None = None,
               input: str | None = None):
        if cwd is not None:
            os.chdir(cwd)
        prefix = ["--content", str(COURSE)] if toy else []
        result = CliRunner().invoke(cli, [*prefix, *args], env=env, input=input,
                                    catch_exceptions=False)
        os.chdir(tmp_path)
        return result

    return invoke
