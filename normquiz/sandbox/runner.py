"""Run a learner's module in a separate, isolated process and call its functions.

The worker gets a private copy of the learner's module (and the .py files
beside it) in a fresh temporary folder, which is all of the learner's files
it can see. Only plain data crosses back (normquiz.sandbox.codec), bounded in
bytes and in elements. A crash, an exit, a timeout or a memory blow-up ends
the worker; the next call starts a fresh one, so one exercise's failure never
spills into another's.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normquiz.errors import NormquizError

DEFAULT_TIMEOUT = 10.0  # seconds per exercise
DEFAULT_MEMORY_MB = 1024
MAX_MESSAGE = 32 * 2**20  # bytes in one reply: a 2-million-element float64 array fits
MAX_ELEMENTS = 100_000  # lists, dicts and items in one reply (arrays count as one)
MAX_SIBLINGS = 50  # .py files beside the module copied for the learner's own imports
MAX_SOURCE = 2 * 2**20
UNSANDBOXED_ENV = "NORMQUIZ_UNSANDBOXED"


@dataclass(frozen=True)
class SandboxSettings:
    """How workers are started and confined; passed in, never set from outside as globals.

    - hidden: folders learner code must never read (content, other learners' work);
      normquiz's own package is always hidden.
    - require_isolation: refuse to run learner code unless every layer is in force
      (class grading and the Gradescope autograder, whose grades others rely on).
    - spawn: starts a worker, with subprocess.Popen's signature (a fork server's spawn).
    """

    hidden: tuple[Path, ...] = ()
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_seconds: int = 600
    require_isolation: bool = False
    spawn: Callable[..., Any] | None = None


class IsolationMissing(NormquizError):
    """A grading that needs every isolation layer found one missing."""


# What a worker inherits of the environment: nothing else, since learner code could
# show any variable (a CI token, say) in the feedback it makes the grader print.
ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
ENV_KEPT_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_")  # e.g. OPENBLAS_CORETYPE on some processors


def worker_env() -> dict[str, str]:
    """A worker's environment: locale, PATH and BLAS settings, with one BLAS thread."""
    env = {k: v for k, v in os.environ.items()
           if k in ENV_KEPT or k.startswith(ENV_KEPT_PREFIXES)}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def unsandboxed_allowed() -> bool:
    return os.environ.get(UNSANDBOXED_ENV, "").strip().lower() in ("1", "yes", "true")


