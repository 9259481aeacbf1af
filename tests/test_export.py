"""`normquiz export gradescope`: the bundle, and run_autograder end to end.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once, then
/autograder/run_autograder per submission. Here the tree lives in a temporary
folder (NORMQUIZ_AUTOGRADER_ROOT) and run_autograder runs for real. setup.sh
is read, not run: its pip step would install the bundled wheel into this test
environment (slow, and it would replace the normquiz under test). The normquiz
already installed here stands in for it, on PATH as `normquiz`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import learners
import pytest
import yaml
from click.testing import CliRunner
from helpers import COURSE

from normquiz.cli import cli
from normquiz.content import Catalog, default_catalog
from normquiz.export import ROOT_ENV
from normquiz.selfcheck import mistake_source

TOPIC = default_catalog().topic("layernorm")
BIN = str(Path(sys.executable).parent)  # python3 and normquiz of this environment


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    zip_path = tmp / "autograder.zip"
    result = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(zip_path),
                                      "--timeout", "5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return zip_path


def test_the_zip_holds_the_scripts_at_its_root(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        wheel = next(n for n in names if n.endswith(".whl"))
        wheel_names = zipfile.ZipFile(z.open(wheel)).namelist()
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= set(names)
    assert wheel.startswith("normquiz-") and "/" not in wheel
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    # The wheel carries the package and its content.
    assert "normquiz/cli.py" in wheel_names
    assert "normquiz/content/grader/layernorm/test_layernorm_forward.py" in wheel_names
    assert any(n.endswith(".dist-info/RECORD") for n in wheel_names)
    # setup.sh: pip only, installing the bundled wheel.
    assert setup.startswith("#!/usr/bin/env bash")
    install = " ".join(setup.split("python3 -m pip install", 1)[1].replace("\\\n", " ").split())
    assert f"-r requirements.txt ./{wheel}" in install
    assert "conda" not in setup and "mamba" not in setup


def autograde(bundle: Path, tmp: Path, files: dict[str, str | Path],
              path: str | None = None) -> dict:
    """Lay out /autograder as Gradescope does, run run_autograder, return results.json."""
    root = tmp / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)  # zipfile does not restore modes
    submission = root / "submission"
    submission.mkdir()
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy2(content, submission / name)
        else:
            (submission / name).write_text(content)
    env = {**os.environ, ROOT_ENV: str(root),
           "PATH": path if path is not None else BIN + os.pathsep + os.environ["PATH"]}
    env.pop("NORMQUIZ_PATH", None)
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results" / "results.json").read_text())


def assert_gradescope_types(results: dict) -> None:
    assert isinstance(results["score"], float) and isinstance(results["max_score"], float)
    assert isinstance(results["execution_time"], float)
    assert isinstance(results["output"], str) and results["visibility"] == "visible"
    for number, test in enumerate(results["tests"], 1):
        assert test["number"] == str(number) and test["status"] in ("passed", "failed")
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["tags"], list) and test["visibility"] == "visible"


def learner_files(tmp: Path, source: str) -> dict[str, str]:
    """A module and the answers.yaml of a workspace (its seed line included), no state file."""
    folder = tmp / "learner"
    learners.bare(TOPIC, folder)
    return {"layernorm.py": source, "answers.yaml": (folder / "answers.yaml").read_text()}


def test_a_correct_submission_scores_full_marks(bundle, tmp_path):
    files = learner_files(tmp_path, learners.reference_source(TOPIC))
    results = autograde(bundle, tmp_path, files)
    assert_gradescope_types(results)
    assert results["score"] == results["max_score"] == 17.0
    assert len(results["tests"]) == len(TOPIC.exercises)
    assert all(t["status"] == "passed" for t in results["tests"])


def test_a_buggy_submission_is_diagnosed(bundle, tmp_path):
    exercise = TOPIC.exercise("layernorm_forward")
    files = learner_files(tmp_path, mistake_source(TOPIC, exercise, "unbiased-variance"))
    results = autograde(bundle, tmp_path, files)
    assert_gradescope_types(results)
    assert 0 < results["score"] < results["max_score"]
    forward = results["tests"][0]
    assert forward["name"].startswith("layernorm_forward")
    assert forward["status"] == "failed" and forward["tags"] == ["unbiased-variance"]
    assert "Diagnosis" in forward["output"]
    assert "layernorm_forward" in results["output"]


def test_a_notebook_alone_is_graded_with_its_own_seed(bundle, tmp_path):
    learners.notebook_only(TOPIC, tmp_path / "nb")
    results = autograde(bundle, tmp_path, {"layernorm.ipynb": tmp_path / "nb" / "layernorm.ipynb"})
    assert results["score"] == results["max_score"] == 17.0


def test_a_submission_that_cannot_be_graded_still_gets_results(bundle, tmp_path):
    files = learner_files(tmp_path, "def layernorm_forward(x, gain, bias, eps=1e-5)\n")
    results = autograde(bundle, tmp_path, files)
    assert results["score"] == 0.0 and results["tests"] == []
    assert "layernorm.py, line 1: syntax error" in results["output"]


def test_without_normquiz_installed_results_json_is_still_written(bundle, tmp_path):
    # PATH without this environment: no normquiz (setup.sh did not run, say).
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if p and p != BIN and not (Path(p) / "normquiz").exists())
    assert shutil.which("python3", path=path), "run_autograder needs a python3 on PATH"
    results = autograde(bundle, tmp_path, {"layernorm.py": "x = 1\n"}, path=path)
    assert results["score"] == 0.0 and "not installed" in results["output"]


def test_an_instructors_topic_travels_with_the_bundle(bundle, tmp_path):
    # The toy course is outside the package: its content goes into the zip. The wheel
    # of the first bundle is reused through --wheel.
    with zipfile.ZipFile(bundle) as z:
        wheel = next(n for n in z.namelist() if n.endswith(".whl"))
        z.extract(wheel, tmp_path)
    zip_path = tmp_path / "toy.zip"
    result = CliRunner().invoke(cli, ["--content", str(COURSE), "export", "gradescope", "toy",
                                      "-o", str(zip_path), "--wheel", str(tmp_path / wheel)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(zip_path) as z:
        assert "content/grader/toy/test_center.py" in z.namelist()
        assert z.read(wheel) == (tmp_path / wheel).read_bytes()
    topic = Catalog([COURSE]).topic("toy")
    answers = yaml.safe_dump(learners.correct_answers(topic, 0))
    results = autograde(zip_path, tmp_path, {"toy.py": learners.reference_source(topic),
                                             "answers.yaml": answers})
    assert results["score"] == results["max_score"] > 0
