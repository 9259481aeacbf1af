"""Manifests are validated; every error names the file, the line and the field."""

from __future__ import annotations

import shutil

import pytest
from helpers import COURSE

from normquiz.content import Catalog
from normquiz.errors import ContentError


@pytest.fixture
def course(tmp_path, monkeypatch):
    shutil.copytree(COURSE, tmp_path / "course")
    monkeypatch.chdir(tmp_path / "course")  # errors name paths relative to here
    return tmp_path / "course"


def load_error(course) -> str:
    with pytest.raises(ContentError) as info:
        Catalog([course]).topic("toy")
    return str(info.value)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_unknown_field(course):
    edit(course / "exercises/toy/center.yaml", "points: 2", "points: 2\npionts: 3")
    assert load_error(course) == (
        "exercises/toy/center.yaml, line 5: unknown field 'pionts' "
        "(see docs/content-format.md for the fields).")


def test_wrong_type_names_the_line_and_field(course):
    edit(course / "exercises/toy/center.yaml", "  - Keep the axis so it broadcasts.", "  - [1, 2]")
    message = load_error(course)
    assert message.startswith("exercises/toy/center.yaml, line 13, field 'hints.1': ")
    assert "valid string" in message


def test_missing_field(course):
    edit(course / "exercises/toy/center.yaml", "function: center\n", "")
    assert "missing required field 'function'" in load_error(course)


def test_every_problem_is_listed(course):
    edit(course / "exercises/toy/center.yaml", "function: center\n", "")
    edit(course / "exercises/toy/center.yaml", "points: 2", "points: -1")
    message = load_error(course)
    assert len(message.splitlines()) == 2 and "'points'" in message


def test_yaml_syntax_error(course):
    edit(course / "exercises/toy/center.yaml", "title: Subtract the mean", "title: [oops")
    assert load_error(course).startswith("exercises/toy/center.yaml, line 3: YAML syntax error")


def test_choice_needs_exactly_one_correct_option(course):
    edit(course / "quizzes/toy/toy_choice.yaml", "    correct: true\n", "")
    assert "exactly one option must have 'correct: true' (found 0)" in load_error(course)


def test_listed_exercise_without_manifest(course):
    (course / "exercises/toy/scale.yaml").unlink()
    assert "lists 'scale', but neither" in load_error(course)


def test_topic_name_clash_names_both_places(course, tmp_path):
    shutil.copytree(course, tmp_path / "again")
    with pytest.raises(ContentError, match="defined twice"):
        Catalog([course, tmp_path / "again"])
