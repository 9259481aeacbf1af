"""`normquiz grade-batch`: a class graded in parallel, no learner affecting another.

One class of eleven learners (right, with catalogued mistakes, hostile, with
broken files) is graded once through the CLI; the tests read its roster,
reports and summary. The pool and fork-server mechanics are tested on the toy
course, which grades in milliseconds.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import learners
import pytest
import yaml
from click.testing import CliRunner
from helpers import COURSE

from normquiz import batch
from normquiz.cli import cli
from normquiz.content import Catalog, default_catalog
from normquiz.grading import grade_topic
from normquiz.sandbox import Sandbox, SandboxSettings, forkserver
from normquiz.selfcheck import reference_source

CATALOG = default_catalog()
TOPIC = CATALOG.topic("layernorm")
TOTAL = float(sum(e.points for e in TOPIC.exercises))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class, graded once: (folder, expectations, CLI result, output folder)."""
    tmp = tmp_path_factory.mktemp("batch")
    root = tmp / "class"
    c = CATALOG
    expected = {
        "ann": learners.correct(c, TOPIC, root / "ann"),
        "bob": learners.bare(TOPIC, root / "bob"),  # seed from answers.yaml, not --seed
        "cat": learners.notebook_only(TOPIC, root / "cat"),  # seed from the notebook
        "dan": learners.with_mistake(c, TOPIC, root / "dan", "layernorm_forward",
                                     "unbiased-variance"),
        "eve": learners.with_mistake(c, TOPIC, root / "eve", "layernorm_forward",
                                     "unbiased-variance"),
        "fay": learners.with_mistake(c, TOPIC, root / "fay", "layernorm_backward",
                                     "missing-mean-path"),
        "hal": learners.hostile(c, TOPIC, root / "hal", "infinite-loop"),
        "ian": learners.hostile(c, TOPIC, root / "ian", "os-exit"),
        "kim": learners.broken(c, TOPIC, root / "kim", "syntax-error"),
        "lee": learners.broken(c, TOPIC, root / "lee", "broken-yaml"),
        "nan": learners.broken(c, TOPIC, root / "nan", "broken-state"),
    }
    # Only the module: the code is graded, the questions are unanswered.
    (root / "max").mkdir()
    (root / "max" / "layernorm.py").write_text(reference_source(TOPIC))
    # Copies a classmate's work at import time: refused, so nothing of ann's is graded here.
    (root / "zoe").mkdir()
    (root / "zoe" / "layernorm.py").write_text(
        f"exec(open({str(root / 'ann' / 'layernorm.py')!r}).read())\n")
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    out = tmp / "reports"
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        result = CliRunner().invoke(cli, [
            "grade-batch", "class", "--topic", "layernorm", "--jobs", "2", "--timeout", "1",
            "--csv", "grades.csv", "--json", "roster.json", "--format", "junit", "--out",
            "reports"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return root, expected, result, out, before


def roster(graded) -> dict:
    return {r["learner"]: r for r in json.loads((graded[0].parent / "roster.json")
                                                 .read_text())["learners"]}


def test_the_batch_runs_and_exits_0_though_learners_failed(graded):
    result = graded[2]
    assert result.exit_code == 0, result.output
    assert "13 learners" in result.output and "12 graded, 1 could not be graded" in result.output


def test_each_learner_gets_their_own_grade(graded):
    rows = roster(graded)
    problems = [p for name, exp in graded[1].items() for p in learners.check(exp, rows[name])]
    assert problems == []
    max_ = {e["id"]: e["status"] for e in rows["max"]["exercises"]}
    assert all(max_[e.id] == "passed" for e in TOPIC.code_exercises)
    assert all(max_[q.id] == "unanswered" for q in TOPIC.questions)
    assert rows["bob"]["seed"] == learners.SEED and rows["cat"]["seed"] == learners.SEED
    assert rows["cat"]["graded_file"] == "layernorm.ipynb"


def test_no_learner_can_read_anothers_folder(graded):
    zoe = {e["id"]: e for e in roster(graded)["zoe"]["exercises"]}
    for e in TOPIC.code_exercises:
        assert zoe[e.id]["status"] == "error" and zoe[e.id]["score"] == 0
        assert "not allowed while grading" in zoe[e.id]["feedback"]


def test_a_broken_file_costs_what_it_holds_naming_the_file(graded):
    rows = roster(graded)
    kim = {e["id"]: e for e in rows["kim"]["exercises"]}
    lee = {e["id"]: e for e in rows["lee"]["exercises"]}
    assert rows["kim"]["status"] == rows["lee"]["status"] == "graded"
    assert "kim/layernorm.py, line 1: syntax error" in kim["layernorm_forward"]["feedback"]
    assert all(kim[q.id]["status"] == "passed" for q in TOPIC.questions)  # still graded
    assert "lee/answers.yaml, line" in lee["ln_axis"]["feedback"]
    assert all(lee[e.id]["status"] == "passed" for e in TOPIC.code_exercises)
    # A state file that cannot be read leaves no seed to grade by: an error row.
    assert rows["nan"]["status"] == "error" and "nan/.normquiz.json" in rows["nan"]["error"]
    assert rows["ann"]["error"] is None


def test_csv_roster(graded):
    with open(graded[0].parent / "grades.csv", newline="") as f:
        table = list(csv.reader(f))
    ids = [e.id for e in TOPIC.exercises]
    assert table[0] == ["learner", "status", *ids, "total", "max", "error"]
    rows = {r[0]: dict(zip(table[0], r)) for r in table[1:]}
    assert sorted(rows) == ["ann", "bob", "cat", "dan", "eve", "fay", "hal", "ian", "kim",
                            "lee", "max", "nan", "zoe"]
    assert rows["ann"]["total"] == rows["ann"]["max"] == f"{TOTAL:g}"
    assert rows["ann"]["layernorm_forward"] == "3"
    assert float(rows["dan"]["layernorm_forward"]) < 3
    assert rows["kim"]["status"] == "graded" and rows["kim"]["layernorm_forward"] == "0"
    assert rows["nan"]["status"] == "error" and rows["nan"]["layernorm_forward"] == ""
    assert rows["nan"]["total"] == "0" and ".normquiz.json" in rows["nan"]["error"]


def test_json_roster_holds_each_full_result(graded):
    data = json.loads((graded[0].parent / "roster.json").read_text())
    assert data["topic"] == "layernorm" and data["max_score"] == TOTAL
    for row in data["learners"]:
        assert {"learner", "status", "error", "topic", "score", "max_score", "graded_file",
                "seed", "exercises"} <= set(row)
        if row["status"] == "graded":
            assert [e["id"] for e in row["exercises"]] == [e.id for e in TOPIC.exercises]
            assert {"checks", "feedback", "mistakes"} <= set(row["exercises"][0])
    top = data["summary"]["mistakes"][0]
    assert (top["exercise"], top["mistake"], top["learners"]) == (
        "layernorm_forward", "unbiased-variance", 2)


def test_summary_means_and_mistakes_ranked_by_learners(graded):
    out = graded[2].output
    assert "Mean score per exercise (12 graded learners)" in out
    ranked = out.split("Mistakes seen, by number of learners")[1].split("Could not be graded")[0]
    lines = [ln.split() for ln in ranked.strip().splitlines()]
    assert lines[0][:3] == ["2", "layernorm_forward", "unbiased-variance"]
    assert ["1", "layernorm_backward", "missing-mean-path"] in [ln[:3] for ln in lines]
    counts = [int(ln[0]) for ln in lines]
    assert counts == sorted(counts, reverse=True)
    failed = out.split("Could not be graded")[1]
    assert "nan:" in failed and "kim:" not in failed


def test_one_report_per_learner(graded):
    out = graded[3]
    assert sorted(p.stem for p in out.glob("*.xml")) == sorted(roster(graded))
    ann = ET.parse(out / "ann.xml").getroot().find("testsuite")
    assert ann.get("failures") == "0" and ann.get("errors") == "0"
    hal = ET.parse(out / "hal.xml").getroot().find("testsuite")
    assert int(hal.get("errors")) >= 1  # the timeout
    kim = ET.parse(out / "kim.xml").getroot().find("testsuite")
    assert kim.find("testcase/error") is not None


def test_learner_folders_are_left_unchanged(graded):
    root, _, _, _, before = graded
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert not (root / "bob" / ".normquiz.json").exists()


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize("args, message", [
    (["empty", "--topic", "layernorm"], "no learner folders"),
    (["class", "--topic", "layrnorm"], "no topic 'layrnorm'"),
    (["class", "--topic", "layernorm", "--format", "junit"], "--out"),
])
def test_usage_errors_exit_2(tmp_path, run, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "class" / "ann").mkdir(parents=True)
    result = run("grade-batch", *args)
    assert result.exit_code == 2 and message in result.output


# ---------------------------------------------------------------- the pool, on the toy course


def toy_learner(folder: Path, catalog: Catalog) -> None:
    topic = catalog.topic("toy")
    folder.mkdir(parents=True)
    (folder / "toy.py").write_text(reference_source(topic))
    (folder / "answers.yaml").write_text(yaml.safe_dump(learners.correct_answers(topic, 0)))


def test_a_dead_grading_process_costs_only_its_learner(tmp_path, monkeypatch):
    catalog = Catalog([COURSE])
    for name in ("a", "b", "killer", "c", "d"):
        toy_learner(tmp_path / name, catalog)
    real = batch.grade_learner

    def grade_or_die(folder, topic, **kwargs):
        if folder.name == "killer":
            os._exit(1)  # as if the OOM killer took the grading process
        return real(folder, topic, **kwargs)

    # The pool forks this process, so its processes see the replacement.
    monkeypatch.setattr(batch, "grade_learner", grade_or_die)
    result = batch.grade_batch(tmp_path, "toy", content=[COURSE], jobs=2)
    rows = {r.learner: r for r in result.learners}
    assert sorted(rows) == ["a", "b", "c", "d", "killer"]
    assert rows["killer"].status == "error" and "died" in rows["killer"].error
    for name in "abcd":
        assert rows[name].status == "graded" and rows[name].result.passed, rows[name].error


def test_workers_are_forked_from_the_fork_server_with_the_same_limits(tmp_path, monkeypatch):
    catalog = Catalog([COURSE])
    topic = catalog.topic("toy")
    started = []
    real_popen = subprocess.Popen

    def popen(args, **kwargs):
        started.append(args)
        return real_popen(args, **kwargs)

    monkeypatch.setattr(forkserver.subprocess, "Popen", popen)
    server = forkserver.ForkServer()
    settings = SandboxSettings(spawn=server.spawn)
    try:
        good = tmp_path / "good.py"
        good.write_text(reference_source(topic))
        result = grade_topic(topic, good, {}, 0, settings=settings)
        assert result.exercises[0].status == "passed"
        assert result.sandbox["landlock"]["in_force"] and result.sandbox["seccomp"]["in_force"]
        sneaky = tmp_path / "toy.py"  # reads the reference: refused in a forked worker too
        solution = COURSE / "solutions" / "toy" / "toy.py"
        sneaky.write_text(reference_source(topic) + "\n\ndef center(x):\n"
                          f"    exec(open({str(solution)!r}).read(), {{}})\n    return x\n")
        [center] = [e for e in grade_topic(topic, sneaky, {}, 0, settings=settings).exercises
                    if e.id == "center"]
        assert center.status == "error" and "not allowed" in center.feedback
    finally:
        server.stop()
    assert not any("normquiz.sandbox.worker" in a for args in started for a in args), started


def test_forked_workers_do_not_share_random_state(tmp_path):
    module = tmp_path / "rand.py"
    module.write_text("import numpy as np\n\ndef draw():\n    return float(np.random.rand())\n")
    server = forkserver.ForkServer()
    try:
        draws = []
        for _ in range(2):
            with Sandbox(module, SandboxSettings(spawn=server.spawn)) as sandbox:
                draws.append(sandbox.call("draw", (), {}, 10).value)
    finally:
        server.stop()
    assert draws[0] != draws[1]


def test_a_folder_without_the_module_has_its_code_unanswered_and_answers_graded(tmp_path):
    catalog = Catalog([COURSE])
    topic = catalog.topic("toy")
    (tmp_path / "only-answers").mkdir()
    (tmp_path / "only-answers" / "answers.yaml").write_text(
        yaml.safe_dump(learners.correct_answers(topic, 0)))
    result = batch.grade_batch(tmp_path, "toy", content=[COURSE], jobs=1)
    [row] = result.learners
    exercises = {e.id: e for e in row.result.exercises}
    for e in topic.code_exercises:
        assert exercises[e.id].status == "unanswered" and exercises[e.id].score == 0
        assert "No toy.py in" in exercises[e.id].feedback and "nothing to grade" in \
            exercises[e.id].feedback
    assert all(exercises[q.id].status == "passed" for q in topic.questions)
    assert row.result.graded_file is None and row.result.grader_seed is None
