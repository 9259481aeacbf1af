"""Batch grading speed: `normquiz grade-batch` on a class of 200, against a floor.

    python benchmarks/bench_batch.py [--learners 200] [--jobs N] [--timeout 1] [--runs 1]

The class, for the layernorm topic (shares in brackets for 200 learners):

- correct (130): 110 workspaces with the reference solution and every answer
  right, 20 bare folders (module and answers.yaml, no state file);
- buggy (50): each the reference with one function replaced by a catalogued
  mistake, cycling through every mistake of every code exercise;
- hostile (20): an infinite loop (4), sys.exit (2), os._exit (2), a 3.2 GB
  allocation (4), a syntax error (4), a broken answers.yaml (4).

It runs `python -m normquiz grade-batch` on the class as a user would, then
checks every learner's grade from the JSON roster: correct ones have full
marks, each buggy one is diagnosed with its mistake, hostile ones do not
pass (or are error rows when their files are broken). It prints learners per
second and the ratio to a floor measured in the same run: the time of
`python -c "import numpy, yaml, click, pytest"` x learners / jobs, i.e. as
if each learner cost no more than starting Python with the stack's imports.
Goal: >= 20 learners per second on 2 cores. The infinite loops cost their
timeout each (--timeout, 1 s by default here; grade-batch's default is 10 s).

Then the class report (`grade-batch --html`): the batch above is timed
without it, as grade-batch runs unless asked; what --html adds is importing
normquiz.classreport and writing the page. Both are timed here on the
BatchResult rebuilt from the JSON roster, i.e. the 200 real results, without
grading them again. Goal: under a second.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import learners  # noqa: E402 - tests/learners.py, found through the path above

from normquiz.batch import default_jobs  # noqa: E402
from normquiz.content import default_catalog  # noqa: E402
from normquiz.report import CheckResult, ExerciseResult, TopicResult  # noqa: E402
from normquiz.roster import BatchResult, LearnerResult  # noqa: E402

FLOOR = [sys.executable, "-c", "import numpy, yaml, click, pytest"]
HOSTILE_MIX = ["infinite-loop"] * 4 + ["sys-exit"] * 2 + ["os-exit"] * 2 + \
    ["huge-allocation"] * 4 + ["syntax-error"] * 4 + ["broken-yaml"] * 4


def make_class(root: Path, n: int) -> dict[str, learners.Expected]:
    """n learner folders in the proportions above; what each must be graded as."""
    catalog = default_catalog()
    topic = catalog.topic("layernorm")
    mistakes = [(e.id, m.id) for e in topic.code_exercises for m in e.mistakes]
    n_hostile = round(n * 0.10)
    n_buggy = round(n * 0.25)
    n_bare = round(n * 0.10)
    expected = {}
    for i in range(n):
        name = f"learner{i:03d}"
        folder = root / name
        if i < n_hostile:
            kind = HOSTILE_MIX[i % len(HOSTILE_MIX)]
            if kind in learners.BROKEN:
                expected[name] = learners.broken(catalog, topic, folder, kind)
            else:
                expected[name] = learners.hostile(catalog, topic, folder, kind)
        elif i < n_hostile + n_buggy:
            exercise, mistake = mistakes[(i - n_hostile) % len(mistakes)]
            expected[name] = learners.with_mistake(catalog, topic, folder, exercise, mistake)
        elif i < n_hostile + n_buggy + n_bare:
            expected[name] = learners.bare(topic, folder)
        else:
            expected[name] = learners.correct(catalog, topic, folder)
    return expected


def batch_from_roster(data: dict) -> BatchResult:
    """The BatchResult that wrote a JSON roster, rebuilt from it."""
    topic = default_catalog().topic(data["topic"])
    rows = []
    for r in data["learners"]:
        result = None
        if r["status"] == "graded":
            exercises = [ExerciseResult(e["id"], e["kind"], e["title"], e["status"], e["score"],
                                        e["max_score"], e["mistakes"], e["feedback"],
                                        [CheckResult(**c) for c in e["checks"]])
                         for e in r["exercises"]]
            result = TopicResult(r["topic"], exercises, r["graded_file"], r["seed"], r["notes"],
                                 (r["sandbox"] or {}).get("layers"), r["grader_seed"])
        rows.append(LearnerResult(r["learner"], result, r["error"], r["seconds"]))
    sandbox = data["sandbox"]
    return BatchResult(topic, rows, data["seconds"], sandbox["layers"] if sandbox else None,
                       data["unsandboxed"], data.get("seed", 0), data.get("grader_seed"))


def time_report(batch: BatchResult, path: Path, runs: int = 5) -> tuple[float, float]:
    """(seconds to import the report builder, median seconds to write the report)."""
    started = time.perf_counter()
    classreport = importlib.import_module("normquiz.classreport")
    imported = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        classreport.write_html(batch, path)
        times.append(time.perf_counter() - started)
    return imported, statistics.median(times)


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1, help="batch runs; the median is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="normquiz-bench-") as tmp:
        root = Path(tmp) / "class"
        expected = make_class(root, args.learners)
        roster = Path(tmp) / "roster.json"
        cmd = [sys.executable, "-m", "normquiz", "grade-batch", str(root), "--topic",
               "layernorm", "--jobs", str(args.jobs), "--timeout", str(args.timeout),
               "--json", str(roster)]
        timed(FLOOR)  # warm the file cache
        batch, floor = [], []
        for _ in range(args.runs):
            batch.append(timed(cmd))
            floor += [timed(FLOOR) for _ in range(5)]
        data = json.loads(roster.read_text())
        rows = data["learners"]
        report = Path(tmp) / "report.html"
        imported, written = time_report(batch_from_roster(data), report)
        report_size = report.stat().st_size
    problems = [p for row in rows for p in learners.check(expected[row["learner"]], row)]
    if len(rows) != len(expected):
        problems.append(f"{len(rows)} rows in the roster for {len(expected)} learners")
    elapsed = statistics.median(batch)
    floor_total = statistics.median(floor) * args.learners / args.jobs
    rate = args.learners / elapsed
    print(f"grade-batch: {args.learners} learners, {args.jobs} jobs, timeout {args.timeout:g} s")
    print(f"  {elapsed:.2f} s (median of {args.runs})  ->  {rate:.1f} learners/s  "
          f"(goal >= 20 on 2 cores) {'ok' if rate >= 20 else 'SLOW'}")
    print(f"  floor: {statistics.median(floor) * 1000:.0f} ms per import x {args.learners} / "
          f"{args.jobs} jobs = {floor_total:.2f} s; ratio {elapsed / floor_total:.2f}x")
    print(f"  grades: {len(rows) - len(problems)} of {len(rows)} as expected")
    for p in problems:
        print(f"    {p}")
    extra = imported + written
    print(f"--html: the class report of {len(rows)} learners ({report_size / 2**20:.1f} MiB) in "
          f"{extra:.3f} s: import {imported:.3f} s + write {written:.3f} s (median of 5)  "
          f"(goal < 1 s more) {'ok' if extra < 1 else 'SLOW'}")
    sys.exit(0 if not problems and rate >= 20 and extra < 1 else 1)


if __name__ == "__main__":
    main()
