"""`normquiz watch`: grade a workspace on every save and show what to fix next.

At start the whole topic is graded; then every save of the module, answers.yaml
or the notebook grades the exercise the learner is on (the first one not passed
yet), and when it passes, the next one, rustlings style. A save of a file that
does not hold that exercise (answers.yaml while on a code exercise) grades the
whole topic, so the progress bar stays true.

Saves are noticed by watchfiles (the operating system's change notifications;
`poll` makes it check the files' times instead, for network drives and the
like). Grading stays warm between saves: this process keeps pytest, the
graders, the reference solution and numpy loaded, and learner workers are
forked by one fork server (normquiz.sandbox.forkserver) started at the
beginning, so a save pays no interpreter start-up. What is graded is found and
graded by normquiz.submission exactly as `normquiz grade` does: the module is
read and compiled afresh on every save and runs in a new worker with every
isolation layer.

A file that cannot be graded (a syntax error, a file saved half-way) is shown
as such and the watch goes on; nothing is recorded for it.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from normquiz.content import Catalog, CodeExercise, Topic
from normquiz.errors import NormquizError
from normquiz.report import COLOR, SYMBOL, ExerciseResult, Status
from normquiz.sandbox import DEFAULT_TIMEOUT
from normquiz.text import Places, WatchedPlaces, next_steps
from normquiz.workspace import ANSWERS_FILE, STATE_FILE, Workspace

KEYS = "h hint · e explain · l list · r grade again · q quit"
LABEL: dict[Status, str] = {"passed": "passed", "failed": "failed", "error": "error",
                            "timeout": "timed out", "unanswered": "not answered yet"}
BAR_WIDTH = 40
_CLEAR = "\x1b[H\x1b[2J\x1b[3J"  # cursor home, clear the screen and its scrollback


class HalfSaved(NormquizError):
    """A file that is empty: an editor caught mid-save, most likely."""


# ---------------------------------------------------------------- which files count


def watched(_change: Any, path: str) -> bool:
    """watchfiles' filter: the files `normquiz grade` could read in the folder.

    Any .py or .ipynb file (the module may be `Layernorm (1).py`, and modules beside
    it are copied to the worker) and answers.yaml; never the state file or an
    editor's hidden temporary files. (Only the folder itself is watched, not its
    sub-folders.)
    """
    name = Path(path).name
    return not name.startswith(".") and (name == ANSWERS_FILE
                                         or name.endswith((".py", ".ipynb")))


def holds(names: set[str], exercise: Any) -> bool:
    """Whether a save of the files `names` can change the verdict of `exercise`."""
    if any(n.endswith(".ipynb") for n in names):
        return True  # a notebook holds both code and answers
    if isinstance(exercise, CodeExercise):
        return any(n.endswith(".py") for n in names)
    return ANSWERS_FILE in names


# ---------------------------------------------------------------- warm grading


class WarmGrader:
    """Grades one workspace again and again, paying the start-up once.

    Each call finds the work and grades it with normquiz.submission, as `normquiz
    grade` does; only the workers' start is shared: a fork server with numpy
    loaded forks each one, and each still applies every isolation layer.
    """

    def __init__(self, folder: Path, catalog: Catalog,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        from normquiz.sandbox import SandboxSettings
        from normquiz.sandbox.forkserver import ForkServer

        self.folder = folder
        self.catalog = catalog
        self.timeout = timeout
        self.forks = ForkServer()
        self.forks.start()  # it imports numpy while this process imports the rest
        self.settings = SandboxSettings(spawn=self.forks.spawn)

    def grade(self, only: str | None = None) -> Any:
        """The TopicResult of the workspace now; a NormquizError when a file is broken."""
        from normquiz.submission import find_in_folder, grade

        work = find_in_folder(self.folder, self.catalog)
        if type(work.places) is Places:  # a notebook's cells keep their own words
            work.places = WatchedPlaces(work.places.module)
        exercises = [work.topic.exercise(only)] if only else work.topic.exercises
        _refuse_empty(work, exercises)
        return grade(work, only=only, strict=True, timeout=self.timeout,
                     settings=self.settings)

    def warm(self, topic: Topic) -> None:
        """Load what grading needs, for when the first grading stopped at a broken file."""
        import numpy  # noqa: F401
        import pytest  # noqa: F401

        from normquiz import diagnosis, questions  # noqa: F401
        from normquiz.content import load_reference

        if topic.module:
            load_reference(topic)

    def close(self) -> None:
        self.forks.stop()


def _refuse_empty(work: Any, exercises: list[Any]) -> None:
    """An empty module or answers.yaml is a save caught half-way, not an answer.

    Grading it would record every exercise it holds as not answered.
    """
    files = []
    if work.module is not None and any(isinstance(e, CodeExercise) for e in exercises):
        files.append(work.module)
    if work.answers_path is not None and any(e.is_question for e in exercises):
        files.append(work.answers_path)
    for path in files:
        try:
            empty = path.stat().st_size < 4096 and not path.read_bytes().strip()
        except OSError:
            continue  # missing or unreadable: grading says so
        if empty:
            raise HalfSaved(f"{path.name} is empty: saved half-way? Nothing was graded or "
                            "recorded; save it again with your work.")


# ---------------------------------------------------------------- hints


def reveal_hint(folder: Path, exercise: Any) -> tuple[int, int]:
    """The next hint of `exercise`, recorded in the state file as `normquiz hint` does.

    Returns (its number, how many there are).
    """
    return Workspace.load(folder).next_hint(exercise.id, len(exercise.hints)), len(exercise.hints)


# ---------------------------------------------------------------- the screen


def progress_bar(passed_points: float, total_points: float, passed: int, count: int,
                 width: int = BAR_WIDTH) -> str:
    """'Progress: [#########>------]  9/26 points · 3 of 20 exercises passed'."""
    filled = min(width, round(width * passed_points / total_points)) if total_points else 0
    bar = "#" * width if filled == width else "#" * filled + ">" + "-" * (width - filled - 1)
    return (f"Progress: [{bar}]  {passed_points:g}/{total_points:g} points · "
            f"{passed} of {count} exercises passed")


def _points(x: float) -> str:
    return f"{x:.1f}" if abs(x - round(x, 1)) < 1e-9 else f"{x:.2f}"


@dataclass
class Watch:
    """The watch of one workspace: its state, what it shows, and the loop.

    `explain(exercise_id)` prints an exercise's explanation (the CLI passes its own
    `explain`); `color` is click's (None: only on a terminal; False: never).
    """

    folder: Path
    catalog: Catalog
    start_at: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    poll: bool = False
    explain: Callable[[str], None] | None = None
    color: bool | None = None
    topic: Topic = field(init=False)
    status: dict[str, str] = field(init=False, default_factory=dict)
    latest: dict[str, ExerciseResult] = field(init=False, default_factory=dict)
    problem: str | None = field(init=False, default=None)
    passed_now: list[str] = field(init=False, default_factory=list)
    graded_files: list[str] = field(init=False, default_factory=list)
    sandbox: dict[str, Any] | None = field(init=False, default=None)
    last: str = field(init=False, default="")  # when and why it last graded
    extra: Callable[[], None] | None = field(init=False, default=None)  # under the feedback
    watch_problem: str | None = field(init=False, default=None)  # saves no longer noticed
    brief: bool = field(init=False, default=False)  # only the verdict line above the extra
    lost: list[str] = field(init=False, default_factory=list)  # passed before the last save

    def __post_init__(self) -> None:
        workspace = Workspace.load(self.folder)
        self.topic = self.catalog.topic(workspace.topic)
        self.order = [e.id for e in self.topic.exercises]
        self.first = self.order.index(self.topic.exercise(self.start_at).id) \
            if self.start_at else 0
        # Until graded here, what the state file says.
        self.status = {k: v.get("status", "") for k, v in workspace.progress.items()
                       if k in self.order}
        self.interactive = sys.stdout.isatty()
        self._grader: WarmGrader | None = None
        self._events: list[set[str] | str] = []  # saved files' names, or why watching failed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_r = self._wake_w = -1  # a pipe that wakes the loop, while it runs
        self._thread: threading.Thread | None = None
        self._before: dict[str, str] = {}
        self._unchecked: list[str] = []

    # ------------------------------------------------------------ state

    def current(self) -> str | None:
        """The exercise the learner is on: the first not passed, from `start_at` on."""
        n = len(self.order)
        for i in range(n):
            exercise_id = self.order[(self.first + i) % n]
            if self.status.get(exercise_id) != "passed":
                return exercise_id
        return None

    def grade(self, saved: set[str] | None = None, why: str = "at start") -> None:
        """Grade after a save of `saved` (None: everything), then move past what passed.

        A save grades the exercise the learner is on, for a quick verdict; `recheck`
        then grades what else the save may have broken.
        """
        assert self._grader is not None
        started = time.perf_counter()
        self._before = dict(self.status)
        on = self.current()
        # Only that exercise when every file saved can hold it: answers.yaml saved while on
        # a code exercise has the whole topic graded, so that its answers count at once.
        only = on if saved and on is not None and \
            all(holds({name}, self.topic.exercise(on)) for name in saved) else None
        graded = self._grade_once(only)
        # Passed: on to the next one not passed, graded now (it may have changed since).
        while graded and not self.problem:
            on = self.current()
            if on is None or on in graded:
                break
            graded |= self._grade_once(on)
        self._unchecked = [] if saved is None or self.problem else [
            e.id for e in self.topic.exercises if e.id not in graded
            and self.status.get(e.id) == "passed" and holds(saved, e)]
        self._compare(saved is not None)
        self.extra, self.brief = None, False
        self.last = (f"Graded {why} at {time.strftime('%H:%M:%S')} "
                     f"in {time.perf_counter() - started:.2f} s.")

    def recheck(self) -> bool:
        """Grade the passed exercises the last save may have broken; True if one was."""
        unchecked, self._unchecked = self._unchecked, []
        was = dict(self.status)
        for exercise_id in unchecked:
            self._grade_once(exercise_id)
            if self.problem:  # saved again meanwhile: that save's grading says why
                self.problem = None
                return False
        self._compare(True)
        return self.status != was

    def _compare(self, announce: bool) -> None:
        """What passed and what no longer does, since before the last save."""
        before = self._before
        self.passed_now = [i for i in self.order if announce and self.status.get(i) == "passed"
                           and before.get(i) != "passed"]
        self.lost = [i for i in self.order if announce and before.get(i) == "passed"
                     and self.status.get(i) not in (None, "passed")]

    def _grade_once(self, only: str | None) -> set[str]:
        assert self._grader is not None
        try:
            result = self._grader.grade(only)
        except NormquizError as e:
            self.problem = str(e)
            return set()
        self.problem = None
        for r in result.exercises:
            self.status[r.id] = r.status
            self.latest[r.id] = r
        if only is None:
            self.graded_files = result.graded_files
        self.sandbox = result.sandbox or self.sandbox
        return {e.id for e in result.exercises}

    # ------------------------------------------------------------ what it shows

    def _style(self, text: str, **kwargs: Any) -> str:
        return text if self.color is False else click.style(text, **kwargs)

    def out(self, text: str = "") -> None:
        click.echo(text, color=self.color)

    def verdict_lines(self) -> list[str]:
        """The top of the screen: what just passed, and the exercise to work on."""
        s = self._style
        lines = [s(f"✓ {i} passed!", fg="green", bold=True) for i in self.passed_now]
        lines += [s(f"✗ {i} passed before and no longer does.", fg="red", bold=True)
                  for i in self.lost]
        if lines:
            lines.append("")
        if self.problem:
            lines.append(s("✗ Cannot grade this save", fg="red", bold=True))
            lines += ["    " + line for line in self.problem.splitlines()]
            lines.append("    Still watching: the next save is graded.")
            return lines
        on = self.current()
        if on is None:
            total = self.topic.max_score
            lines.append(s(f"✓ All {len(self.order)} exercises of {self.topic.slug} passed "
                           f"({total:g} points). Well done!", fg="green", bold=True))
            return lines
        exercise = self.topic.exercise(on)
        result = self.latest.get(on)
        if result is None:
            lines.append(f"· {s(on, bold=True)}  not graded yet: save a file to grade it.")
            return lines
        mark = s(SYMBOL[result.status], fg=COLOR[result.status], bold=True)
        lines.append(f"{mark} {s(on, bold=True)}  {_points(result.score)}/"
                     f"{_points(result.max_score)}  "
                     f"{s(LABEL[result.status], fg=COLOR[result.status])}  · {exercise.title}")
        feedback = result.feedback.rstrip().splitlines()
        if feedback and feedback[-1] == next_steps(on):  # the keys below say it
            feedback = feedback[:-1]
        while feedback and not feedback[-1].strip():
            feedback.pop()
        lines += [f"    {line}" if line else "" for line in feedback]
        if self.color is not False:  # a grouping picture in each group's colour
            from normquiz.diagrams import colorize

            lines = colorize("\n".join(lines)).split("\n")
        return lines

    def footer_lines(self) -> list[str]:
        from normquiz.sandbox.isolation import missing

        passed = [e for e in self.topic.exercises if self.status.get(e.id) == "passed"]
        total = self.topic.max_score
        lines = [progress_bar(sum(e.points for e in passed), total, len(passed),
                              len(self.order)), self._style(KEYS, dim=True)]
        lines.append(self.last)
        if self.watch_problem:
            lines.append(self._style("Note: ", fg="yellow", bold=True) + self.watch_problem)
        gaps = missing(self.sandbox) if self.sandbox else []
        if gaps:
            lines.append(self._style("Note: ", fg="yellow", bold=True) + "your code ran "
                         f"without {', '.join(gaps)} isolation here ('normquiz doctor' says "
                         "why).")
        return lines

    def draw(self) -> None:
        """The whole screen: cleared on a terminal, appended otherwise."""
        if self.interactive:
            sys.stdout.write(_CLEAR)
            sys.stdout.flush()
        else:
            self.out("─" * 60)
        files = " and ".join(self.graded_files)
        self.out(self._style(f"normquiz watch · {self.topic.slug}", bold=True)
                 + (f" · grading {files} on every save" if files else ""))
        self.out()
        lines = self.verdict_lines()
        if self.brief and not self.problem:  # the extra is long: the verdict line only
            news = len(self.passed_now) + len(self.lost)
            lines = lines[:news + bool(news) + 1]
        for line in lines:
            self.out(line)
        if self.extra is not None:
            self.out()
            self.extra()
        self.out()
        for line in self.footer_lines():
            self.out(line)

    def show_hint(self) -> None:
        from normquiz.questions import plain_math

        on = self.current()
        if on is None:
            return
        exercise = self.topic.exercise(on)
        shown, count = reveal_hint(self.folder, exercise)

        def extra() -> None:
            self.out(self._style(f"Hint {shown} of {count}", bold=True) + f" · {on}")
            self.out(plain_math(exercise.hints[shown - 1].strip()))
            self.out("Press h again for the next hint." if shown < count else
                     "That was the last hint; press e for the explanation and worked example.")

        self.extra, self.brief = extra, False

    def show_explanation(self) -> None:
        on = self.current()
        if on is None:
            return
        explain = self.explain
        if explain is not None:
            self.extra, self.brief = (lambda: explain(on)), True
            return
        from normquiz.questions import plain_math

        text = plain_math(self.topic.exercise(on).explanation.strip())
        self.extra, self.brief = (lambda: self.out(text)), True

    def show_list(self) -> None:
        width = max(len(i) for i in self.order)
        on = self.current()

        marks: dict[str, str] = {str(k): v for k, v in SYMBOL.items()}
        colors: dict[str, str] = {str(k): v for k, v in COLOR.items()}

        def extra() -> None:
            self.out(self._style(f"{self.topic.slug}: {self.topic.title}", bold=True))
            for e in self.topic.exercises:
                status = self.status.get(e.id, "")
                mark = self._style(marks[status], fg=colors[status]) if status in marks else " "
                here = "→" if e.id == on else " "
                self.out(f"{here} {mark} {e.id:<{width}}  {e.kind:<8} {e.points:g} pt  {e.title}")

        self.extra, self.brief = extra, True

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Watch until `q`, Ctrl-C, or the end of the terminal; always returns normally."""
        handlers = _stop_on_signals()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        try:
            with _keys(sys.stdin) as keys:
                self.out(self._style(f"normquiz watch · {self.topic.slug}", bold=True)
                         + " · grading…")
                self._grader = WarmGrader(self.folder, self.catalog, self.timeout)
                self._start_watching()
                stamps = self._stamps()
                self.grade(None)
                if self.problem:
                    self._grader.warm(self.topic)
                now = self._stamps()
                changed = {n for n in {*stamps, *now} if stamps.get(n) != now.get(n)}
                if changed:  # saved while the first grading ran
                    self._notify(changed)
                self.draw()
                self._loop(keys)
        except KeyboardInterrupt:
            pass
        finally:
            if handlers:  # a second Ctrl-C must not cut this short
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self._stop.set()
                if self._thread is not None:
                    self._thread.join(timeout=2)
                if self._grader is not None:
                    self._grader.close()
                with self._lock:  # a late save must not write into a reused descriptor
                    pipe, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
                for fd in pipe:
                    os.close(fd)
            finally:
                for signum, handler in handlers.items():
                    signal.signal(signum, handler)
        try:
            self.out()
            self.out(f"Stopped watching. Your progress is in {STATE_FILE}; "
                     "'normquiz grade' grades the whole topic.")
        except OSError:
            pass  # the terminal has gone (SIGHUP)

    def _loop(self, keys: _KeyReader) -> None:
        while True:
            fds = [self._wake_r, *keys.fds]
            ready, _, _ = select.select(fds, [], [])
            if self._wake_r in ready:
                try:
                    os.read(self._wake_r, 1024)
                except BlockingIOError:
                    pass
                saved, broken = self._take_events()
                if saved:
                    self.grade(saved, "after a save of " + ", ".join(sorted(saved)))
                if broken:
                    self.watch_problem = broken
                if saved or broken:
                    self.draw()
                if saved and self.recheck():
                    self.draw()
            if keys.fds and keys.fds[0] in ready:
                for key in keys.read():
                    if key in "qQ":
                        return
                    action = {"h": self.show_hint, "e": self.show_explanation,
                              "l": self.show_list}.get(key.lower())
                    if action is not None:
                        action()
                        self.draw()
                    elif key in "rR":
                        self.grade(None, "again")
                        self.draw()

    def _stamps(self) -> dict[str, tuple[int, int]]:
        stamps = {}
        for p in self.folder.iterdir():
            if watched(None, str(p)):
                try:
                    st = p.stat()
                except OSError:
                    continue
                stamps[p.name] = (st.st_mtime_ns, st.st_size)
        return stamps

    def _notify(self, event: set[str] | str) -> None:
        with self._lock:
            self._events.append(event)
            if self._wake_w >= 0:  # else the watch is ending
                try:
                    os.write(self._wake_w, b"!")
                except BlockingIOError:
                    pass  # the pipe is full: the loop is woken already

    def _take_events(self) -> tuple[set[str], str | None]:
        """Every save since the last grading, as one (they are graded once)."""
        with self._lock:
            events, self._events = self._events, []
        saved: set[str] = set()
        broken = None
        for event in events:
            if isinstance(event, str):
                broken = event
            else:
                saved |= event
        return saved, broken

    def _start_watching(self) -> None:
        from watchfiles import watch

        def watching() -> None:
            try:
                for changes in watch(self.folder, watch_filter=watched,
                                     stop_event=self._stop, recursive=False,
                                     force_polling=True if self.poll else None,
                                     raise_interrupt=False):
                    self._notify({Path(path).name for _, path in changes})
            except Exception as e:  # noqa: BLE001 - told to the learner, with the way around
                self._notify(f"Saves are no longer noticed ({type(e).__name__}: {e}). Press r "
                             "to grade by hand, or restart with 'normquiz watch --poll'.")

        self._thread = threading.Thread(target=watching, name="normquiz-watch", daemon=True)
        self._thread.start()


# ---------------------------------------------------------------- keys and signals


class _KeyReader:
    """Single key presses from stdin: a terminal in cbreak mode, or a pipe as it comes."""

    def __init__(self, fd: int | None) -> None:
        self.fds = [] if fd is None else [fd]

    def read(self) -> str:
        try:
            data = os.read(self.fds[0], 64)
        except OSError:
            data = b""
        if not data:
            self.fds = []  # end of input: keep watching, without keys
        return data.decode(errors="ignore")


@contextmanager
def _keys(stdin: Any) -> Iterator[_KeyReader]:
    """Keys without Enter and without echo on a terminal; Ctrl-C still interrupts."""
    try:
        fd = stdin.fileno()
    except (AttributeError, ValueError, OSError):
        yield _KeyReader(None)
        return
    if not os.isatty(fd):
        yield _KeyReader(fd)
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield _KeyReader(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP end the watch as Ctrl-C does (the terminal is restored)."""

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return {}
    saved: dict[int, Any] = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        saved[signum] = signal.signal(signum, stop)
    return saved
