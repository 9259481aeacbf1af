"""`normquiz export github-classroom`: the template repository and its workflow.

GitHub itself cannot be reached from here. The workflow is parsed and checked
against the pattern GitHub Classroom's actions expect, and each test's
`command` is run as the command grader runs it: in a shell, in the checked-out
repository, with only PATH, HOME and FORCE_COLOR in its environment (the
grader passes nothing else), with the normquiz under test on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import learners
import pytest
import yaml
from click.testing import CliRunner

from normquiz import __version__
from normquiz.classroom import (
    COMMAND_GRADER,
    GITIGNORE,
    JOB_NAME,
    REPORTER,
    WORKFLOW_NAME,
    WORKFLOW_PATH,
)
from normquiz.cli import cli
from normquiz.content import default_catalog
from normquiz.selfcheck import reference_source
from normquiz.workspace import ANSWERS_FILE, STATE_FILE

TOPIC = default_catalog().topic("layernorm")


def export(*args: str) -> object:
    return CliRunner().invoke(cli, ["export", "github-classroom", *args],
                              catch_exceptions=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("classroom") / "layernorm-template"
    result = export("layernorm", str(repo))
    assert result.exit_code == 0, result.output
    return repo


def workflow(repo: Path) -> dict:
    return yaml.safe_load((repo / WORKFLOW_PATH).read_text(encoding="utf-8"))


def steps(repo: Path) -> list[dict]:
    return workflow(repo)["jobs"][JOB_NAME]["steps"]


def graders(repo: Path) -> list[dict]:
    return [s for s in steps(repo) if s.get("uses") == COMMAND_GRADER]


def run_like_the_grader(command: str, repo: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "FORCE_COLOR": "true"}
    return subprocess.run(command, shell=True, cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300)


def fill_in(repo: Path) -> None:
    """The reference solution and right answers, as a student who got everything right."""
    seed = yaml.safe_load((repo / STATE_FILE).read_text())["seed"]
    (repo / str(TOPIC.module)).write_text(reference_source(TOPIC), encoding="utf-8")
    assert reference_source(TOPIC) == TOPIC.solution_path.read_text(encoding="utf-8")
    (repo / ANSWERS_FILE).write_text(yaml.safe_dump(learners.correct_answers(TOPIC, seed)),
                                     encoding="utf-8")


def exit_codes(repo: Path, only: set[str] | None = None) -> dict[str, int]:
    """Each grading step's exit code (of the steps in `only`), two commands at a time,
    as separate Actions steps would run them."""
    from concurrent.futures import ThreadPoolExecutor

    chosen = [s for s in graders(repo) if only is None or s["id"] in only]
    with ThreadPoolExecutor(2) as pool:
        done = pool.map(lambda s: run_like_the_grader(s["with"]["command"], repo), chosen)
        return {s["id"]: d.returncode for s, d in zip(chosen, done)}


def test_the_template_is_the_workspace_start_writes(template, tmp_path):
    from normquiz.workspace import start

    started = start(default_catalog(), "layernorm", tmp_path / "ws", seed=0)
    for name in started.written:
        if name != "README.md":
            assert (template / name).read_bytes() == (tmp_path / "ws" / name).read_bytes(), name
    readme = (template / "README.md").read_text()
    assert readme.startswith((tmp_path / "ws" / "README.md").read_text().rstrip("\n"))
    assert "## Grading on GitHub" in readme
    assert yaml.safe_load((template / STATE_FILE).read_text())["seed"] == 0
    ignored = (template / GITIGNORE).read_text().splitlines()
    assert "__pycache__/" in ignored and ".ipynb_checkpoints/" in ignored
    assert STATE_FILE not in ignored


def test_the_workflow_has_classrooms_structure(template):
    flow = workflow(template)
    assert flow["name"] == WORKFLOW_NAME
    assert set(flow["on"]) == {"push", "workflow_dispatch"}
    assert flow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    assert list(flow["jobs"]) == [JOB_NAME]
    all_steps = steps(template)
    uses = [s.get("uses", "") for s in all_steps]
    assert uses[0].startswith("actions/checkout@") and uses[1].startswith("actions/setup-python@")
    runs = [s["run"] for s in all_steps if "run" in s]
    assert f"python -m pip install normquiz=={__version__}" in runs
    doctor = runs.index("normquiz doctor")
    assert doctor == len(runs) - 1  # after the install, before any grading
    assert all_steps.index(graders(template)[0]) > [s.get("run") for s in all_steps].index(
        "normquiz doctor")

    tests = graders(template)
    assert [t["id"] for t in tests] == [e.id for e in TOPIC.exercises]
    for test, exercise in zip(tests, TOPIC.exercises):
        assert test["with"]["max-score"] == exercise.points
        assert test["with"]["test-name"] == exercise.id
        assert test["with"]["command"] == f"normquiz grade {exercise.id} --require-isolation"
        assert 1 <= test["with"]["timeout"] <= 360  # minutes

    reporter = all_steps[-1]
    assert reporter["uses"] == REPORTER
    runners = reporter["with"]["runners"].split(",")
    assert runners == [t["id"] for t in tests]
    for runner in runners:
        assert reporter["env"][f"{runner.upper()}_RESULTS"] == (
            "${{ steps." + runner + ".outputs.result }}")


def test_blank_every_test_fails(template, tmp_path):
    repo = tmp_path / "blank"
    shutil.copytree(template, repo)
    codes = exit_codes(repo)
    # 1: graded and not passed (2 would be a usage or configuration error)
    assert codes and all(code == 1 for code in codes.values()), codes


def test_right_work_every_test_passes(template, tmp_path):
    repo = tmp_path / "right"
    shutil.copytree(template, repo)
    fill_in(repo)
    codes = exit_codes(repo)
    assert codes and all(code == 0 for code in codes.values()), codes


def test_one_wrong_answer_costs_that_test_only(template, tmp_path):
    repo = tmp_path / "one-wrong"
    shutil.copytree(template, repo)
    fill_in(repo)
    answers = yaml.safe_load((repo / ANSWERS_FILE).read_text())
    answers["ln_axis"] = next(c for c in "abcd" if c != answers["ln_axis"])
    (repo / ANSWERS_FILE).write_text(yaml.safe_dump(answers))
    tests = {t["id"]: t["with"]["command"] for t in graders(repo)}
    assert run_like_the_grader(tests["ln_axis"], repo).returncode == 1
    assert run_like_the_grader(tests["ln_what_is_f"], repo).returncode == 0


def test_a_git_clone_grades_the_same(template, tmp_path):
    git = ["git", "-c", "user.name=Instructor", "-c", "user.email=instructor@example.com",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    origin = tmp_path / "origin"
    shutil.copytree(template, origin)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run([*git, *args], cwd=origin, check=True, capture_output=True)
    clone = tmp_path / "student"
    subprocess.run([*git, "clone", "-q", str(origin), str(clone)], check=True,
                   capture_output=True)
    tracked = subprocess.run(["git", "ls-files"], cwd=clone, check=True, capture_output=True,
                             text=True).stdout.split()
    assert {STATE_FILE, WORKFLOW_PATH, GITIGNORE, ANSWERS_FILE, str(TOPIC.module)} <= set(tracked)
    tests = [t["with"]["command"] for t in graders(clone)]
    assert run_like_the_grader(tests[0], clone).returncode != 0
    assert run_like_the_grader(tests[-1], clone).returncode != 0
    fill_in(clone)
    # Every step passes on a fresh workspace (test_right_work_every_test_passes); in the
    # clone, one step of each kind: each code exercise and the first and last question.
    questions = [e.id for e in TOPIC.exercises if e.is_question]
    codes = exit_codes(clone, {*(e.id for e in TOPIC.code_exercises), questions[0],
                               questions[-1]})
    assert len(codes) == len(TOPIC.code_exercises) + 2
    assert all(code == 0 for code in codes.values()), codes


def test_a_non_empty_folder_is_refused_and_force_keeps_every_file(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text("mine")
    result = export("layernorm", str(repo))
    assert result.exit_code == 2
    assert "not empty" in result.output and "--force" in result.output
    assert sorted(p.name for p in repo.iterdir()) == ["notes.txt"]

    mine = {"notes.txt": "mine", "README.md": "# my course\n", GITIGNORE: "*.log\n",
            WORKFLOW_PATH: "name: mine\n"}
    for name, text in mine.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    result = export("layernorm", str(repo), "--force")
    assert result.exit_code == 0, result.output
    for name, text in mine.items():
        assert (repo / name).read_text() == text, name
    assert (repo / STATE_FILE).is_file() and (repo / str(TOPIC.module)).is_file()
    assert "## Grading on GitHub" in (repo / "GRADING.md").read_text()
    again = export("layernorm", str(repo), "--force")
    assert again.exit_code == 0 and "Wrote into" in again.output
    assert "nothing" in again.output.splitlines()[0]


def test_options_install_spec_seed_and_unsandboxed(tmp_path):
    spec = "git+https://github.com/example/normquiz@v0.1.0"
    result = export("layernorm", str(tmp_path / "r"), "--install-spec", spec, "--seed", "7",
                    "--unsandboxed", "--python", "3.11")
    assert result.exit_code == 0, result.output
    repo = tmp_path / "r"
    all_steps = steps(repo)
    assert f"python -m pip install {spec}" in [s.get("run") for s in all_steps]
    assert all_steps[1]["with"]["python-version"] == "3.11"
    assert all(t["with"]["command"].endswith(t["id"]) for t in graders(repo))
    assert yaml.safe_load((repo / STATE_FILE).read_text())["seed"] == 7
    assert "# normquiz seed: 7" in (repo / ANSWERS_FILE).read_text()
    assert spec in (repo / "README.md").read_text()


def test_a_spec_with_shell_characters_is_quoted(tmp_path):
    spec = "./wheels/normquiz 0.1.0.whl; rm -rf ~"
    assert export("layernorm", str(tmp_path / "r"), "--install-spec", spec).exit_code == 0
    run = [s["run"] for s in steps(tmp_path / "r") if s.get("run", "").startswith("python")]
    assert run == ["python -m pip install './wheels/normquiz 0.1.0.whl; rm -rf ~'"]


def test_a_topic_not_shipped_with_normquiz_is_refused(tmp_path):
    from helpers import COURSE

    result = CliRunner().invoke(cli, ["--content", str(COURSE), "export", "github-classroom",
                                      "toy", str(tmp_path / "r")], catch_exceptions=False)
    assert result.exit_code == 2
    assert "not shipped with normquiz" in result.output
    assert not (tmp_path / "r").exists()
