"""The learner's process: imports their module and answers call requests.

Started by normquiz.sandbox.runner as `python -I -B -m normquiz.sandbox.worker
CONFIG` (or forked from normquiz.sandbox.forkserver). Before a line of learner
code runs, it applies the operating system's isolation layers
(normquiz.sandbox.isolation) and reports which are in force. Nothing it
sends afterwards is trusted: the grading process validates every value and
decides every verdict.

The audit hook installed last is not a wall (code in this process can undo
it): it only turns an ordinary slip, such as opening the reference solution
or writing outside the current folder, into a plain message.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
import types
from pathlib import Path

import numpy as np

from normquiz.sandbox import codec, isolation

OUTPUT_LIMIT = 2000
BLOCKED_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                  "os.forkpty", "subprocess.Popen", "ctypes.", "os.kill", "os.killpg",
                  "socket.", "signal.pidfd_send_signal")
# Events that change the file system: allowed only inside the worker's own folder.
FILE_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
               "os.truncate", "os.link", "os.symlink", "os.utime", "shutil.")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _install_audit_hook(blocked: list[str], writable: str) -> None:
    """Friendly messages for reading the solutions or graders, writing outside the
    worker's own folder, and starting or signalling processes."""

    def folders(paths: list[str]) -> tuple[str, ...]:
        return tuple(os.path.join(os.path.realpath(p), "") for p in paths)

    no_read, may_write = folders(blocked), folders([writable])

    def paths(args: tuple) -> list[str]:
        return [os.path.join(os.path.realpath(os.fsdecode(a)), "") for a in args
                if isinstance(a, (str, bytes, os.PathLike))]

    def hook(event: str, args: tuple) -> None:
        if event == "open" and args:
            for path in paths(args[:1]):
                if path.startswith(no_read):
                    raise PermissionError(f"normquiz: reading {path[:-1]} is not allowed "
                                          "while grading")
                mode, flags = (args + (None, None))[1:3]
                writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & WRITE_FLAGS)
                if writes and not path.startswith(may_write):
                    raise PermissionError(f"normquiz: writing {path[:-1]} is not allowed while "
                                          "grading (write in the current folder instead)")
        elif event.startswith(FILE_EVENTS):
            outside = [p for p in paths(args) if not p.startswith(may_write)]
            if outside:
                raise PermissionError(f"normquiz: '{event}' on {outside[0][:-1]} is not "
                                      "allowed while grading")
        elif event.startswith(BLOCKED_EVENTS):
            raise PermissionError(f"normquiz: '{event}' is not allowed while grading")

    sys.addaudithook(hook)


def _learner_frames(exc: BaseException, module_file: str) -> list[list]:
    """The learner's last frames, [line, function, source line]: what they can act on.

    The grading process words them, naming the cell or file each line is in.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == module_file]
    return [[f.lineno, f.name, (f.line or "").strip()[:200]] for f in frames[-5:]]


def _error(exc: BaseException, module_file: str) -> dict:
    line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__))
                 if f.filename == module_file), None)
    if isinstance(exc, SyntaxError) and exc.filename == module_file:
        line = exc.lineno
    return {"type": type(exc).__name__, "message": str(exc)[:OUTPUT_LIMIT], "line": line,
            "frames": _learner_frames(exc, module_file)}


def main() -> None:
    config = json.loads(sys.argv[1])
    req = os.fdopen(config["req_fd"], "rb")
    resp_fd = config["resp_fd"]

    def send(message: dict) -> None:
        data = codec.dumps(message)
        while data:
            data = data[os.write(resp_fd, data):]

    module_file = os.path.join(config["folder"], config["name"] + ".py")
    with open(module_file, "rb") as f:  # read before the walls go up, compiled after
        source = f.read()
    report = isolation.apply(config)
    missing = isolation.missing(report)
    if config.get("require_isolation") and missing:
        send({"hello": True, "isolation": report, "refused": missing})
        return
    _install_audit_hook(config["blocked"], config["folder"])
    send({"hello": True, "isolation": report})  # what follows is the learner's code
    sys.path.insert(0, config["folder"])
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            # Compiled from the source every time: cached bytecode is keyed on the file's
            # size and whole-second mtime, so a quick edit could be graded stale.
            module = types.ModuleType(config["name"])
            module.__file__ = module_file
            sys.modules[config["name"]] = module
            code = compile(source, module_file, "exec", dont_inherit=True)
            exec(code, module.__dict__)
    except BaseException as e:  # noqa: B036 - SystemExit and KeyboardInterrupt are learner errors too
        send({"import_error": _error(e, module_file)})
        return
    send({"ready": sorted(k for k, v in vars(module).items() if callable(v))[:1000]})

    for line in req:
        request = json.loads(line)
        reply: dict = {"id": request["id"]}
        captured = io.StringIO()
        try:
            func = getattr(module, request["func"], None)
            if not callable(func):
                raise AttributeError(f"{Path(module_file).name} has no function {request['func']}")
            args = codec.decode(request["args"])
            kwargs = codec.decode(request["kwargs"])
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                value = func(*args, **kwargs)
            reply["value"] = codec.encode(value)
            reply["args_after"] = codec.encode([args, kwargs])
        except BaseException as e:  # noqa: B036 - report everything the learner's code raises
            reply["error"] = _error(e, module_file)
        reply["output"] = captured.getvalue()[:OUTPUT_LIMIT]
        try:
            send(reply)
        except BaseException as e:  # noqa: B036 - e.g. MemoryError while encoding a huge value
            send({"id": request["id"], "error": _error(e, module_file), "output": ""})


if __name__ == "__main__":
    np.seterr(all="ignore")  # the learner's NaNs are graded, not warned about
    main()
