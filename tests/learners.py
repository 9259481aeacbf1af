"""Learner folders for batch grading: right, with one catalogued mistake, or hostile.

Shared by tests/test_batch.py, tests/test_export.py and benchmarks/bench_batch.py.
Each maker writes one learner's folder and returns what grading must find.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import yaml

from normquiz.content import Topic
from normquiz.questions import generate
from normquiz.selfcheck import mistake_source, reference_source
from normquiz.workspace import ANSWERS_FILE, answers_template, record_answer, start

SEED = 4321

# Hostile replacements of one function: (function, source, what grading must say).
HOSTILE = {
    "infinite-loop": ("layernorm_backward", """
        def layernorm_backward(dy, x, gain, eps=1e-5):
            while True:
                pass
        """, "timeout"),
    "os-exit": ("layernorm_forward", """
        import os
        def layernorm_forward(x, gain, bias, eps=1e-5):
            os._exit(3)
        """, "error"),
    "sys-exit": ("layernorm_forward", """
        import sys
        def layernorm_forward(x, gain, bias, eps=1e-5):
            sys.exit(0)
        """, "error"),
    "huge-allocation": ("layernorm_forward", """
        import numpy as np
        def layernorm_forward(x, gain, bias, eps=1e-5):
            return np.ones((20000, 20000))  # 3.2 GB: beyond the worker's memory limit
        """, "error"),
}
# Broken files: (file, what the message says, what it costs). A module or answers.yaml
# that cannot be read costs the exercises it holds ("code" or "questions"), each an
# error naming the file; a broken state file makes the whole folder an error row.
BROKEN = {
    "syntax-error": ("layernorm.py", "syntax error", "code"),
    "broken-yaml": ("answers.yaml", "answers.yaml", "questions"),
    "broken-state": (".normquiz.json", ".normquiz.json", "folder"),
}


@dataclass
class Expected:
    """What grading one learner must give."""

    full_marks: bool = False
    mistake: tuple[str, str] | None = None  # (exercise, mistake) diagnosed
    not_passing: tuple[str, str] | None = None  # (exercise, status)
    error: str | None = None  # a text the error row's message contains
    # ("code" or "questions", a text): each of those exercises is an error saying it
    broken: tuple[str, str] | None = None


def correct_answers(topic: Topic, seed: int) -> dict:
    answers = {}
    for q in topic.questions:
        if q.kind == "numeric":
            g = generate(topic, q, seed)
            answers[q.id] = g.answer[0] if g.scalar else g.answer
        else:
            answers[q.id] = q.correct_letter
    return answers


def _write_answers(path: Path, topic: Topic, seed: int) -> None:
    # Filled in as a learner does: the template, with its "# normquiz seed: N" line kept.
    path.write_text(answers_template(topic, seed), encoding="utf-8")
    for question_id, value in correct_answers(topic, seed).items():
        record_answer(path, question_id, value)


def _workspace(catalog, topic: Topic, folder: Path, source: str, seed: int = SEED) -> Path:
    ws = start(catalog, topic.slug, folder, seed=seed).workspace
    ws.module_path(topic).write_text(source, encoding="utf-8")
    ws.answers_path.write_text(yaml.safe_dump(correct_answers(topic, seed)), encoding="utf-8")
    return folder


def correct(catalog, topic: Topic, folder: Path) -> Expected:
    _workspace(catalog, topic, folder, reference_source(topic))
    return Expected(full_marks=True)


def bare(topic: Topic, folder: Path, seed: int = SEED) -> Expected:
    """No state file: the module and answers.yaml (with its seed line) only."""
    folder.mkdir(parents=True)
    (folder / str(topic.module)).write_text(reference_source(topic), encoding="utf-8")
    _write_answers(folder / ANSWERS_FILE, topic, seed)
    return Expected(full_marks=True)


def notebook_only(topic: Topic, folder: Path, seed: int = SEED) -> Expected:
    """No state file: a notebook with the reference code and right answers only.

    The notebook records its seed in its metadata; grading must use it.
    """
    import nbformat

    from normquiz.notebook import ANSWER, EXERCISE, _split_stub, build_notebook

    folder.mkdir(parents=True)
    notebook = build_notebook(topic, seed)
    imports, functions = _split_stub(reference_source(topic))
    answers = correct_answers(topic, seed)
    helpers = [v for k, v in functions.items()
               if k not in {e.function for e in topic.code_exercises}]
    imports_cell(notebook).source = "\n\n".join([imports, *helpers])
    for cell in notebook.cells:
        for tag in cell.metadata.get("tags", []):
            if tag.startswith(EXERCISE):
                cell.source = functions[topic.exercise(tag[len(EXERCISE):]).function]
            elif tag.startswith(ANSWER):
                question = tag[len(ANSWER):]
                cell.source = f"{question} = {answers[question]!r}"
    nbformat.write(notebook, str(folder / f"{topic.slug}.ipynb"))
    return Expected(full_marks=True)


def with_mistake(catalog, topic: Topic, folder: Path, exercise_id: str,
                 mistake_id: str) -> Expected:
    exercise = topic.exercise(exercise_id)
    _workspace(catalog, topic, folder, mistake_source(topic, exercise, mistake_id))
    return Expected(mistake=(exercise_id, mistake_id))


def with_wrong_choices(catalog, topic: Topic, folder: Path, *question_ids: str) -> Expected:
    """The reference code, every answer right but these choice questions', each answered
    with its first option that names a misconception."""
    _workspace(catalog, topic, folder, reference_source(topic))
    answers = correct_answers(topic, SEED)
    for question_id in question_ids:
        question = topic.exercise(question_id)
        answers[question_id] = next(letter for letter, o in zip(question.letters,
                                                                question.options) if o.mistake)
    (folder / ANSWERS_FILE).write_text(yaml.safe_dump(answers), encoding="utf-8")
    first = topic.exercise(question_ids[0])
    return Expected(mistake=(first.id, next(o.mistake for o in first.options if o.mistake)))


def hostile(catalog, topic: Topic, folder: Path, kind: str) -> Expected:
    function, code, status = HOSTILE[kind]
    source = reference_source(topic) + "\n\n" + textwrap.dedent(code)
    _workspace(catalog, topic, folder, source)
    exercise = next(e.id for e in topic.code_exercises if e.function == function)
    return Expected(not_passing=(exercise, status))


def broken(catalog, topic: Topic, folder: Path, kind: str) -> Expected:
    _workspace(catalog, topic, folder, reference_source(topic))
    name, message, costs = BROKEN[kind]
    if kind == "syntax-error":
        (folder / name).write_text("def layernorm_forward(x, gain, bias, eps=1e-5)\n"
                                   "    return x\n", encoding="utf-8")
    elif kind == "broken-yaml":
        (folder / name).write_text("ln_axis: [b\nln_what_is_f: c\n", encoding="utf-8")
    else:
        (folder / name).write_text('{"topic": ', encoding="utf-8")
    return Expected(error=message) if costs == "folder" else Expected(broken=(costs, message))


def check(expected: Expected, row: dict) -> list[str]:
    """What is wrong with one learner's roster entry (JSON), given what was expected."""
    name = row["learner"]
    if expected.error is not None:
        if row["status"] != "error" or expected.error not in (row["error"] or ""):
            return [f"{name}: expected an error row about {expected.error!r}, got "
                    f"{row['status']}: {row['error']}"]
        return []
    if row["status"] != "graded":
        return [f"{name}: could not be graded: {row['error']}"]
    problems = []
    by_id = {e["id"]: e for e in row["exercises"]}
    if expected.broken is not None:
        costs, message = expected.broken
        for e in row["exercises"]:
            should_fail = (e["kind"] == "code") == (costs == "code")
            if should_fail and (e["status"] != "error" or message not in e["feedback"]):
                problems.append(f"{name}: expected {e['id']} to be an error about "
                                f"{message!r}, got {e['status']}: {e['feedback'][:200]}")
            elif not should_fail and e["status"] != "passed":
                problems.append(f"{name}: expected {e['id']} graded and passed, got "
                                f"{e['status']}")
    if expected.full_marks and row["score"] != row["max_score"]:
        problems.append(f"{name}: expected full marks, got {row['score']}/{row['max_score']}")
    if expected.mistake is not None:
        exercise, mistake = expected.mistake
        e = by_id[exercise]
        if e["status"] == "passed" or mistake not in e["mistakes"]:
            problems.append(f"{name}: expected {exercise} diagnosed as {mistake}, got "
                            f"{e['status']} {e['mistakes']}")
    if expected.not_passing is not None:
        exercise, status = expected.not_passing
        if by_id[exercise]["status"] != status:
            problems.append(f"{name}: expected {exercise} to be {status}, got "
                            f"{by_id[exercise]['status']}")
    return problems


def imports_cell(notebook):
    """The notebook's imports cell: its first code cell without a tag."""
    return next(c for c in notebook.cells if c.cell_type == "code" and not c.metadata.get("tags"))
