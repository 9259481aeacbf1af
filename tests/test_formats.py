"""`--format gradescope` and `--format junit`: right fields, right types, parseable.

The JUnit XML is validated against the Jenkins xunit plugin's junit-10.xsd
(tests/schemas/junit-10.xsd, MIT), the schema CI test reports are written to.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import learners
import pytest
import xmlschema

from normquiz.formats import (
    gradescope_error,
    junit_document,
    junit_error_suite,
    render,
    to_gradescope,
    to_junit,
)
from normquiz.report import CheckResult, ExerciseResult, TopicResult
from normquiz.roster import BatchResult, LearnerResult
from normquiz.workspace import answers_template, start

JUNIT_XSD = Path(__file__).parent / "schemas" / "junit-10.xsd"


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(JUNIT_XSD))


def result() -> TopicResult:
    """One exercise in every status, one with a diagnosed mistake."""
    def ex(id_, status, score, max_score, mistakes=(), feedback=""):
        return ExerciseResult(id_, "code", f"Title of {id_}", status, score, max_score,
                              list(mistakes), feedback,
                              [CheckResult("a check", 1.0, status == "passed")],
                              seconds=0.125)

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
    # The unanswered exercise is a failure: nothing is skipped.
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped", "0")) == ("5", "2", "2", "0")
    assert root.get("tests") == "5" and root.get("failures") == "2" and root.get("errors") == "2"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["ok", "wrong", "crash", "slow", "todo"]
    assert {c.get("classname") for c in cases} == {"layernorm"}
    assert list(cases[0]) == []
    failure = cases[1].find("failure")
    assert "wrong-axis" in failure.get("message") and "Diagnosis" in failure.text
    assert cases[2].find("error").get("type") == "error"
    assert "\x00" not in cases[2].find("error").text  # replaced: XML 1.0 forbids it
    assert cases[3].find("error").get("type") == "timeout"
    todo = cases[4].find("failure")
    assert todo.get("type") == "unanswered" and "not answered yet" in todo.get("message")
    assert "fill in the TODOs" in todo.text
    assert not list(root.iter("skipped"))
    assert [c.get("time") for c in cases] == ["0.125000"] * 5
    assert float(suite.get("time")) == 0.625  # the sum of its cases beats execution_time
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


# ---------------------------------------------------------------- JUnit for CI test reports


def toy_learner(toy_catalog, folder: Path, kind: str) -> Path:
    """A toy workspace: "correct" (all right), "partial" (center right, scale wrong,
    questions unanswered) or "blank" (the stub and the answers template as started)."""
    topic = toy_catalog.topic("toy")
    if kind == "blank":
        start(toy_catalog, "toy", folder, seed=learners.SEED)
        return folder
    learners.correct(toy_catalog, topic, folder)
    if kind == "partial":
        module = folder / str(topic.module)
        module.write_text(module.read_text().replace("return g * x", "return x"))
        (folder / "answers.yaml").write_text(answers_template(topic, learners.SEED))
    return folder


def junit_of(run, folder: Path) -> str:
    result = run("grade", "--format", "junit", cwd=folder, toy=True)
    assert result.exit_code in (0, 1), result.output
    return result.output


def test_schema_copy_is_the_xunit_plugins_junit_10(junit_schema):
    text = JUNIT_XSD.read_text(encoding="utf-8")
    assert "The MIT License (MIT)" in text and "Copyright (c) 2014, Gregory Boissinot" in text
    assert set(junit_schema.elements) >= {"testsuites", "testsuite", "testcase", "failure"}
    # What the old output had and this schema refuses: <testsuites skipped=...>.
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        junit_schema.validate('<testsuites skipped="0"><testsuite tests="0"/></testsuites>')


@pytest.mark.parametrize("kind", ["correct", "partial", "blank"])
def test_junit_of_a_workspace_validates_against_junit_10_xsd(run, toy_catalog, tmp_path,
                                                              junit_schema, kind):
    text = junit_of(run, toy_learner(toy_catalog, tmp_path / kind, kind))
    junit_schema.validate(text)
    suite = ET.fromstring(text).find("testsuite")
    statuses = {c.get("name"): [n.tag for n in c] for c in suite.iter("testcase")}
    assert len(statuses) == 4
    if kind == "correct":
        assert all(v == [] for v in statuses.values())
    elif kind == "partial":
        assert statuses["center"] == [] and statuses["scale"] == ["failure"]
        assert statuses["toy_mean"] == statuses["toy_choice"] == ["failure"]


def test_blank_submission_fails_every_test_and_skips_none(run, toy_catalog, tmp_path):
    root = ET.fromstring(junit_of(run, toy_learner(toy_catalog, tmp_path / "ws", "blank")))
    suite = root.find("testsuite")
    assert suite.get("tests") == suite.get("failures") == root.get("failures") == "4"
    assert suite.get("errors") == "0"
    assert suite.get("skipped", "0") == "0" and root.get("skipped") is None
    assert not list(root.iter("skipped"))
    for case in suite.iter("testcase"):
        failure = case.find("failure")
        assert failure.get("type") == "unanswered"
        assert "not answered yet" in failure.get("message") and failure.text


@pytest.mark.parametrize("kind", ["correct", "partial", "blank"])
def test_junit_carries_measured_durations(run, toy_catalog, tmp_path, kind):
    root = ET.fromstring(junit_of(run, toy_learner(toy_catalog, tmp_path / kind, kind)))
    suite = root.find("testsuite")
    times = {c.get("name"): float(c.get("time")) for c in suite.iter("testcase")}
    assert all(t >= 0 for t in times.values())
    assert times["center"] > 0 and times["scale"] > 0  # the code exercises: their checks ran
    assert float(suite.get("time")) >= sum(times.values()) > 0
    assert float(root.get("time")) == float(suite.get("time"))


def test_seconds_stay_out_of_the_json(run, toy_catalog, tmp_path):
    result = run("grade", "--format", "json", toy=True,
                 cwd=toy_learner(toy_catalog, tmp_path / "ws", "partial"))
    for e in json.loads(result.output)["exercises"]:
        assert set(e) == {"id", "kind", "title", "status", "score", "max_score", "mistakes",
                          "causes", "feedback", "checks"}


def test_batch_reports_in_junit_validate_error_row_included(toy_catalog, tmp_path,
                                                             junit_schema):
    batch = BatchResult(toy_catalog.topic("toy"), [
        LearnerResult("ann", result(), None, 1.5),
        LearnerResult("kim", None, "kim/toy.py, line 1: syntax error: expected ':'.\n"
                      "Fix it, then grade again.", 0.25),
    ])
    paths = {p.stem: p for p in batch.write_reports(tmp_path / "reports", "junit")}
    for path in paths.values():
        junit_schema.validate(path.read_text(encoding="utf-8"))
    kim = ET.parse(paths["kim"]).getroot()
    suite = kim.find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("errors")) == ("kim.toy", "1", "1")
    assert float(suite.find("testcase").get("time")) == 0.25 == float(kim.get("time"))
    ann = ET.parse(paths["ann"]).getroot().find("testsuite")
    assert float(ann.get("time")) == 1.5 and ann.get("failures") == "2"


def test_real_batch_junit_reports_validate(run, toy_catalog, tmp_path, junit_schema):
    """grade-batch --format junit on the toy course: a correct, a blank and an uncompilable
    learner, and one whose state file is broken (an error row)."""
    root = tmp_path / "class"
    toy_learner(toy_catalog, root / "ann", "correct")
    toy_learner(toy_catalog, root / "bob", "blank")
    shutil.copytree(root / "ann", root / "kim")
    (root / "kim" / "toy.py").write_text("def center(x)\n    return x\n")
    shutil.copytree(root / "ann", root / "nan")
    (root / "nan" / ".normquiz.json").write_text("{")
    result = run("grade-batch", "class", "--topic", "toy", "--jobs", "1", "--format", "junit",
                 "--out", "reports", toy=True)
    assert result.exit_code == 0, result.output
    reports = {p.stem: p for p in (tmp_path / "reports").glob("*.xml")}
    assert sorted(reports) == ["ann", "bob", "kim", "nan"]
    for path in reports.values():
        junit_schema.validate(path.read_text(encoding="utf-8"))
    bob = ET.parse(reports["bob"]).getroot()
    assert bob.get("failures") == bob.get("tests") == "4" and not list(bob.iter("skipped"))
    kim = {c.get("name"): c for c in ET.parse(reports["kim"]).getroot().iter("testcase")}
    assert "toy.py, line 1: syntax error" in kim["center"].find("error").get("message")
    assert kim["toy_mean"].find("error") is None and kim["toy_mean"].find("failure") is None
    nan = ET.parse(reports["nan"]).getroot().find("testsuite/testcase")
    assert nan.find("error") is not None and float(nan.get("time")) > 0


def test_a_module_that_does_not_compile_still_gets_a_report(run, toy_catalog, tmp_path,
                                                           junit_schema):
    folder = toy_learner(toy_catalog, tmp_path / "ws", "correct")
    (folder / "toy.py").write_text("def center(x)\n    return x\n")
    text = junit_of(run, folder)
    junit_schema.validate(text)
    cases = {c.get("name"): c for c in ET.fromstring(text).iter("testcase")}
    for name in ("center", "scale"):  # every code exercise an error naming the line
        error = cases[name].find("error")
        assert error is not None and "toy.py, line 1: syntax error" in error.text
    assert list(cases["toy_mean"]) == list(cases["toy_choice"]) == []  # the answers graded
    text_run = run("grade", cwd=folder, toy=True)  # for a person: one Error paragraph, exit 2
    assert text_run.exit_code == 2 and "line 1: syntax error" in text_run.output
