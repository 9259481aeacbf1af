"""Start-up and grading speed of the CLI, against floors measured in the same run.

    python benchmarks/bench_cli.py [--runs 15]

Prints the median wall time of each command and its ratio to its floor:

- `normquiz grade` of a complete layernorm workspace vs
  `python -c "import numpy, yaml, click, pytest"` (goal: at most 2.5x);
- `normquiz --help` vs `python -c "import click"` (goal: at most 1.5x).

Runs are interleaved so that a busy moment on the machine hits both sides.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from normquiz.content import default_catalog
from normquiz.questions import generate
from normquiz.workspace import Workspace, start

NORMQUIZ = [sys.executable, "-m", "normquiz"]


def complete_workspace(folder: Path) -> Path:
    """A layernorm workspace with the reference solution and every answer right."""
    catalog = default_catalog()
    topic = catalog.topic("layernorm")
    ws = start(catalog, "layernorm", folder / "layernorm", seed=1234).workspace
    ws.module_path(topic).write_text(topic.solution_path.read_text())
    answers = {}
    for q in topic.questions:
        if q.kind == "numeric":
            g = generate(topic, q, ws.seed)
            answers[q.id] = g.answer[0] if g.scalar else g.answer
        else:
            answers[q.id] = q.correct_letter
    ws.answers_path.write_text(yaml.safe_dump(answers))
    return ws.path


def timed(cmd: list[str], cwd: Path, expect: int = 0) -> float:
    t = time.perf_counter()
    code = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode
    elapsed = time.perf_counter() - t
    if code != expect:
        sys.exit(f"{' '.join(cmd)} exited {code}, expected {expect}")
    return elapsed


def compare(name: str, cmd: list[str], floor: list[str], cwd: Path, runs: int,
            goal: float) -> bool:
    timed(cmd, cwd)  # warm the file cache
    timed(floor, cwd)
    ours, base = [], []
    for _ in range(runs):
        ours.append(timed(cmd, cwd))
        base.append(timed(floor, cwd))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    ratio = m_ours / m_base
    verdict = "ok" if ratio <= goal else "SLOW"
    print(f"{name:<16} median {m_ours * 1000:7.1f} ms   floor median {m_base * 1000:7.1f} ms   "
          f"ratio {ratio:4.2f}x (goal <= {goal}x) {verdict}")
    return ratio <= goal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = complete_workspace(Path(tmp))
        Workspace.load(ws)  # a valid workspace, or this raises
        ok = compare("normquiz grade", [*NORMQUIZ, "grade"],
                     [sys.executable, "-c", "import numpy, yaml, click, pytest"], ws,
                     args.runs, 2.5)
        ok &= compare("normquiz --help", [*NORMQUIZ, "--help"],
                      [sys.executable, "-c", "import click"], ws, args.runs, 1.5)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
