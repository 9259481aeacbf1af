"""`normquiz watch`: the library's moves on the toy course, and the command in a real
terminal (tmux), driven as a learner would: save, press keys, read the screen."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from helpers import COURSE, needs

from normquiz.content import Catalog
from normquiz.sandbox.isolation import LAYERS, missing
from normquiz.submission import find_in_folder, grade
from normquiz.watch import WarmGrader, Watch, holds, progress_bar, reveal_hint, watched
from normquiz.workspace import STATE_FILE, start

STUB_SCALE = "\n\ndef scale(x, g):\n    raise NotImplementedError('scale')\n"
WRONG_CENTER = "import numpy as np\n\ndef center(x):\n    return x - x.mean(axis=0)\n" + STUB_SCALE
RIGHT_CENTER = ("import numpy as np\n\ndef center(x):\n"
                "    return x - x.mean(axis=-1, keepdims=True)\n" + STUB_SCALE)
SOLUTION = COURSE / "solutions" / "toy" / "toy.py"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return start(Catalog([COURSE]), "toy", tmp_path / "ws", seed=7).workspace.path


@pytest.fixture
def watch(ws: Path):
    """A Watch of the toy workspace with its warm grader, without the loop."""
    w = Watch(ws, Catalog([COURSE]), color=False)
    w._grader = WarmGrader(ws, w.catalog, timeout=5)
    try:
        yield w
    finally:
        w._grader.close()


def state(ws: Path) -> dict:
    return json.loads((ws / STATE_FILE).read_text())


# ---------------------------------------------------------------- pieces


def test_progress_bar():
    assert progress_bar(0, 5, 0, 4, width=10) == \
        "Progress: [>---------]  0/5 points · 0 of 4 exercises passed"
    assert progress_bar(2, 5, 1, 4, width=10) == \
        "Progress: [####>-----]  2/5 points · 1 of 4 exercises passed"
    assert progress_bar(5, 5, 4, 4, width=10).startswith("Progress: [##########]  5/5")


def test_only_the_learners_files_are_watched(ws):
    wanted = watched
    for name in ("toy.py", "answers.yaml", "toy.ipynb", "Toy (1).py", "helpers.py"):
        assert wanted(None, str(ws / name)), name
    for name in (STATE_FILE, ".normquiz-abc.tmp", ".toy.py.swp", "README.md", "notes.txt"):
        assert not wanted(None, str(ws / name)), name


def test_a_save_grades_the_exercise_it_holds():
    topic = Catalog([COURSE]).topic("toy")
    center, mean = topic.exercise("center"), topic.exercise("toy_mean")
    assert holds({"toy.py"}, center) and not holds({"toy.py"}, mean)
    assert holds({"answers.yaml"}, mean) and not holds({"answers.yaml"}, center)
    assert holds({"toy.ipynb"}, center) and holds({"toy.ipynb"}, mean)


# ---------------------------------------------------------------- the watch's moves


def test_first_exercise_not_passed_then_on_to_the_next(watch, ws):
    watch.grade()
    assert watch.current() == "center" and watch.latest["center"].status == "unanswered"
    (ws / "toy.py").write_text(WRONG_CENTER)
    watch.grade({"toy.py"}, "after a save")
    assert watch.current() == "center" and watch.latest["center"].status == "failed"
    assert watch.passed_now == []
    screen = "\n".join(watch.verdict_lines() + watch.footer_lines())
    assert "✗ center  0.33/2.0  failed" in screen
    assert "Progress: [>" in screen and "0/5 points · 0 of 4 exercises passed" in screen
    (ws / "toy.py").write_text(RIGHT_CENTER)
    watch.grade({"toy.py"}, "after a save")
    assert watch.passed_now == ["center"] and watch.current() == "scale"
    # The next one was graded right away, not left as the start's verdict, in the
    # watch's words: saving grades it again.
    assert watch.latest["scale"].status == "unanswered"
    assert watch.latest["scale"].feedback.endswith("then save: the watch grades it again.")
    screen = "\n".join(watch.verdict_lines() + watch.footer_lines())
    assert "✓ center passed!" in screen and "· scale" in screen
    assert "2/5 points · 1 of 4 exercises passed" in screen
    assert state(ws)["progress"]["center"]["status"] == "passed"


def test_a_broken_save_is_shown_and_records_nothing(watch, ws):
    (ws / "toy.py").write_text(RIGHT_CENTER)
    watch.grade()
    recorded = state(ws)["progress"]
    for broken, words in [("def center(x:\n", "syntax error"),
                          ("", "toy.py is empty: saved half-way?")]:
        (ws / "toy.py").write_text(broken)
        watch.grade({"toy.py"}, "after a save")
        assert watch.problem and words in watch.problem
        assert any("Still watching" in line for line in watch.verdict_lines())
        assert state(ws)["progress"] == recorded  # a half-saved file costs no progress
        assert watch.status["center"] == "passed"
    (ws / "toy.py").write_text(RIGHT_CENTER)
    (ws / "answers.yaml").write_text("toy_choice: [b\n")
    watch.grade({"toy.py", "answers.yaml"}, "after a save")
    assert "YAML syntax error" in watch.problem
    assert state(ws)["progress"] == recorded
    (ws / "answers.yaml").write_text("toy_choice: b\n")
    watch.grade({"answers.yaml"}, "after a save")
    assert watch.problem is None and watch.current() == "scale"
    assert watch.status["toy_choice"] == "passed"


def test_watch_id_starts_there_and_wraps(ws):
    w = Watch(ws, Catalog([COURSE]), start_at="toy_choice")
    w.status = {"toy_choice": "passed", "center": "failed"}
    assert w.current() == "center"  # past the last one, back to the first
    w.status = {}
    assert w.current() == "toy_choice"


def test_hints_are_recorded_as_normquiz_hint_records_them(ws):
    exercise = Catalog([COURSE]).topic("toy").exercise("center")
    assert reveal_hint(ws, exercise) == (1, 2)
    assert reveal_hint(ws, exercise) == (2, 2)
    assert reveal_hint(ws, exercise) == (2, 2)  # the last one stays
    assert state(ws)["hints_shown"] == {"center": 2}


def test_every_layer_holds_in_watch_as_in_grade(watch, ws):
    """Workers forked by watch's fork server are confined as grade's are."""
    (ws / "toy.py").write_text(textwrap.dedent(f"""
        def center(x):
            return open({str(SOLUTION)!r}).read()

        def scale(x, g):
            return g * x
        """))
    watched_result = watch._grader.grade()
    graded = grade(find_in_folder(ws, Catalog([COURSE])), strict=True, timeout=5)
    for result in (watched_result, graded):
        by_id = {e.id: e for e in result.exercises}
        assert by_id["center"].status == "error", by_id["center"].feedback
        assert "PermissionError" in by_id["center"].feedback
        assert by_id["scale"].status == "passed"
    report = watched_result.sandbox
    needs(not missing(graded.sandbox), f"the isolation layers {missing(graded.sandbox)}")
    assert not missing(report), report
    assert [n for n in LAYERS if report[n]["in_force"]] == list(LAYERS)


def test_a_save_that_breaks_a_passed_exercise_goes_back_to_it(watch, ws):
    (ws / "toy.py").write_text(RIGHT_CENTER)
    watch.grade()
    assert watch.latest["center"].status == "passed" and watch.current() == "scale"
    (ws / "toy.py").write_text(WRONG_CENTER)  # same second, same folder: compiled afresh
    watch.grade({"toy.py"}, "after a save")
    assert watch.current() == "scale"  # the quick verdict: the exercise the learner is on
    assert watch.recheck() is True
    assert watch.latest["center"].status == "failed" and watch.current() == "center"
    assert "✗ center passed before and no longer does." in watch.verdict_lines()
    assert state(ws)["progress"]["center"]["status"] == "failed"
    assert watch.recheck() is False  # nothing left to check


# ---------------------------------------------------------------- the command


def test_watch_without_a_terminal_prints_each_grading_and_quits_on_q(ws):
    proc = subprocess.Popen([sys.executable, "-m", "normquiz", "--content", str(COURSE),
                             "watch"], cwd=ws, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        lines = []
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Progress:"):
                break
        assert any(line.startswith("· center") for line in lines), lines
        proc.stdin.write("q")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped watching." in out


def test_watch_outside_a_workspace_is_an_error(run):
    result = run("watch")
    assert result.exit_code == 2 and "not in a normquiz workspace" in result.output


def test_watch_of_an_unknown_exercise_is_an_error(run, ws):
    result = run("watch", "centre", cwd=ws, toy=True)
    assert result.exit_code == 2 and "Did you mean 'center'?" in result.output


# ---------------------------------------------------------------- in a real terminal


class Terminal:
    """A tmux server of its own: window `watch` runs the command, window `shell` saves."""

    def __init__(self, cwd: Path) -> None:
        self.socket = f"normquiz-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.socket_path = ""
        self.env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        self.env.pop("TMUX", None)
        watch_cmd = (f"{shlex.quote(sys.executable)} -m normquiz --content "
                     f"{shlex.quote(str(COURSE))} watch; echo \"watch exited $?\"; sleep 600")
        try:
            self.tmux("new-session", "-d", "-s", "t", "-n", "watch", "-x", "120", "-y", "50",
                      "-c", str(cwd), watch_cmd)
            self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
            self.tmux("new-window", "-d", "-t", "t", "-n", "shell", "-c", str(cwd), "sh")
        except BaseException:
            self.close()
            raise

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-u", "-L", self.socket, *args], env=self.env,
                              capture_output=True, text=True, check=True,
                              timeout=10).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t:watch")

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the screen:\n{screen}")
            time.sleep(0.05)

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t:watch", *keys)

    def save(self, source: Path, name: str) -> None:
        """Save a file as a person does: a shell command in the other window."""
        self.tmux("send-keys", "-t", "t:shell", f"cp {shlex.quote(str(source))} {name}",
                  "Enter")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env,
                       capture_output=True, timeout=10)
        if self.socket_path:
            Path(self.socket_path).unlink(missing_ok=True)  # tmux leaves it behind


@pytest.fixture
def terminal(ws):
    needs(shutil.which("tmux") is not None, "tmux")
    term = Terminal(ws)
    try:
        yield term
    finally:
        term.close()


def test_watch_in_a_terminal(terminal, ws, tmp_path):
    sources = {}
    for name, text in [("wrong", WRONG_CENTER), ("broken", "def center(x:\n"),
                       ("right", RIGHT_CENTER)]:
        sources[name] = tmp_path / f"{name}.py"
        sources[name].write_text(text)
    screen = terminal.wait_for("Progress:")
    assert "· center  0.0/2.0  not answered yet" in screen
    assert "Progress: [>----" in screen and "0/5 points · 0 of 4 exercises passed" in screen
    assert "h hint · e explain · l list" in screen

    terminal.save(sources["wrong"], "toy.py")
    screen = terminal.wait_for("✗ center  0.33/2.0  failed")
    assert "checks failed" in screen

    terminal.press("h")
    screen = terminal.wait_for("Hint 1 of 2 · center")
    assert "Take the mean over the last axis." in screen and "✗ center" in screen
    assert state(ws)["hints_shown"] == {"center": 1}

    terminal.press("e")
    screen = terminal.wait_for("Subtract the row mean: [1, 3] becomes [-1, 1].")
    assert "Common mistakes" in screen and "Hint 1 of 2" not in screen

    terminal.save(sources["broken"], "toy.py")
    screen = terminal.wait_for("syntax error")
    assert "Cannot grade this save" in screen and "Still watching" in screen
    assert "Progress: [>" in screen

    terminal.save(sources["right"], "toy.py")
    screen = terminal.wait_for("✓ center passed!")
    assert "· scale  0.0/1.0  not answered yet" in screen
    assert "2/5 points · 1 of 4 exercises passed" in screen

    terminal.press("l")
    screen = terminal.wait_for("→ · scale")
    assert "✓ center" in screen

    terminal.press("q")
    screen = terminal.wait_for("watch exited 0")
    assert "Stopped watching." in screen


def test_ctrl_c_stops_the_watch_cleanly(terminal, ws):
    terminal.wait_for("Progress:")
    terminal.press("C-c")
    screen = terminal.wait_for("watch exited ")
    assert "watch exited 0" in screen and "Stopped watching." in screen
    assert "Traceback" not in screen


def test_a_worker_stopped_as_soon_as_it_started_is_not_waited_for_forever(tmp_path):
    """Watch stops a worker at once when answers.yaml turns out broken: the fork server
    must hand over a worker that a stop can kill (its own session) from the start."""
    import threading

    from normquiz.sandbox import Sandbox, SandboxSettings
    from normquiz.sandbox.forkserver import ForkServer

    module = tmp_path / "m.py"
    module.write_text("def f():\n    return 1\n")
    forks = ForkServer()
    settings = SandboxSettings(spawn=forks.spawn)

    def start_and_stop() -> None:
        for _ in range(50):
            box = Sandbox(module, settings)
            box.start()
            box.stop()

    try:
        worker = threading.Thread(target=start_and_stop, daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "a stopped worker was waited for forever"
    finally:
        forks.stop()
