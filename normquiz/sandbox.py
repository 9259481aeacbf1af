"""Run a learner's module in a separate process and call its functions.

Only plain data crosses back (normquiz.codec). A crash, an exit, a timeout or
a memory blow-up ends the worker; the next call starts a fresh one, so one
exercise's failure never spills into another's.
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

DEFAULT_TIMEOUT = 10.0  # seconds per exercise
DEFAULT_MEMORY_MB = 1024
MAX_MESSAGE = 256 * 2**20

# Starts a worker process; takes subprocess.Popen's arguments and returns an object with
# .pid and .wait(). Batch grading swaps in normquiz.forkserver, which forks a warm process
# instead of starting a new interpreter (and numpy) for every learner.
spawn_worker: Callable[..., Any] = subprocess.Popen

# Batch grading sets this to the folder that holds every learner's work: a worker may
# then read, inside it, only its own learner's folder, so no learner can use another's.
shared_root: Path | None = None


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


@dataclass
class Sandbox:
    """A worker process for one learner module, restarted after any failure."""

    module_path: Path
    blocked: list[Path] = field(default_factory=list)
    memory_mb: int = DEFAULT_MEMORY_MB
    _proc: subprocess.Popen | None = None
    _req: Any = None
    _resp_fd: int = -1
    _buffer: bytes = b""
    _ready: dict | None = None
    _tmpdir: str | None = None
    _next_id: int = 0
    _import_error: LearnerFailure | None = None
    _stderr: Any = None
    _stderr_tail: str = ""

    def start(self) -> None:
        """Spawn the worker without waiting for it: it imports numpy while we work."""
        if self._proc is not None:
            return
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        self._tmpdir = tempfile.mkdtemp(prefix="normquiz-")
        self._stderr = open(os.path.join(self._tmpdir, ".stderr"), "w+b")  # noqa: SIM115
        module = Path(self.module_path).resolve()  # absolute: the worker runs elsewhere
        blocked, readable = list(self.blocked), [module.parent]
        if shared_root is not None:
            blocked.append(shared_root)
        config = {
            "module": str(module), "name": module.stem, "memory_mb": self.memory_mb,
            "blocked": [str(b) for b in blocked], "readable": [str(r) for r in readable],
            "writable": self._tmpdir, "req_fd": req_r, "resp_fd": resp_w,
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("NORMQUIZ")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   TMPDIR=self._tmpdir)
        self._proc = spawn_worker(
            [sys.executable, "-I", "-B", "-m", "normquiz._worker", json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            pass_fds=(req_r, resp_w), cwd=self._tmpdir, env=env, start_new_session=True,
        )
        os.close(req_r)
        os.close(resp_w)
        self._req = os.fdopen(req_w, "wb")
        self._resp_fd = resp_r
        self._buffer = b""
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
            self._stderr.seek(0)
            self._stderr_tail = self._stderr.read()[-1000:].decode(errors="replace")
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
        from normquiz import codec  # numpy: imported after the worker has been started
        while b"\n" not in self._buffer:
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
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return codec.loads(line)
        except codec.DecodeError as e:
            self.stop()
            raise LearnerCrash(f"the grading process received a garbled reply ({e})") from None

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
            self._import_error = _error_from(err, importing=True)
            raise self._import_error
        self._ready = message

    def call(self, func: str, args: tuple | list, kwargs: dict, timeout: float) -> CallResult:
        """Call `func(*args, **kwargs)` in the worker; raise a LearnerFailure if it fails."""
        from normquiz import codec
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
            raise _error_from(message["error"])
        try:
            value = codec.decode(message.get("value"))
            after = codec.decode(message.get("args_after"))
            args_after, kwargs_after = after
        except (codec.DecodeError, TypeError, ValueError) as e:
            self.stop()
            raise LearnerCrash(f"the grading process received a garbled reply ({e})") from None
        output = message.get("output")
        return CallResult(value, list(args_after), dict(kwargs_after),
                          output if isinstance(output, str) else "")


def _error_from(err: Any, importing: bool = False) -> LearnerFailure:
    if not isinstance(err, dict):
        return LearnerCrash("the grading process received a garbled reply")
    type_name = str(err.get("type", "Exception"))[:80]
    message = str(err.get("message", ""))[:2000]
    tb = str(err.get("traceback", ""))[:4000]
    line = err.get("line") if type(err.get("line")) is int else None
    if type_name == "NotImplementedError" and not importing:
        return NotImplementedYet(type_name, message, tb, line)
    return LearnerError(type_name, message, tb, line)
