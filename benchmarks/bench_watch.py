"""From a save to the verdict: `normquiz watch` against a one-shot `normquiz grade ID`.

    python benchmarks/bench_watch.py [--runs 15]

A layernorm workspace whose `layernorm_forward` takes its statistics over the
wrong axis (a failing verdict, with its diagnosis: the usual case while
working). `normquiz watch layernorm_forward` runs as a subprocess, its output
read from a pipe. Each run saves the module (a new comment each time, so the
file really changes) and times until watch prints the exercise's verdict line;
then it times `normquiz grade layernorm_forward` on the same file, start to
exit. The two are interleaved, so that a busy moment on the machine hits both.
Prints both medians and their ratio (goal: at most 0.5).
"""

from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from normquiz.content import default_catalog
from normquiz.workspace import start

NORMQUIZ = [sys.executable, "-m", "normquiz"]
EXERCISE = "layernorm_forward"
VERDICT = f"✗ {EXERCISE} "  # the verdict line of a failing save
GOAL = 0.5

WRONG_AXIS = '''

def layernorm_forward(x, gain, bias, eps=1e-5):
    """Statistics down the columns: batch norm's axis, not layer norm's."""
    mu = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias
'''


def failing_module(stub: str, save: int) -> str:
    """The stub with a wrong layernorm_forward, different text on every save."""
    return f"# save {save}\nimport numpy as np\n{stub}\n{WRONG_AXIS}"


class Watching:
    """`normquiz watch ID` in the background, each line of its output time-stamped."""

    def __init__(self, ws: Path) -> None:
        self.proc = subprocess.Popen([*NORMQUIZ, "watch", EXERCISE], cwd=ws,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line))

    def drain(self) -> None:
        while not self.lines.empty():
            self.lines.get_nowait()

    def wait_for(self, prefix: str, timeout: float = 60) -> float:
        """When the next line starting with `prefix` was printed."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                when, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                sys.exit(f"normquiz watch printed no line starting {prefix!r} in {timeout} s")
            if line.startswith(prefix):
                return when

    def quit(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write("q")
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


def save_to_verdict(watching: Watching, module: Path, text: str) -> float:
    watching.drain()
    started = time.perf_counter()
    module.write_text(text)
    return watching.wait_for(VERDICT) - started


def one_shot(ws: Path) -> float:
    started = time.perf_counter()
    code = subprocess.run([*NORMQUIZ, "grade", EXERCISE], cwd=ws, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode
    elapsed = time.perf_counter() - started
    if code != 1:
        sys.exit(f"normquiz grade {EXERCISE} exited {code}, expected 1 (a failing exercise)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    topic = default_catalog().topic("layernorm")
    stub = topic.stub_path.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        ws = start(default_catalog(), "layernorm", Path(tmp) / "layernorm", seed=1234)
        module = ws.workspace.module_path(topic)
        module.write_text(failing_module(stub, 0))
        watching = Watching(ws.workspace.path)
        try:
            watching.wait_for("Progress:")  # the first screen: the whole topic graded
            save_to_verdict(watching, module, failing_module(stub, 1))  # warm both sides
            one_shot(ws.workspace.path)
            watched, graded = [], []
            for run in range(args.runs):
                watched.append(save_to_verdict(watching, module, failing_module(stub, run + 2)))
                graded.append(one_shot(ws.workspace.path))
            code = watching.quit()
        finally:
            watching.proc.kill()
    if code != 0:
        sys.exit(f"normquiz watch exited {code} on q, expected 0")
    m_watch, m_grade = statistics.median(watched), statistics.median(graded)
    ratio = m_watch / m_grade
    verdict = "ok" if ratio <= GOAL else "SLOW"
    print(f"save -> verdict, normquiz watch   median {m_watch * 1000:7.1f} ms")
    print(f"normquiz grade {EXERCISE}  median {m_grade * 1000:7.1f} ms")
    print(f"ratio {ratio:4.2f} (goal <= {GOAL}) {verdict}   ({args.runs} runs each, interleaved)")
    sys.exit(0 if ratio <= GOAL else 1)


if __name__ == "__main__":
    main()
