"""`--format gradescope` and `--format junit`: right fields, right types, parseable."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from normquiz.formats import (
    gradescope_error,
    junit_document,
    junit_error_suite,
    render,
    to_gradescope,
    to_junit,
)
from normquiz.report import CheckResult, ExerciseResult, TopicResult


def result() -> TopicResult:
    """One exercise in every status, one with a diagnosed mistake."""
    def ex(id_, status, score, max_score, mistakes=(), feedback=""):
        return ExerciseResult(id_, "code", f"Title of {id_}", status, score, max_score,
                              list(mistakes), feedback,
                              [CheckResult("a check", 1.0, status == "passed")])

    return TopicResult("layernorm", [
        ex("ok", "passed", 3.0, 3.0),
        ex("wrong", "failed", 1.5, 4.0, ["wrong-axis"],
           "2 of 4 checks failed:\n  ✗ batch of one\n\nDiagnosis: wrong axis [wrong-axis]"),
        ex("crash", "error", 0.0, 2.0, feedback="layernorm_rnn_step raised an exception:\n"
           "  ValueError: bad \x00 byte \x1b[31m"),
        ex("slow", "timeout", 0.0, 1.0, feedback="did not finish within 10 seconds"),
        ex("todo", "unanswered", 0.0, 1.0, feedback="Not implemented yet: fill in the TODOs."),
    ], graded_file="layernorm.py", seed=7)


def test_gradescope_fields_and_types():
    data = to_gradescope(result(), execution_time=1.25)
    assert isinstance(data["score"], float) and data["score"] == 4.5
    assert isinstance(data["max_score"], float) and data["max_score"] == 11.0
    assert isinstance(data["execution_time"], float) and data["execution_time"] == 1.25
    assert isinstance(data["output"], str) and "4.5/11" in data["output"]
    assert data["visibility"] == "visible"
    tests = data["tests"]
    assert [t["number"] for t in tests] == ["1", "2", "3", "4", "5"]
    for t in tests:
        assert set(t) >= {"name", "number", "score", "max_score", "status", "output", "tags",
                          "visibility"}
        assert isinstance(t["name"], str) and isinstance(t["output"], str) and t["output"]
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float)
        assert t["status"] in ("passed", "failed")  # Gradescope's only values
        assert isinstance(t["tags"], list) and t["visibility"] == "visible"
    assert tests[0]["name"] == "ok: Title of ok" and tests[0]["status"] == "passed"
    assert tests[1]["tags"] == ["wrong-axis"] and "Diagnosis" in tests[1]["output"]
    assert [t["status"] for t in tests[2:]] == ["failed"] * 3
    json.dumps(data)  # plain data only


def test_gradescope_error_has_score_zero_and_the_reason():
    data = gradescope_error("answers.yaml, line 3: YAML syntax error", max_score=17)
    assert data["score"] == 0.0 and data["max_score"] == 17.0 and data["tests"] == []
    assert "answers.yaml, line 3" in data["output"]


def test_junit_parses_with_the_right_counts():
    root = ET.fromstring(to_junit(result(), execution_time=0.5))
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "layernorm"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("5", "1", "2", "1")
    assert root.get("tests") == "5" and root.get("errors") == "2"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["ok", "wrong", "crash", "slow", "todo"]
    assert {c.get("classname") for c in cases} == {"layernorm"}
    assert list(cases[0]) == []
    failure = cases[1].find("failure")
    assert "wrong-axis" in failure.get("message") and "Diagnosis" in failure.text
    assert cases[2].find("error").get("type") == "error"
    assert "\x00" not in cases[2].find("error").text  # replaced: XML 1.0 forbids it
    assert cases[3].find("error").get("type") == "timeout"
    assert cases[4].find("skipped") is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["score"] == "4.5" and props["max_score"] == "11"


def test_junit_error_suite_for_an_ungradable_submission():
    root = ET.fromstring(junit_document([junit_error_suite("layernorm", "line 1: syntax error",
                                                           learner="ann")]))
    suite = root.find("testsuite")
    assert suite.get("name") == "ann.layernorm" and suite.get("errors") == "1"
    assert suite.find("testcase/error").get("message") == "line 1: syntax error"


def test_render_knows_every_format():
    r = result()
    assert json.loads(render(r, "json"))["topic"] == "layernorm"
    assert json.loads(render(r, "gradescope"))["tests"]
    ET.fromstring(render(r, "junit"))
    assert "Score: 4.5/11.0" in render(r, "text")
    with pytest.raises(ValueError):
        render(r, "xml")


@pytest.fixture
def toy_workspace(run, tmp_path):
    run("start", "toy", "ws", "--seed", "3", toy=True)
    return tmp_path / "ws"


@pytest.mark.parametrize("fmt", ["gradescope", "junit", "json"])
def test_grade_prints_the_format(run, toy_workspace, fmt):
    result = run("grade", "--format", fmt, cwd=toy_workspace, toy=True)
    assert result.exit_code == 1  # the blank stub does not pass
    if fmt == "junit":
        suite = ET.fromstring(result.output).find("testsuite")
        assert suite.get("name") == "toy" and int(suite.get("tests")) >= 2
    else:
        data = json.loads(result.output)
        assert data["score"] == 0.0 and data["max_score"] > 0
        key = "tests" if fmt == "gradescope" else "exercises"
        assert len(data[key]) == int(ET.fromstring(run("grade", "--format", "junit",
                                                       cwd=toy_workspace, toy=True).output)
                                     .find("testsuite").get("tests"))


def test_json_flag_is_format_json_and_conflicts_are_usage_errors(run, toy_workspace):
    a = run("grade", "--json", cwd=toy_workspace, toy=True)
    b = run("grade", "--format", "json", cwd=toy_workspace, toy=True)
    assert json.loads(a.output)["exercises"] == json.loads(b.output)["exercises"]
    clash = run("grade", "--json", "--format", "junit", cwd=toy_workspace, toy=True)
    assert clash.exit_code == 2 and "two formats" in clash.output
