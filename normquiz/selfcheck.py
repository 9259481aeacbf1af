"""Submissions made from the content itself: the reference, the stub, each mistake.

The project's tests (and instructors' checks) grade these exactly as a
learner's file is graded, to prove that the reference passes, the stub scores
0 and every mistake is diagnosed as itself.
"""

from __future__ import annotations

from pathlib import Path

from normquiz.content import CodeExercise, Topic, mistake_function_name


def reference_source(topic: Topic) -> str:
    return topic.solution_path.read_text(encoding="utf-8")


def stub_source(topic: Topic) -> str:
    return topic.stub_path.read_text(encoding="utf-8")


def mistake_source(topic: Topic, exercise: CodeExercise, mistake_id: str) -> str:
    """The reference module with one function replaced by a mistake's implementation.

    The learner's process may not read solutions/, so the mistake's code is
    copied into the submitted file rather than imported.
    """
    mistakes = topic.mistakes_path(exercise.id).read_text(encoding="utf-8")
    name = mistake_function_name(mistake_id)
    return (f"{reference_source(topic)}\n\n# --- mistake '{mistake_id}' of {exercise.id}\n"
            f"{mistakes}\n\n{exercise.function} = {name}\n")


def write_submission(directory: Path, topic: Topic, source: str) -> Path:
    """Write `source` as the topic's module file in `directory`; return its path."""
    path = Path(directory) / str(topic.module)
    path.write_text(source, encoding="utf-8")
    return path
