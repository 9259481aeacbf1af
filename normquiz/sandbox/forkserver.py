"""A warm process that forks learner workers, so numpy is imported once, not per learner.

A fresh `python -I -m normquiz.sandbox.worker` spends about 0.1 s of CPU starting
the interpreter and importing numpy before it runs a line of learner code:
as much as all the grading of a correct workspace. In batch grading each pool
process therefore keeps one fork server: a process started exactly like a
worker (`python -I`, the worker's environment) that imports numpy and
normquiz.sandbox.worker once, then forks one child per sandbox. The child becomes
what a fresh worker would be: its own session and temporary folder, stdin
and stdout on /dev/null, stderr to the sandbox's file, only the two pipes
open, the sandbox's environment, and then `normquiz.sandbox.worker.main()`, which
applies every isolation layer in the child as always.

The fork server never loads content (reference solutions, graders, mistake
modules), so a child holds nothing in memory that a fresh worker would not.
If the fork server cannot be used, the worker is started the ordinary way.
`normquiz grade` keeps the ordinary way: one worker per run does not pay for
a fork server.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from typing import Any, NoReturn

from normquiz.sandbox import runner

_HEADER = struct.Struct("!I")


# ---------------------------------------------------------------- messages


def _send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [payload], fds)  # the fds travel with the first bytes
        payload = payload[sent:]
    if payload:
        sock.sendall(payload)


def _recv(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and the fds sent with it; (None, []) when the other side has gone."""
    data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
    end = None
    while data:
        if end is None and len(data) >= _HEADER.size:
            end = _HEADER.size + _HEADER.unpack_from(data)[0]
        if end is not None and len(data) >= end:
            return json.loads(data[_HEADER.size:end]), fds
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    for fd in fds:
        os.close(fd)
    return None, []


# ---------------------------------------------------------------- the server process


def _close_fds_except(keep: set[int]) -> None:
    """Close every inherited fd but `keep`, as Popen's close_fds does for a new process."""
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: try the usual range
        open_fds = list(range(3, 4096))
    for fd in open_fds:
        if fd >= 3 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # e.g. the fd listdir used, already closed


def _die_with_parent() -> None:
    """On Linux, SIGKILL this process when the fork server ends.

    The server ends when its grading process does, however that ends (even
    killed outright); a learner's endless loop must not outlive both.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
        if os.getppid() == 1:  # the server was already gone
            os._exit(1)
    except (OSError, AttributeError):
        pass  # best effort: Sandbox.stop() kills the worker in every ordinary case


def _child(sock: socket.socket, message: dict[str, Any], fds: list[int],
           in_session: int) -> NoReturn:
    """Become a sandbox worker, as `python -I -m normquiz.sandbox.worker CONFIG` would be.

    `in_session` is closed once this process leads its own session (see serve).
    """
    code = 1
    try:
        sock.close()
        req_fd, resp_fd, err_fd = fds
        os.setsid()
        os.close(in_session)
        _die_with_parent()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err_fd, 2)
        _close_fds_except({0, 1, 2, req_fd, resp_fd})
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        config = json.loads(message["config"])
        config["req_fd"], config["resp_fd"] = req_fd, resp_fd  # their numbers in this process
        import numpy as np

        from normquiz.sandbox import worker as _worker

        sys.argv = [_worker.__file__, json.dumps(config)]
        if "numpy.random" in sys.modules:  # not loaded by the server (numpy loads it lazily),
            np.random.seed()  # but if it were, forks would share its state: reseed from the OS
        np.seterr(all="ignore")  # as _worker's __main__ does
        _worker.main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: B036 - whatever happens, this process must not return
        try:
            import traceback

            traceback.print_exc()
        except BaseException:  # noqa: B036, S110 - stderr may be gone; exit regardless
            pass
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(sock: socket.socket) -> None:
    """Answer `spawn` (fork a worker, reply its pid) and `wait` (its exit code) requests."""
    import ctypes  # noqa: F401 - for _die_with_parent, loaded once here
    import gc

    import numpy  # noqa: F401 - loaded once here, shared by every child

    from normquiz.sandbox import isolation, seccomp, worker  # noqa: F401

    try:
        import landlockpy  # noqa: F401 - loaded once here too
    except ImportError:
        pass
    seccomp.preload()
    if os.geteuid() == 0 and isolation.installation_unreadable(isolation.sandbox_ids()[0]):
        import importlib

        for name in isolation.PRELOAD:  # what each child would import before its user drop
            importlib.import_module(name)

    gc.freeze()  # children then share these objects' pages instead of copying them
    while True:
        try:
            message, fds = _recv(sock)
        except (OSError, ValueError):
            return
        if message is None:
            return  # the grading process has gone: so does its fork server
        if message.get("op") == "spawn":
            # The pid is sent once the child leads its own session: Sandbox.stop() kills
            # the worker by its process group, which a child not yet past setsid() lacks,
            # so a stop right after a start would miss it and wait for it forever.
            in_session_r, in_session_w = os.pipe()
            try:
                pid = os.fork()
            except OSError as e:
                reply: dict[str, Any] = {"error": str(e)}
            else:
                if pid == 0:
                    os.close(in_session_r)
                    _child(sock, message, fds, in_session_w)
                reply = {"pid": pid}
                os.close(in_session_w)
                in_session_w = -1
                os.read(in_session_r, 1)  # end of file: setsid() done, or the child died
            finally:
                for fd in (in_session_r, in_session_w):
                    if fd >= 0:
                        os.close(fd)
            for fd in fds:
                os.close(fd)
        elif message.get("op") == "wait":
            try:
                _, status = os.waitpid(int(message["pid"]), 0)
                reply = {"returncode": os.waitstatus_to_exitcode(status)}
            except ChildProcessError:
                reply = {"returncode": None}
        else:
            reply = {"error": f"unknown request {message.get('op')!r}"}
        _send(sock, reply)


# ---------------------------------------------------------------- the grading process's side


class _Forked:
    """What Sandbox uses of a Popen: the pid, and wait() for the exit code."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._server = server

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._server.wait(self.pid)
        return self.returncode


