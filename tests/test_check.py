"""`normquiz check`: passes on good content, names each kind of problem."""

from __future__ import annotations

import shutil

import pytest
from helpers import COURSE

from normquiz.cli import cli


@pytest.fixture
def course(tmp_path, monkeypatch):
    shutil.copytree(COURSE, tmp_path / "course")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "course"


def check(course):
    from click.testing import CliRunner

    return CliRunner().invoke(cli, ["check", str(course), "--seeds", "10"])


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_toy_course_checks_out(course):
    result = check(course)
    assert result.exit_code == 0, result.output
    assert "center: reference passes, stub scores 0, 2 mistake(s) diagnosed" in result.output


def test_shipped_content_checks_out():
    from click.testing import CliRunner

    # One fixed grader seed: tests/test_grader_seeds.py grades every mistake under five.
    result = CliRunner().invoke(cli, ["check", "--seeds", "20", "--grader-seed", "7654321"])
    assert result.exit_code == 0, result.output
    assert "check out" in result.output


SOLUTION = "solutions/toy/toy.py"
CASES = {
    "yaml-syntax-error": (
        "exercises/toy/center.yaml", "title: Subtract the mean", "title: [oops",
        "course/exercises/toy/center.yaml, line 3: YAML syntax error"),
    "unknown-field": (
        "exercises/toy/center.yaml", "points: 2", "points: 2\nhint: oops",
        "line 5: unknown field 'hint'"),
    "solution-fails-grader": (
        SOLUTION, "return x - np.mean(x, axis=-1, keepdims=True)", "return x",
        "center: the reference solution does not pass its grader"),
    "stub-passes": (
        "exercises/toy/toy.py", 'raise NotImplementedError("scale")', "return g * x",
        "scale: the blank stub scores 1"),
    "mistake-not-detected": (
        "solutions/toy/mistakes/center.py", "return x - np.mean(x, axis=0, keepdims=True)",
        "return x - np.mean(x, axis=-1, keepdims=True)",
        "center: the mistake 'wrong-axis' passes every check"),
    "mistake-diagnosed-as-another": (
        "solutions/toy/mistakes/center.py", "    x -= np.mean(x, axis=-1, keepdims=True)\n",
        "    x -= np.mean(x, axis=0, keepdims=True)\n",
        "center: the mistake 'mutates-input' is diagnosed as wrong-axis"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_problem_is_named(course, case):
    path, old, new, message = CASES[case]
    edit(course / path, old, new)
    result = check(course)
    assert result.exit_code != 0
    assert message in result.output, result.output


OTHER_WAYS = '''

def _wrong_axis_by_columns(x):
    """Your output matches one mean per column."""
    return x - x.mean(axis=0)


def _in_place(x):
    """Filed under the wrong mistake: this is mutates-input."""
    x -= x.mean(axis=-1, keepdims=True)
    return x


def _right_on_the_probe(x):
    """Right on 2 x 2 inputs, the only shape PROBES has."""
    return x - x.mean(axis=-1 if x.shape[1] == 2 else 0, keepdims=True)


def _right_after_all(x):
    """Not a mistake at all."""
    return x - x.mean(axis=-1, keepdims=True)


def _right_by_rows(x):
    return np.stack([row - row.mean() for row in x])


def _not_right(x):
    return x * 1.0


VARIANTS = {"wrong-axis": [_wrong_axis_by_columns, _in_place, _right_on_the_probe,
                           _right_after_all],
            "no-such-mistake": [_not_right]}
CORRECT = [_right_by_rows, _not_right]
'''


def test_other_ways_of_writing_are_checked(course):
    mistakes = course / "solutions/toy/mistakes/center.py"
    mistakes.write_text(mistakes.read_text() + OTHER_WAYS)
    result = check(course)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    way = "a way of writing the mistake 'wrong-axis',"
    assert f"_in_place, {way} is diagnosed as wrong-axis, mutates-input" in out
    assert f"_right_on_the_probe, {way} is diagnosed as nothing" in out
    assert f"_right_after_all, {way} passes every check" in out
    assert "VARIANTS in course/solutions/toy/mistakes/center.py names 'no-such-mistake'" in out
    assert "_not_right (in CORRECT), a right implementation, fails" in out
    assert "_wrong_axis_by_columns" not in out and "_right_by_rows" not in out


def test_missing_solution(course):
    (course / SOLUTION).unlink()
    result = check(course)
    assert result.exit_code == 1
    assert "course/solutions/toy/toy.py is missing: the reference solution." in result.output


def test_every_schema_problem_is_listed(course):
    edit(course / "exercises/toy/center.yaml", "points: 2", "points: -2")
    edit(course / "quizzes/toy/toy_choice.yaml", "    correct: true\n", "")
    result = check(course)
    assert "field 'points'" in result.output and "exactly one option" in result.output


def test_new_then_check_explains_what_is_left(tmp_path, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(cli, ["--content", "mine", "new", "extra", "thing", "--kind", "code"])
    assert made.exit_code == 0, made.output
    for kind, name in (("numeric", "num"), ("choice", "pick")):
        assert runner.invoke(cli, ["--content", "mine", "new", "extra", name, "--kind",
                                   kind]).exit_code == 0
    result = runner.invoke(cli, ["check", "mine", "--seeds", "3"])
    assert result.exit_code == 1
    assert "mine/exercises/extra/thing.yaml, line 2: left to fill in: title: TODO" in result.output
    assert "thing: the reference solution does not pass its grader" in result.output
    again = runner.invoke(cli, ["--content", "mine", "new", "extra", "thing", "--kind", "code"])
    assert again.exit_code == 2 and "already exists" in again.output
