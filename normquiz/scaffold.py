"""`normquiz new`: the files of a new exercise, with TODOs that `normquiz check` lists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from normquiz.content import TopicPaths, display_path, mistake_function_name
from normquiz.errors import ContentError

KINDS = ("code", "numeric", "choice")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _manifest(exercise_id: str, kind: str, module: str) -> str:
    head = (f"id: {exercise_id}\ntitle: TODO a short title\nkind: {kind}\npoints: 1\n")
    common = ("prompt: |\n  TODO: what the learner must do. Markdown; math in $...$.\n"
              "explanation: |\n  TODO: the idea and a worked example with numbers, shown by\n"
              "  `normquiz explain`.\nhints:\n  - \"TODO: a gentle first hint.\"\n"
              "  - \"TODO: a more explicit one.\"\n")
    if kind == "code":
        return (head + f"function: {exercise_id}\nsignature: \"{exercise_id}(x) -> y\"\n" + common
                + "mistakes:\n  - id: todo-mistake\n    title: TODO name the mistake\n"
                "    feedback: |\n      TODO: why it is wrong, in 2-5 sentences.\n")
    if kind == "numeric":
        return (head + f"generator: {exercise_id}\nanswer_format: \"[mean, std]\"\n"
                "tolerance: 0.001\n" + common.replace(
                    "TODO: what the learner must do.",
                    "TODO: the question; {{values}} shows the generated data.")
                + "mistakes:\n  - id: sample-std\n    title: TODO name the mistake\n"
                "    feedback: |\n      TODO: why it is wrong.\n")
    return (head + common + "options:\n  - text: TODO the right option\n    correct: true\n"
            "    feedback: TODO why it is right.\n  - text: TODO a wrong option\n"
            "    feedback: TODO why it is wrong.\n")


def _stub(exercise_id: str) -> str:
    return (f'\n\ndef {exercise_id}(x):\n    """TODO: the contract: arguments with shapes, '
            f'the formula, the return value."""\n    y = ...  # TODO: the line the learner '
            f'writes\n    raise NotImplementedError("{exercise_id}")\n')


def _solution(exercise_id: str) -> str:
    return (f"\n\ndef {exercise_id}(x):\n    # TODO: the reference solution; comments say why.\n"
            f"    raise NotImplementedError(\"{exercise_id}\")\n")


def _grader(exercise_id: str) -> str:
    return f'''"""Hidden checks for {exercise_id}: one test function per check."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match


@pytest.mark.points(2)
def test_random_input(submission, reference, rng):
    """matches the reference on a random 3 x 4 input"""
    x = rng.normal(size=(3, 4))  # rng: new inputs every grading run
    expect_match(submission, reference, "{exercise_id}", x)


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference):
    """right output, with x left unchanged"""
    expect_inputs_unchanged(submission, reference, "{exercise_id}", np.ones((2, 3)))


# TODO: add checks for the edge cases that separate right from the common mistakes.
'''


def _mistakes(exercise_id: str) -> str:
    name = mistake_function_name("todo-mistake")
    return f'''"""Mistaken implementations of {exercise_id}, one per mistake id in its manifest."""

import numpy as np

# TODO: small inputs on which the reference and every mistake behave differently.
PROBES = [
    ((np.array([[0.0, 2.0], [10.0, 14.0]]),), {{}}),
]


def {name}(x):
    # TODO: the mistake, written as a learner would write it (rename with the id).
    raise NotImplementedError
'''


def _generator(exercise_id: str) -> str:
    return f'''

def {exercise_id}(rng):
    """TODO: draw the question's data from rng; return data, answer and mistaken answers."""
    while True:  # redraw until no mistaken answer could pass for the right one
        values = [int(v) for v in rng.integers(0, 10, size=4)]
        a = np.array(values, dtype=float)
        answer = [float(a.mean()), float(a.std())]
        mistakes = {{"sample-std": [float(a.mean()), float(a.std(ddof=1))]}}
        if separated([answer, *mistakes.values()]):
            return {{"data": {{"values": values}}, "answer": answer, "mistakes": mistakes}}
'''


def _append(path: Path, text: str, header: str, created: list[Path]) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header, encoding="utf-8")
        created.append(path)
    elif path not in created:
        created.append(path)
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def _add_to_topic(topic_file: Path, topic: str, exercise_id: str, kind: str,
                  created: list[Path]) -> str:
    """Add the id to topic.yaml (creating the topic if needed); return the module name."""
    module = f"{topic}.py"
    if not topic_file.exists():
        topic_file.parent.mkdir(parents=True, exist_ok=True)
        topic_file.write_text(
            f"title: TODO the topic's title\nsummary: |\n  TODO: one paragraph for "
            f"'normquiz list' and the workspace README.\n"
            f"{'module: ' + module + chr(10) if kind == 'code' else ''}exercises:\n"
            f"  - {exercise_id}\n", encoding="utf-8")
        created.append(topic_file)
        return module
    text = topic_file.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if exercise_id in data.get("exercises", []):
        raise ContentError(f"{display_path(topic_file)} already lists '{exercise_id}'.")
    node = yaml.compose(text)
    assert node is not None  # the file was just loaded as a mapping
    lines = text.splitlines(keepends=True)
    for key, value in node.value:
        if key.value == "exercises":
            end = value.end_mark.line + (1 if value.end_mark.column else 0)
            lines.insert(end, f"  - {exercise_id}\n")
    if kind == "code" and "module" not in data:
        lines.insert(0, f"module: {module}\n")
    topic_file.write_text("".join(lines), encoding="utf-8")
    created.append(topic_file)
    return str(data.get("module") or module)


def new_exercise(root: Path, topic: str, exercise_id: str, kind: str) -> list[Path]:
    """Scaffold exercise `exercise_id` of `topic` in the content folder `root`."""
    for name, value in (("topic", topic), ("exercise", exercise_id)):
        if not _ID.match(value):
            raise ContentError(f"'{value}' is not a valid {name} name: use lowercase letters, "
                               "digits and underscores, starting with a letter.")
    if kind not in KINDS:
        raise ContentError(f"--kind must be one of {', '.join(KINDS)}.")
    paths = TopicPaths(Path(root), topic)
    created: list[Path] = []
    order = paths.order_file
    manifest = paths.manifest_path(exercise_id, kind == "code")
    other = paths.manifest_path(exercise_id, kind != "code")
    for path in (manifest, other):
        if path.exists():
            raise ContentError(f"{display_path(path)} already exists; nothing was changed.")
    slugs = yaml.safe_load(order.read_text(encoding="utf-8")) if order.exists() else []
    if topic not in (slugs or []):
        _append(order, f"- {topic}\n", "", created)
    module = _add_to_topic(paths.topic_file, topic, exercise_id, kind, created)
    paths = TopicPaths(paths.root, topic, module)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(_manifest(exercise_id, kind, module), encoding="utf-8")
    created.append(manifest)
    if kind == "code":
        _append(paths.stub_path, _stub(exercise_id),
                '"""TODO: the learner\'s module: what to fill in and how to grade it."""\n\n'
                "import numpy as np\n", created)
        _append(paths.solution_path, _solution(exercise_id),
                '"""Reference solutions."""\n\nimport numpy as np\n', created)
        _append(paths.grader_path(exercise_id), _grader(exercise_id), "", created)
        _append(paths.mistakes_path(exercise_id), _mistakes(exercise_id), "", created)
    elif kind == "numeric":
        _append(paths.generators_path, _generator(exercise_id),
                '"""Data generators for the numeric questions."""\n\nimport numpy as np\n\n'
                "from normquiz.questions import separated\n",
                created)
    return created
