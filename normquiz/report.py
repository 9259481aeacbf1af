"""Grading results and how they are shown: text for people, JSON for tools.

The JSON schema (documented in README.md) is a stable interface:
{"topic", "score", "max_score", "exercises": [{"id", "kind", "status", "score",
"max_score", "mistakes", "feedback", ...}]}. Fields may be added, never renamed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

# An exercise's status: the one list, used by results, the JSON schema and the state file.
Status = Literal["passed", "failed", "error", "timeout", "unanswered"]
STATUSES: tuple[Status, ...] = get_args(Status)
SYMBOL: dict[Status, str] = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "✗",
                             "unanswered": "·"}
COLOR: dict[Status, str] = {"passed": "green", "failed": "red", "error": "red",
                            "timeout": "red", "unanswered": "yellow"}


@dataclass
class CheckResult:
    """One grader check (a pytest test) or one part of a numeric answer."""

    name: str
    points: float
    passed: bool
    message: str = ""


@dataclass
class ExerciseResult:
    id: str
    kind: str
    title: str
    status: Status
    score: float
    max_score: float
    mistakes: list[str] = field(default_factory=list)
    feedback: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    # Wall-clock seconds spent grading this exercise (its checks, and the diagnosis of a
    # failure); 0.0 where nothing was measured. Shown in JUnit XML; not in the JSON, whose
    # output stays the same for the same submission and grader seed.
    seconds: float = field(default=0.0, compare=False)
    # What shows from the outside when no catalogued mistake matches: ids such as
    # "returned-none" or "transposed-output" (normquiz.diagnosis.Cause).
    causes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["seconds"]
        data["score"] = round(self.score, 4)
        return data


@dataclass
class TopicResult:
    topic: str
    exercises: list[ExerciseResult]
    graded_file: str | None = None
    seed: int | None = None
    # What the learner should know about what was graded: a file graded under another
    # name, several files that could be the module and so none graded.
    notes: list[str] = field(default_factory=list)
    # The isolation layers of the worker that ran the learner's code (None: no code ran).
    sandbox: dict[str, Any] | None = None
    # The seed of the code checks' random inputs (None: no code exercise was graded);
    # `normquiz grade --grader-seed N` replays them.
    grader_seed: int | None = None

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    @property
    def graded_files(self) -> list[str]:
        """What was read: the module or notebook, and answers.yaml for the questions."""
        from_notebook = (self.graded_file or "").endswith(".ipynb")
        answers = any(e.kind != "code" for e in self.exercises) and not from_notebook
        return [f for f in (self.graded_file, "answers.yaml" if answers else None) if f]

    @property
    def passed(self) -> bool:
        return all(e.status == "passed" for e in self.exercises)

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "score": round(self.score, 4),
            "max_score": self.max_score,
            "graded_file": self.graded_file,
            "notes": self.notes,
            "seed": self.seed,
            "grader_seed": self.grader_seed,
            "exercises": [e.to_json() for e in self.exercises],
            "sandbox": sandbox_json(self.sandbox),
        }

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def sandbox_json(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """{"layers_in_force": [...], "complete": bool, "layers": {name: {in_force, detail}}}."""
    if report is None:
        return None
    from normquiz.sandbox.isolation import LAYERS, missing

    gaps = missing(report)
    return {"layers_in_force": [n for n in LAYERS if n not in gaps], "complete": not gaps,
            "layers": {n: report.get(n) for n in LAYERS}}


def _points(x: float) -> str:
    return f"{x:.1f}" if abs(x - round(x, 1)) < 1e-9 else f"{x:.2f}"


def render_text(result: TopicResult, style: Any) -> str:
    """The learner's report. `style(text, **click_style)` adds color, or returns text as is."""
    lines = [f"Note: {note}" for note in result.notes] + ([""] if result.notes else [])
    width = max((len(e.id) for e in result.exercises), default=0)
    for e in result.exercises:
        mark = style(SYMBOL[e.status], fg=COLOR[e.status], bold=True)
        label = {"passed": "", "failed": "", "error": "  error", "timeout": "  timeout",
                 "unanswered": "  not answered yet"}[e.status]
        lines.append(f"{mark} {style(e.id.ljust(width), bold=True)}  "
                     f"{_points(e.score)}/{_points(e.max_score)}"
                     f"{style(label, fg=COLOR[e.status])}")
        if e.status not in ("passed", "unanswered") and e.feedback:
            for block_line in e.feedback.splitlines():
                lines.append(f"    {block_line}" if block_line else "")
            lines.append("")
    open_code = [e.id for e in result.exercises if e.status == "unanswered" and e.kind == "code"]
    open_questions = [e for e in result.exercises if e.status == "unanswered" and e.kind != "code"]
    if open_code or open_questions:
        todo = []
        # A saved notebook, or normquiz.check()'s "this notebook's kernel".
        notebook = (result.graded_file or "").endswith((".ipynb", "notebook's kernel"))
        cells = "cell" if len(open_code) == 1 else "cells"
        if open_code:
            where = (f" in {'its' if len(open_code) == 1 else 'their'} exercise {cells}"
                     if notebook else f" in {result.graded_file}" if result.graded_file else "")
            todo.append("fill in the # TODO lines of " + ", ".join(open_code) + where)
        if open_questions:
            todo.append(f"answer {len(open_questions)} question(s)"
                        + (" in their answer cells" if notebook else " in answers.yaml"))
        lines += ["", "Not answered yet: " + " and ".join(todo) + ".", ""]
    n_pass = sum(e.status == "passed" for e in result.exercises)
    total = f"{_points(result.score)}/{_points(result.max_score)}"
    summary = (f"Score: {total}  ({n_pass} of {len(result.exercises)} exercises passed)")
    color = "green" if result.passed else "red"
    lines.append(style(summary, fg=color, bold=True))
    if result.passed and len(result.exercises) > 1:
        lines.append("All exercises passed. Well done!")
    return "\n".join(lines)
