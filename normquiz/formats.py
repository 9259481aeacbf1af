"""Grading results for other tools: Gradescope's results.json and JUnit XML.

Both are built from a TopicResult (normquiz.report), so they say exactly what
`normquiz grade` says: same scores, same feedback, the diagnosed mistakes as
tags. `text` and `json` stay in normquiz.report; `render()` picks any of them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from normquiz.report import TopicResult

FORMATS = ("text", "json", "gradescope", "junit")

# XML 1.0 forbids most control characters, even escaped; learner output (a
# traceback, a printed escape sequence) can hold them, so they are replaced.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _points(x: float) -> str:
    return f"{x:g}"


def _exercise_output(e: Any) -> str:
    """The feedback the learner reads; passed exercises get a line of their own."""
    if e.feedback:
        return e.feedback
    if e.status == "passed":
        checks = len(e.checks)
        return f"Passed ({checks} checks)." if checks > 1 else "Passed."
    return e.status


def summary_line(result: TopicResult) -> str:
    passed = sum(e.status == "passed" for e in result.exercises)
    return (f"normquiz · {result.topic}: {_points(round(result.score, 2))}/"
            f"{_points(result.max_score)} points, {passed} of {len(result.exercises)} "
            "exercises passed.")


def _summary(result: TopicResult) -> str:
    lines = [summary_line(result), *(f"Note: {note}" for note in result.notes)]
    if result.graded_files:
        lines.append(f"Graded: {' and '.join(result.graded_files)}.")
    open_ = [f"{e.id} ({e.status}{', ' + ', '.join(e.mistakes) if e.mistakes else ''})"
             for e in result.exercises if e.status != "passed"]
    if open_:
        lines.append("Not passed yet: " + "; ".join(open_) + ".")
        lines.append("Each test below has the feedback. On your machine, "
                     "'normquiz hint ID' and 'normquiz explain ID' help further.")
    return "\n".join(lines)


# ---------------------------------------------------------------- Gradescope


def to_gradescope(result: TopicResult, execution_time: float = 0.0) -> dict[str, Any]:
    """Gradescope's results.json: one test per exercise, the mistakes as tags.

    Field names and types follow Gradescope's autograder specification
    (gradescope-autograders.readthedocs.io, "Autograder Specifications"):
    `status` is "passed" or "failed" (its only values), `number` a string.
    Top-level `max_score` is not in that specification; Gradescope takes the
    total from the assignment and ignores it, but it saves a reader the sum.
    """
    tests = []
    for number, e in enumerate(result.exercises, 1):
        tests.append({
            "name": f"{e.id}: {e.title}",
            "number": str(number),
            "score": round(float(e.score), 4),
            "max_score": float(e.max_score),
            "status": "passed" if e.status == "passed" else "failed",
            "output": _exercise_output(e),
            "output_format": "text",  # the feedback is aligned plain text, shown as is
            "tags": list(e.mistakes),
            "visibility": "visible",
        })
    return {
        "score": round(float(result.score), 4),
        "max_score": float(result.max_score),
        "execution_time": round(float(execution_time), 3),
        "output": _summary(result),
        "output_format": "text",
        "visibility": "visible",
        "tests": tests,
    }


def gradescope_error(message: str, max_score: float = 0.0,
                     execution_time: float = 0.0) -> dict[str, Any]:
    """results.json for a submission that could not be graded: score 0 and why."""
    return {
        "score": 0.0,
        "max_score": float(max_score),
        "execution_time": round(float(execution_time), 3),
        "output": f"normquiz could not grade this submission:\n{message}",
        "output_format": "text",
        "visibility": "visible",
        "tests": [],
    }


# ---------------------------------------------------------------- JUnit XML


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def _seconds(x: float) -> str:
    return f"{max(float(x), 0.0):.6f}"


def junit_suite(result: TopicResult, execution_time: float = 0.0,
                learner: str | None = None) -> ET.Element:
    """One <testsuite> for a topic: one <testcase> per exercise, classname = topic.

    An exercise not answered yet is a failure, not a skip: CI test reports count a
    skip as nothing wrong, and a blank submission must not look like one that passed.
    Each test case's time is the time spent grading that exercise; the suite's is
    `execution_time` (the whole grading), never less than the sum of its cases.
    """
    counts = {s: sum(e.status == s for e in result.exercises)
              for s in ("failed", "error", "timeout", "unanswered")}
    graded = sum(e.seconds for e in result.exercises)
    suite = ET.Element("testsuite", {
        "name": result.topic if learner is None else f"{learner}.{result.topic}",
        "tests": str(len(result.exercises)),
        "failures": str(counts["failed"] + counts["unanswered"]),
        "errors": str(counts["error"] + counts["timeout"]),
        "time": _seconds(max(execution_time, graded)),
    })
    props = ET.SubElement(suite, "properties")
    extra = {"score": _points(round(result.score, 4)), "max_score": _points(result.max_score),
             "graded_file": result.graded_file or "", "learner": learner or ""}
    for name, value in extra.items():
        if value:
            ET.SubElement(props, "property", {"name": name, "value": _xml_text(value)})
    for e in result.exercises:
        case = ET.SubElement(suite, "testcase", {"classname": result.topic, "name": e.id,
                                                 "time": _seconds(e.seconds)})
        points = f"{_points(round(e.score, 4))}/{_points(e.max_score)} points"
        feedback = _xml_text(e.feedback)
        if e.status == "failed":
            mistakes = f" [{', '.join(e.mistakes)}]" if e.mistakes else ""
            node = ET.SubElement(case, "failure", {
                "message": _xml_text(f"{points}{mistakes}: {_first_line(e.feedback)}"),
                "type": "failed"})
            node.text = feedback
        elif e.status in ("error", "timeout"):
            node = ET.SubElement(case, "error", {
                "message": _xml_text(f"{points}, {e.status}: {_first_line(e.feedback)}"),
                "type": e.status})
            node.text = feedback
        elif e.status == "unanswered":
            detail = _first_line(e.feedback)
            node = ET.SubElement(case, "failure", {
                "message": _xml_text(f"{points}, not answered yet"
                                     + (f": {detail}" if detail else "")),
                "type": "unanswered"})
            node.text = feedback or "Not answered yet."
    return suite


def junit_error_suite(topic: str, message: str, learner: str | None = None,
                      execution_time: float = 0.0) -> ET.Element:
    """A suite with one errored test case: the submission could not be graded at all.

    `execution_time` is how long the attempt took, the test case's time and the suite's.
    """
    suite = ET.Element("testsuite", {
        "name": topic if learner is None else f"{learner}.{topic}",
        "tests": "1", "failures": "0", "errors": "1", "time": _seconds(execution_time)})
    case = ET.SubElement(suite, "testcase", {"classname": topic, "name": "grading",
                                             "time": _seconds(execution_time)})
    node = ET.SubElement(case, "error", {"message": _xml_text(_first_line(message)),
                                         "type": "error"})
    node.text = _xml_text(message)
    return suite


def junit_document(suites: list[ET.Element]) -> str:
    """<testsuites> around the suites, with totals: what CI test reporters read.

    Only the attributes of the Jenkins xunit plugin's junit-10.xsd (which has no
    `skipped` on <testsuites>); normquiz never skips a test anyway.
    """
    root = ET.Element("testsuites", {"name": "normquiz"})
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    root.set("time", _seconds(sum(float(s.get("time", "0")) for s in suites)))
    root.extend(suites)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def to_junit(result: TopicResult, execution_time: float = 0.0,
             learner: str | None = None) -> str:
    return junit_document([junit_suite(result, execution_time, learner)])


# ---------------------------------------------------------------- any format


def render(result: TopicResult, fmt: str, execution_time: float = 0.0) -> str:
    """The result as text for a machine: json, gradescope or junit."""
    if fmt == "json":
        return result.json_text()
    if fmt == "gradescope":
        return json.dumps(to_gradescope(result, execution_time), indent=2, ensure_ascii=False)
    if fmt == "junit":
        return to_junit(result, execution_time).rstrip("\n")
    if fmt == "text":
        from normquiz.report import render_text

        return render_text(result, lambda text, **_: text)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
