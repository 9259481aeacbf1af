"""The CLI on the toy course: the learner's loop, exit codes and every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from normquiz.cli import cli
from normquiz.workspace import STATE_FILE

CORRECT = ("import numpy as np\n\ndef center(x):\n    return x - x.mean(axis=-1, keepdims=True)\n"
           "\n\ndef scale(x, g):\n    return g * x\n")


@pytest.fixture
def ws(run, tmp_path: Path) -> Path:
    result = run("start", "toy", "ws", "--seed", "7", toy=True)
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def answer_all(ws: Path, mean: float, std: float, choice: str = "b") -> None:
    (ws / "answers.yaml").write_text(f"toy_mean: [{mean}, {std}]\ntoy_choice: {choice}\n")


def toy_answers(ws: Path) -> tuple[float, float]:
    import numpy as np
    from helpers import COURSE

    from normquiz.content import Catalog
    from normquiz.questions import generate

    topic = Catalog([COURSE]).topic("toy")
    values = np.array(generate(topic, topic.exercise("toy_mean"), 7).data["values"], float)
    return float(values.mean()), float(values.std())


def test_start_writes_the_workspace(ws):
    assert sorted(p.name for p in ws.iterdir()) == [STATE_FILE, "README.md", "answers.yaml",
                                                    "toy.py"]
    state = json.loads((ws / STATE_FILE).read_text())
    assert state["topic"] == "toy" and state["seed"] == 7
    readme = (ws / "README.md").read_text()
    assert "`center`" in readme and "`toy_mean`" in readme
    assert "# normquiz seed: 7" in (ws / "answers.yaml").read_text()


def test_start_refuses_a_non_empty_folder(run, tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "notes.txt").write_text("mine")
    result = run("start", "toy", "ws", toy=True)
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output and "--force" in result.output
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["notes.txt"]


def test_start_force_keeps_the_learners_files(run, ws):
    (ws / "toy.py").write_text("# my work\n")
    (ws / "README.md").unlink()
    result = run("start", "toy", str(ws), "--force", toy=True)
    assert result.exit_code == 0, result.output
    assert (ws / "toy.py").read_text() == "# my work\n"
    assert (ws / "README.md").exists()
    assert "kept" in result.output


def test_deleted_state_file_is_restored_with_the_same_seed(run, ws):
    (ws / STATE_FILE).unlink()
    result = run("grade", cwd=ws, toy=True)
    assert result.exit_code == 2
    assert "not in a normquiz workspace" in result.output and "--force" in result.output
    assert run("start", "toy", str(ws), "--force", toy=True).exit_code == 0
    assert json.loads((ws / STATE_FILE).read_text())["seed"] == 7


def test_corrupted_state_file(run, ws):
    (ws / STATE_FILE).write_text('{"topic": "toy", ')
    result = run("grade", cwd=ws, toy=True)
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and ".normquiz.json, line 1" in result.output
    assert "Traceback" not in result.output


def test_blank_workspace_scores_zero(run, ws):
    result = run("grade", cwd=ws, toy=True)
    assert result.exit_code == 1
    assert "Score: 0.0/5.0" in result.output
    assert "not answered yet" in result.output


def test_everything_right_exits_0(run, ws):
    (ws / "toy.py").write_text(CORRECT)
    answer_all(ws, *toy_answers(ws))
    result = run("grade", cwd=ws, toy=True)
    assert result.exit_code == 0, result.output
    assert "Score: 5.0/5.0" in result.output


def test_grade_one_exercise_and_json_schema(run, ws):
    (ws / "toy.py").write_text(CORRECT.replace("axis=-1", "axis=0"))
    result = run("grade", "center", "--json", cwd=ws, toy=True)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert set(data) >= {"topic", "score", "max_score", "exercises"}
    [exercise] = data["exercises"]
    assert set(exercise) >= {"id", "kind", "status", "score", "max_score", "mistakes", "feedback"}
    assert exercise["status"] == "failed" and exercise["mistakes"] == ["wrong-axis"]
    assert "You took the mean down the columns." in exercise["feedback"]


def test_grade_a_module_path(run, ws, tmp_path):
    other = tmp_path / "ws" / "attempt2.py"
    other.write_text(CORRECT)
    result = run("grade", str(other), "--json", cwd=ws, toy=True)
    data = json.loads(result.output)
    code = {e["id"]: e["status"] for e in data["exercises"] if e["kind"] == "code"}
    assert code == {"center": "passed", "scale": "passed"}


def test_progress_is_saved_and_listed(run, ws):
    (ws / "toy.py").write_text(CORRECT)
    run("grade", "center", cwd=ws, toy=True)
    state = json.loads((ws / STATE_FILE).read_text())
    assert state["progress"]["center"]["status"] == "passed"
    listing = run("list", cwd=ws, toy=True).output
    assert "(this workspace)" in listing and "✓ center" in listing


@pytest.mark.parametrize("args, message", [
    (["start", "toyy"], "There is no topic 'toyy'. Did you mean 'toy'?"),
    (["grade", "centre"], "Topic 'toy' has no exercise 'centre'. Did you mean 'center'?"),
    (["hint", "centr"], "There is no exercise 'centr'. Did you mean 'center'?"),
    (["explain", "scal"], "Did you mean 'scale'?"),
])
def test_unknown_names_suggest(run, ws, args, message):
    result = run(*args, cwd=ws, toy=True)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("answers, message", [
    ("toy_mean: [1, 2\n", "answers.yaml, line 2: YAML syntax error"),
    ("toy_mean: abc\n", "answers.yaml, line 1, 'toy_mean': expected a list of 2 numbers"),
    ("toy_choice: 3\n", "answers.yaml, line 1, 'toy_choice': expected one letter (a, b)"),
    ("toy_choice: z\n", "expected one letter (a, b), got 'z'"),
    ("\ntoy_mena: [1, 2]\n", "answers.yaml, line 2: there is no question 'toy_mena'"),
])
def test_bad_answers_are_usage_errors(run, ws, answers, message):
    (ws / "answers.yaml").write_text(answers)
    before = (ws / "answers.yaml").read_text()
    result = run("grade", cwd=ws, toy=True)
    assert result.exit_code == 2
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert (ws / "answers.yaml").read_text() == before  # nothing the learner wrote is touched


def test_syntax_error_in_module(run, ws):
    (ws / "toy.py").write_text("def center(x)\n    return x\n")
    result = run("grade", cwd=ws, toy=True)
    assert result.exit_code == 2
    assert "toy.py, line 1: syntax error" in result.output


def test_wrong_choice_names_the_misconception(run, ws):
    mean, std = toy_answers(ws)
    answer_all(ws, mean, std, "a")
    data = json.loads(run("grade", "toy_choice", "--json", cwd=ws, toy=True).output)
    assert data["exercises"][0]["mistakes"] == ["wrong-axis"]


def test_numeric_mistake_is_diagnosed(run, ws):
    import numpy as np
    from helpers import COURSE

    from normquiz.content import Catalog
    from normquiz.questions import generate

    topic = Catalog([COURSE]).topic("toy")
    values = np.array(generate(topic, topic.exercise("toy_mean"), 7).data["values"], float)
    answer_all(ws, values.mean(), values.std(ddof=1))
    data = json.loads(run("grade", "toy_mean", "--json", cwd=ws, toy=True).output)
    [exercise] = data["exercises"]
    assert exercise["mistakes"] == ["sample-std"] and exercise["score"] == 0.5


def test_hints_come_one_at_a_time(run, ws):
    first = run("hint", "center", cwd=ws, toy=True).output
    second = run("hint", "center", cwd=ws, toy=True).output
    assert "Hint 1 of 2" in first and "Hint 2 of 2" not in first
    assert "Hint 2 of 2" in second and "last hint" in second


def test_explain_shows_the_worked_example_and_mistakes(run, ws):
    out = run("explain", "center", cwd=ws, toy=True).output
    assert "[1, 3] becomes [-1, 1]" in out and "[wrong-axis]" in out


def test_no_color_and_non_terminals_get_plain_text(run, ws):
    plain = run("grade", cwd=ws, toy=True).output
    assert "\x1b[" not in plain
    forced = CliRunnerColor(ws)
    assert "\x1b[" in forced(env={}) and "\x1b[" not in forced(env={"NO_COLOR": "1"})


def CliRunnerColor(ws: Path):
    from click.testing import CliRunner
    from helpers import COURSE

    def invoke(env: dict) -> str:
        import os

        cwd = os.getcwd()
        os.chdir(ws)
        try:
            return CliRunner().invoke(cli, ["--content", str(COURSE), "grade"], env=env,
                                      color=True).output
        finally:
            os.chdir(cwd)

    return invoke


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_with_an_example(name):
    command = cli.commands[name]
    assert command.help and "Example:" in command.help


def test_readme_documents_every_command():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in cli.commands:
        assert f"normquiz {name}" in readme, name


def test_readme_topic_table_matches_the_content():
    import re

    from normquiz.content import default_catalog

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \|.*\| (.*) \|$", readme,
                                                          re.MULTILINE)}
    for topic in default_catalog().topics():
        numeric = sum(q.kind == "numeric" for q in topic.questions)
        choice = sum(q.kind == "choice" for q in topic.questions)
        assert rows[topic.slug] == f"{numeric} numeric, {choice} choice", topic.slug