class ForkServer:
    """One fork server process, used through `spawn`, which has Popen's signature."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._flags: list[str] = []

    def start(self, env: dict[str, str] | None = None, flags: list[str] | None = None) -> None:
        """Start the server with the worker's interpreter flags (-I, -B, ...), if not running."""
        flags = ["-I", "-B"] if flags is None else flags
        if self._proc is not None and self._proc.poll() is None and flags == self._flags:
            return
        self.stop()
        ours, theirs = socket.socketpair()
        self._flags = flags
        self._proc = subprocess.Popen(
            [sys.executable, *flags, "-m", "normquiz.sandbox.forkserver", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env if env is not None else runner.worker_env(),
            start_new_session=True)
        theirs.close()
        self._sock = ours

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()  # the server sees end-of-file and exits
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def wait(self, pid: int) -> int:
        try:
            assert self._sock is not None
            _send(self._sock, {"op": "wait", "pid": pid})
            reply, _ = _recv(self._sock)
        except (OSError, ValueError, AssertionError):
            reply = None
        code = reply.get("returncode") if reply else None
        # Unknown only if the fork server died; the child was then reaped by init.
        return code if isinstance(code, int) else 1

    def spawn(self, args: list[str], **kwargs: Any) -> Any:
        """Start a worker like subprocess.Popen(args, **kwargs) would, by forking if it can."""
        pass_fds = kwargs.get("pass_fds", ())
        stderr = kwargs.get("stderr")
        # [python, *flags, "-m", "normquiz.sandbox.worker", config]: the child gets the same flags.
        flags = list(args[1:-3])
        forkable = (len(args) >= 4 and args[0] == sys.executable
                    and list(args[-3:-1]) == ["-m", "normquiz.sandbox.worker"]
                    and all(f.startswith("-") and f != "-c" for f in flags)
                    and len(pass_fds) == 2
                    and kwargs.get("start_new_session") and hasattr(stderr, "fileno")
                    and kwargs.get("stdin") == subprocess.DEVNULL
                    and kwargs.get("stdout") == subprocess.DEVNULL)
        if forkable:
            try:
                self.start(kwargs.get("env"), flags)
                assert self._sock is not None and stderr is not None
                _send(self._sock, {"op": "spawn", "config": args[-1], "cwd": kwargs["cwd"],
                                   "env": kwargs.get("env") or dict(os.environ)},
                      [pass_fds[0], pass_fds[1], stderr.fileno()])
                reply, _ = _recv(self._sock)
                if reply and isinstance(reply.get("pid"), int):
                    return _Forked(self, reply["pid"])
            except Exception:  # noqa: BLE001 - any trouble: the ordinary way below
                pass
            self.stop()  # broken: start afresh next time, and use Popen this time
        return subprocess.Popen(args, **kwargs)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
