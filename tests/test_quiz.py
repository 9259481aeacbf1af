"""`normquiz quiz`: questions one at a time, answers saved as they are given."""

from __future__ import annotations

import pytest
import yaml
from helpers import COURSE

from normquiz.content import Catalog
from normquiz.questions import generate
from normquiz.quiz import EndOfInput, run_quiz
from normquiz.workspace import start

TOPIC = Catalog([COURSE]).topic("toy")


def toy_mean_answer(seed: int) -> list[float]:
    return generate(TOPIC, TOPIC.exercise("toy_mean"), seed).answer


def answers(path) -> dict:
    return yaml.safe_load((path / "answers.yaml").read_text())


def test_piped_quiz_outside_a_workspace_starts_one(run, tmp_path):
    result = run("quiz", "toy", toy=True, input="nonsense\n1, 2\na\n")
    assert result.exit_code == 0, result.output
    assert "Started a workspace in toy/" in result.output
    assert "Not an answer: expected a list of 2 numbers" in result.output
    assert "Misconception: wrong-axis" in result.output      # feedback after the answer
    assert "Why: Per-row statistics run over the last axis." in result.output  # explanation
    assert "Quiz score: 0/2 on 2 answered question(s)" in result.output
    assert answers(tmp_path / "toy") == {"toy_mean": [1, 2], "toy_choice": "a"}
    text = (tmp_path / "toy" / "answers.yaml").read_text()
    assert "# --- toy_choice" in text  # the comments are kept


def test_quiz_in_a_workspace_records_there_and_grade_agrees(run, tmp_path):
    run("start", "toy", "ws", "--seed", "4", toy=True)
    mean, std = toy_mean_answer(4)
    result = run("quiz", "toy", cwd=tmp_path / "ws", toy=True, input=f"{mean}, {std}\nb\n")
    assert "Quiz score: 2/2" in result.output
    graded = run("grade", "toy_mean", cwd=tmp_path / "ws", toy=True)
    assert graded.exit_code == 0, graded.output


def test_empty_line_skips_and_end_of_input_stops(run, tmp_path):
    result = run("quiz", "toy", toy=True, input="\n")
    assert "1 skipped (input ended early)" in result.output
    assert answers(tmp_path / "toy") == {"toy_mean": None, "toy_choice": None}


def test_ctrl_c_keeps_what_was_answered(tmp_path):
    workspace = start(Catalog([COURSE]), "toy", tmp_path / "ws", seed=9).workspace
    asked = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        if len(asked) == 1:
            return "3, 4"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_quiz(TOPIC, workspace, ask, lambda text: None)
    assert answers(workspace.path)["toy_mean"] == [3, 4]
    assert answers(workspace.path)["toy_choice"] is None


def test_open_only_asks_what_is_not_passed_yet(tmp_path):
    workspace = start(Catalog([COURSE]), "toy", tmp_path / "ws", seed=9).workspace
    mean, std = toy_mean_answer(9)
    lines = iter([f"[{mean}, {std}]", "a"])
    run_quiz(TOPIC, workspace, lambda p: next(lines), lambda t: None)
    asked = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        raise EndOfInput

    run_quiz(TOPIC, workspace, ask, lambda t: None, only_open=True)
    assert len(asked) == 1 and "one letter" in asked[0]  # toy_mean passed, toy_choice did not


def test_quiz_invariance_completes_from_piped_input(run, tmp_path):
    from normquiz.content import default_catalog

    topic = default_catalog().topic("invariance")
    run("start", "invariance", "--seed", "12")
    lines = []
    for q in topic.questions:
        if q.kind == "choice":
            lines.append(q.correct_letter)
        else:
            g = generate(topic, q, 12)
            lines.append(", ".join(repr(v) for v in g.answer))
    result = run("quiz", "invariance", cwd=tmp_path / "invariance", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    total = sum(q.points for q in topic.questions)
    assert f"Quiz score: {total:g}/{total:g} on {len(topic.questions)} answered" in result.output
    graded = run("grade", cwd=tmp_path / "invariance")
    assert graded.exit_code == 0, graded.output
