"""Interactive quizzes: a topic's numeric and choice questions, one at a time.

`run_quiz` takes the input and output as functions, so the CLI drives it from
a terminal or a pipe and the tests drive it from a list of lines. Every answer
is written to answers.yaml as soon as it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from normquiz.content import ChoiceQuestion, NumericQuestion, Topic
from normquiz.learnerfiles import LearnerLoader
from normquiz.questions import (
    answer_help,
    check_answer_type,
    generate,
    grade_choice,
    grade_numeric,
    plain_math,
    prompt_for,
)
from normquiz.report import ExerciseResult
from normquiz.text import points
from normquiz.workspace import Workspace, read_answers_file, record_answer


class EndOfInput(Exception):
    """The input ran out (a pipe) or the learner pressed Ctrl-D."""


@dataclass
class QuizResult:
    results: list[ExerciseResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    finished: bool = False

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)


def parse_answer(question: Any, text: str) -> Any:
    """The typed answer as YAML would read it ('1.5', '[1, 2]', '1, 2', 'b').

    Read as answers.yaml is: anchors and aliases (an alias bomb on one line) are
    refused, and so is anything YAML cannot read; the text itself is the answer then.
    """
    text = text.strip()
    if isinstance(question, NumericQuestion) and "," in text and not text.startswith("["):
        text = f"[{text}]"
    try:
        return yaml.load(text, Loader=LearnerLoader)
    except (yaml.YAMLError, RecursionError):
        return text


def run_quiz(topic: Topic, workspace: Workspace, ask: Callable[[str], str],
             say: Callable[[str], None], only_open: bool = False) -> QuizResult:
    """Ask each question, grade it, explain it, and record the answer.

    `ask(prompt)` returns the learner's line or raises EndOfInput; an empty
    line skips the question. KeyboardInterrupt propagates after the answers
    given so far have been saved.
    """
    if workspace.answers_path.exists():  # a broken answers.yaml is an error before any question
        read_answers_file(workspace.answers_path, topic.slug)
    questions = [q for q in topic.questions
                 if not (only_open and workspace.progress.get(q.id, {}).get("status") == "passed")]
    result = QuizResult()
    for n, q in enumerate(questions, 1):
        generated = generate(topic, q, workspace.seed) if isinstance(q, NumericQuestion) else None
        say(f"\nQuestion {n} of {len(questions)} · {q.id} · {q.title} "
            f"({points(q.points)})\n")
        say(prompt_for(topic, q, workspace.seed, plain=True) + "\n")
        while True:
            try:
                line = ask(f"Your answer ({answer_help(q)}; empty to skip)")
            except EndOfInput:
                return result
            if not line.strip():
                result.skipped.append(q.id)
                break
            value = parse_answer(q, line)
            problem = check_answer_type(q, value, generated)
            if problem is None and value is not None:
                break
            say(f"Not an answer: {problem or 'empty'}. Try again.")
        if not line.strip():
            continue
        if isinstance(value, list) and generated is not None and generated.scalar:
            value = value[0]
        record_answer(workspace.answers_path, q.id, value, topic.slug)
        if isinstance(q, NumericQuestion) and generated is not None:
            graded = grade_numeric(q, generated, value)
        else:
            assert isinstance(q, ChoiceQuestion)  # topic.questions holds only the two kinds
            graded = grade_choice(q, value)
        result.results.append(graded)
        workspace.record([graded])
        mark = "✓ Right." if graded.status == "passed" else "✗ Not quite."
        say(f"{mark} {graded.score:g}/{graded.max_score:g}")
        if graded.status != "passed" and graded.feedback:
            say(graded.feedback.split("\nNext:")[0].rstrip())
        elif graded.feedback:
            say(graded.feedback)
        say("\nWhy: " + plain_math(q.explanation.strip()))
    result.finished = True
    return result