class LearnerFailure(Exception):
    """The learner's code did not return a value; `kind` says how."""

    kind = "error"

    def __init__(self, message: str, traceback: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.traceback = traceback or message
        self.line = line


class LearnerError(LearnerFailure):
    """Their code raised an exception (or their module failed to import)."""

    def __init__(self, type_name: str, message: str, traceback: str = "",
                 line: int | None = None) -> None:
        super().__init__(f"{type_name}: {message}", traceback, line)
        self.type_name = type_name


class NotImplementedYet(LearnerError):
    """The function still raises NotImplementedError: the stub was not filled in."""

    kind = "unanswered"


class LearnerTimeout(LearnerFailure):
    kind = "timeout"


class LearnerCrash(LearnerFailure):
    """The process died: os._exit, a signal, the memory limit, or a broken reply."""


@dataclass
class CallResult:
    """What one call returned: the value and the arguments as they were afterwards."""

    value: Any
    args_after: list[Any]
    kwargs_after: dict[str, Any]
    output: str = ""


def _learner_files(module: Path, name: str) -> dict[str, bytes]:
    """The module's source (as `name`) and the .py files beside it: regular files only,
    never links."""
    from normquiz.learnerfiles import read_bytes  # the grading process's side only

    def read(path: Path) -> bytes:
        return read_bytes(path, MAX_SOURCE, path.name, "That is not a module to grade.")

    files = {name: read(module)}
    try:
        siblings = sorted(module.parent.glob("*.py"))[:MAX_SIBLINGS + 1]
    except OSError:
        siblings = []
    for path in siblings:
        if path.name in files or path == module or not path.stem.isidentifier() \
                or path.is_symlink():
            continue
        try:
            files[path.name] = read(path)
        except NormquizError:
            continue  # a helper that is not a readable, regular, small file: left out
    return files


def count_elements(data: bytes | bytearray) -> int:
    """An upper bound of the containers and items a JSON reply would build."""
    return data.count(b"[") + data.count(b"{") + data.count(b",")


@dataclass
class Sandbox:
    """A worker process for one learner module, restarted after any failure."""

    module_path: Path
    settings: SandboxSettings = field(default_factory=SandboxSettings)
    blocked: list[Path] = field(default_factory=list)  # for the friendly audit hook only
    # The name the module's copy gets in the worker (default: its own name).
    module_name: str | None = None
    # How a traceback names line n of the module (default: "layernorm.py, line n").
    place: Callable[[int], str] | None = None
    isolation: dict[str, Any] | None = None  # the layers the last worker reported
    _proc: Any = None
    _req: Any = None
    _resp_fd: int = -1
    _buffer: bytearray = field(default_factory=bytearray)
    _ready: dict | None = None
    _tmpdir: str | None = None
    _next_id: int = 0
    _import_error: LearnerFailure | None = None
    _stderr: Any = None
    _stderr_tail: str = ""
    _files: dict[str, bytes] | None = None

    def where(self, line: int) -> str:
        """Line `line` of the module, as a traceback names it."""
        if self.place is not None:
            return self.place(line)
        return f"{self.module_name or Path(self.module_path).name}, line {line}"

    def start(self) -> None:
        """Spawn the worker without waiting for it: it imports numpy while we work."""
        if self._proc is not None:
            return
        from normquiz.sandbox import isolation

        module = Path(self.module_path)
        module_name = self.module_name or module.name
        if self._files is None:  # read once: every restart grades the same code
            self._files = _learner_files(module, module_name)
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        self._tmpdir = tempfile.mkdtemp(prefix="normquiz-")
        for name, data in self._files.items():
            Path(self._tmpdir, name).write_bytes(data)
        self._stderr = tempfile.TemporaryFile(prefix="normquiz-stderr-")
        hidden = isolation.hidden_paths(*self.settings.hidden, module.resolve().parent)
        config = {
            "name": Path(module_name).stem, "folder": self._tmpdir,
            "memory_mb": self.settings.memory_mb,
            "cpu_seconds": self.settings.cpu_seconds,
            "require_isolation": self.settings.require_isolation,
            "readable": isolation.plan(hidden),
            "blocked": [str(b) for b in [*self.blocked, *self.settings.hidden]],
            "req_fd": req_r, "resp_fd": resp_w,
        }
        env = worker_env()
        env.update(TMPDIR=self._tmpdir, HOME=self._tmpdir)
        spawn = self.settings.spawn or subprocess.Popen
        self._proc = spawn(
            [sys.executable, "-I", "-B", "-m", "normquiz.sandbox.worker", json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            pass_fds=(req_r, resp_w), cwd=self._tmpdir, env=env, start_new_session=True,
        )
        os.close(req_r)
        os.close(resp_w)
        self._req = os.fdopen(req_w, "wb")
        self._resp_fd = resp_r
        self._buffer = bytearray()
        self._ready = None

    def stop(self) -> None:
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._proc = None
        for closer in (lambda: self._req.close(), lambda: os.close(self._resp_fd)):
            try:
                closer()
            except (OSError, AttributeError):
                pass
        self._req, self._resp_fd, self._ready = None, -1, None
        if self._stderr is not None:
            size = self._stderr.seek(0, os.SEEK_END)  # learner code may have filled it
            self._stderr.seek(max(0, size - 1000))
            self._stderr_tail = self._stderr.read(1000).decode(errors="replace")
            self._stderr.close()
            self._stderr = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read_message(self, deadline: float) -> dict:
        """One reply, read and parsed before `deadline`, within the size and element bounds."""
        from normquiz.sandbox import codec  # numpy: imported after the worker has started

        start = 0
        while (end := self._buffer.find(b"\n", start)) < 0:
            start = len(self._buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise LearnerTimeout("timed out")
            ready, _, _ = select.select([self._resp_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._resp_fd, 1 << 20)
            if not chunk:
                raise self._crashed()
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE:
                self.stop()
                raise LearnerCrash("your function returned a value too large to grade")
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        if count_elements(line) > MAX_ELEMENTS:
            self.stop()
            raise LearnerCrash("your function returned a value with too many elements to "
                               "grade (return a numpy array)")
        try:
            message = codec.loads(line)
        except codec.DecodeError as e:
            self.stop()
            raise LearnerCrash(f"the grading process received a garbled reply ({e})") from None
        if time.monotonic() > deadline:
            self.stop()
            raise LearnerTimeout("timed out")
        return message

    def _crashed(self) -> LearnerCrash:
        code = self._proc.wait() if self._proc else None
        self.stop()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            return LearnerCrash(f"your code crashed the Python process (signal {name})")
        return LearnerCrash(
            f"your code ended the Python process (exit code {code}), e.g. with sys.exit() "
            "or os._exit(); a graded function must return its result"
        )

    def _wait_ready(self, deadline: float) -> None:
        if self._ready is not None:
            return
        if self._import_error is not None:
            # The module does not change while it is graded: fail fast, do not re-import.
            raise self._import_error
        self.start()
        try:
            hello = self._read_message(deadline)
        except LearnerCrash:
            raise RuntimeError(
                f"the normquiz grading worker failed to start: {self._stderr_tail}") from None
        if "hello" not in hello:
            self.stop()
            raise LearnerCrash("the grading process received a reply it did not ask for")
        report = hello.get("isolation")
        self.isolation = report if isinstance(report, dict) else None
        if "refused" in hello:
            from normquiz.sandbox.isolation import missing

            self.stop()
            raise IsolationMissing(missing_layers_message(missing(self.isolation),
                                                          self.isolation))
        try:
            message = self._read_message(deadline)
        except LearnerTimeout:
            # Top-level code that never finishes would stall every exercise in turn.
            self._import_error = LearnerTimeout(
                "importing your module did not finish: some code outside the functions "
                "runs forever (or for very long)")
            raise self._import_error from None
        if "import_error" in message:
            err = message["import_error"]
            self.stop()
            self._import_error = _error_from(err, self.where, importing=True)
            raise self._import_error
        self._ready = message

    def call(self, func: str, args: tuple | list, kwargs: dict, timeout: float) -> CallResult:
        """Call `func(*args, **kwargs)` in the worker; raise a LearnerFailure if it fails."""
        from normquiz.sandbox import codec
        deadline = time.monotonic() + timeout
        self._wait_ready(deadline)
        self._next_id += 1
        request = {"id": self._next_id, "func": func,
                   "args": codec.encode(list(args)), "kwargs": codec.encode(dict(kwargs))}
        try:
            self._req.write(codec.dumps(request))
            self._req.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        message = self._read_message(deadline)
        if message.get("id") != self._next_id:
            self.stop()
            raise LearnerCrash("the grading process received a reply it did not ask for")
        if "error" in message:
            raise _error_from(message["error"], self.where)
        try:
            value = codec.decode(message.get("value"))
            after = codec.decode(message.get("args_after"))
            args_after, kwargs_after = after
        except (codec.DecodeError, TypeError, ValueError) as e:
            self.stop()
            raise LearnerCrash(f"the grading process received a garbled reply ({e})") from None
        output = message.get("output")
        return CallResult(value, list(args_after), dict(kwargs_after),
                          printable(output[:2000]) if isinstance(output, str) else "")


# Control characters (but newline and tab) and the bidirectional overrides: text from
# learner code must not move a terminal's cursor, recolor or reorder a report.
_UNPRINTABLE = {c: None for c in [*range(0, 9), *range(11, 32), 127, *range(0x80, 0xA0),
                                  *range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def printable(text: str) -> str:
    """Text from learner code as it may appear in a report: no escape sequences."""
    return text.translate(_UNPRINTABLE)


def _learner_traceback(err: dict, place: Callable[[int], str], exception: str) -> str:
    """The worker's frames of the learner's code, each line named by `place`."""
    lines = []
    frames = err.get("frames")
    for frame in frames[-5:] if isinstance(frames, list) else []:
        if not (isinstance(frame, list) and len(frame) == 3 and type(frame[0]) is int):
            continue  # a garbled frame is left out, not trusted
        lines.append(f"  {place(frame[0])}, in {printable(str(frame[1])[:80])}")
        if frame[2]:
            lines.append(f"    {printable(str(frame[2])[:200])}")
    return "\n".join([*lines, exception])


def _error_from(err: Any, place: Callable[[int], str],
                importing: bool = False) -> LearnerFailure:
    if not isinstance(err, dict):
        return LearnerCrash("the grading process received a garbled reply")
    type_name = printable(str(err.get("type", "Exception"))[:80])
    message = printable(str(err.get("message", ""))[:2000])
    tb = _learner_traceback(err, place, f"{type_name}: {message}")
    line = err.get("line") if type(err.get("line")) is int else None
    if type_name == "NotImplementedError" and not importing:
        return NotImplementedYet(type_name, message, tb, line)
    return LearnerError(type_name, message, tb, line)


def missing_layers_message(missing: list[str], report: dict[str, Any] | None) -> str:
    """Why grading that others rely on refuses to run: each missing layer and its reason."""
    reasons = "; ".join(f"{name}: {((report or {}).get(name) or {}).get('detail', 'unknown')}"
                        for name in missing)
    return (f"learner code cannot be fully isolated here ({reasons}). Grades made without "
            "every layer can be forged by the learner's code. Run 'normquiz doctor' to see "
            f"each layer; to grade anyway, pass --unsandboxed or set {UNSANDBOXED_ENV}=1.")


def probe_isolation() -> dict[str, Any] | None:
    """Start a worker on an empty module and return the isolation layers it applied."""
    with tempfile.TemporaryDirectory(prefix="normquiz-probe-") as folder:
        module = Path(folder, "probe.py")
        module.write_text("def probe():\n    return 1\n")
        with Sandbox(module) as box:
            box.call("probe", [], {}, timeout=30)
            return box.isolation
