"""The operating system's walls around learner code, applied in the worker before it runs.

Four layers, in this order:

1. **rlimits**: address space, file size, open files, no core dumps, CPU
   time, and the number of processes of the worker's user.
2. **user**: a worker started as root drops to an unprivileged user (nobody)
   and group, with no supplementary groups.
3. **landlock** (Linux 5.13+): read-only access to the Python installation
   (minus any folder that holds something hidden, such as normquiz's own
   content), read and write access to the worker's own folder, nothing else;
   no TCP bind or connect (ABI 4); signals and abstract Unix sockets scoped
   to the worker (ABI 6). Landlock also forbids ptrace of any process
   outside the worker.
4. **seccomp**: a filter (normquiz.sandbox.seccomp) with no_new_privs.

Each layer is tried on its own; `apply` returns what is in force and, for
each missing layer, why. The worker sends that report before any learner
code is loaded, so the grading process knows what held. The plan (which
folders are readable) is computed once in the grading process by `plan`.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path
from typing import Any

LAYERS = ("rlimits", "user", "landlock", "seccomp")
SANDBOX_USER = "nobody"
FILE_SIZE = 50 * 2**20
OPEN_FILES = 64
EXTRA_TASKS = 8  # threads the learner's code may start, over what its user already runs
# Imported before the user drop when the sandbox user cannot read the Python
# installation (a Python under /root): what learner code commonly imports.
PRELOAD = ("math", "cmath", "random", "statistics", "itertools", "functools", "collections",
           "operator", "dataclasses", "typing", "copy", "warnings", "numpy.random",
           "numpy.linalg", "numpy.fft")


# ---------------------------------------------------------------- the plan (grading process)


def _python_roots() -> list[Path]:
    """Folders that hold the Python installation and the importable packages."""
    paths = sysconfig.get_paths()
    roots = [paths["stdlib"], paths["platstdlib"], paths["purelib"], paths["platlib"]]
    try:
        roots += site.getsitepackages()
    except AttributeError:  # some embedded Pythons
        pass
    # Other import paths only when they belong to the installation: sys.path[0] may be the
    # folder grading was started from, which can hold anything.
    prefixes = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    roots += [p for p in sys.path[1:] if p and Path(p).is_dir() and (
        Path(p).name in ("site-packages", "dist-packages")
        or any(_inside(Path(p).resolve(), prefix) for prefix in prefixes))]
    found: list[Path] = []
    for r in roots:
        p = Path(r).resolve()
        if p.is_dir() and p not in found:
            found.append(p)
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def readable_folders(hidden: list[Path]) -> list[str]:
    """The Python installation, as folders that contain nothing in `hidden`.

    A folder that holds a hidden one is opened up entry by entry instead, so
    that site-packages stays readable while site-packages/normquiz does not.
    """
    hidden = [h.resolve() for h in hidden]
    out: list[str] = []

    def visit(folder: Path, depth: int) -> None:
        if any(_inside(folder, h) for h in hidden):
            return
        if not any(_inside(h, folder) for h in hidden):
            out.append(str(folder))
            return
        if depth > 8:
            return
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                continue  # the link's target is reached through its own root, if at all
            if entry.is_dir():
                visit(entry, depth + 1)
            elif entry.is_file():
                out.append(str(entry))

    for root in _python_roots():
        if not any(_inside(root, Path(o)) for o in out):
            visit(root, 0)
    return out


_plans: dict[tuple[str, ...], list[str]] = {}
_roots: list[Path] = []


def plan(hidden: list[Path]) -> list[str]:
    """readable_folders, computed once per grading process for the same hidden set.

    Only hidden folders that meet the installation matter (a learner's folder
    seldom does), so a batch computes it once, not once per learner.
    """
    if not _roots:
        _roots.extend(_python_roots())
    relevant = [h for h in (Path(p).resolve() for p in hidden)
                if any(_inside(h, r) or _inside(r, h) for r in _roots)]
    key = tuple(sorted(map(str, relevant)))
    if key not in _plans:
        _plans[key] = readable_folders(relevant)
    return _plans[key]


def hidden_paths(*extra: Path) -> list[Path]:
    """What learner code must never read: normquiz itself (its content included) and `extra`."""
    package = Path(__file__).resolve().parents[1]
    hidden = [package, *extra]
    if (package.parent / "solutions").is_dir():  # a source checkout: its content sits beside
        hidden.append(package.parent)
    return hidden


# ---------------------------------------------------------------- the layers (worker)


def _tasks_of(uid: int) -> int:
    """Processes and threads the user runs now: RLIMIT_NPROC counts them all."""
    count = 0
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0
    for name in names:
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += max(1, os.stat(f"/proc/{name}/task").st_nlink - 2)
            except OSError:
                continue
    return count


def _set_rlimits(memory_mb: int, cpu_seconds: int, uid: int) -> str:
    import resource  # POSIX only

    with open("/proc/self/statm") as f:  # what the interpreter and numpy already mapped
        used = int(f.read().split()[0]) * resource.getpagesize()
    limits = {
        resource.RLIMIT_AS: used + memory_mb * 2**20,
        resource.RLIMIT_FSIZE: FILE_SIZE,
        resource.RLIMIT_NOFILE: OPEN_FILES,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_NPROC: _tasks_of(uid) + EXTRA_TASKS,
    }
    for which, value in limits.items():
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
    return (f"memory {memory_mb} MiB, files {FILE_SIZE // 2**20} MiB and {OPEN_FILES} open, "
            f"CPU {cpu_seconds} s, {EXTRA_TASKS} more tasks than its user runs, no core dumps")


def sandbox_ids() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(SANDBOX_USER)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def installation_unreadable(uid: int) -> bool:
    """True when `uid` (not the files' owner) cannot walk down to the standard library."""
    path = Path(sysconfig.get_paths()["stdlib"]).resolve()
    for folder in [path, *path.parents]:
        try:
            st = folder.stat()
        except OSError:
            return True
        if st.st_uid != uid and not st.st_mode & 0o001:
            return True
    return False


def _drop_user(uid: int, gid: int, folder: str) -> str:
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.chown(name, uid, gid, follow_symlinks=False)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
        raise OSError("the user could not be changed")
    return f"uid {uid}, gid {gid} ({SANDBOX_USER}), no groups"


def _landlock(readable: list[str], folder: str) -> str:
    import landlockpy  # imported by apply(), before the user drop
    from landlockpy import AccessFS, AccessNet, Ruleset, Scope

    abi = landlockpy.abi_version()
    fs = landlockpy.fs_for_abi(abi)
    read = AccessFS.READ_FILE | AccessFS.READ_DIR
    own = fs & ~(AccessFS.EXECUTE | AccessFS.MAKE_CHAR | AccessFS.MAKE_BLOCK | AccessFS.MAKE_FIFO
                 | AccessFS.MAKE_SOCK | getattr(AccessFS, "IOCTL_DEV", AccessFS.NONE))
    with Ruleset(handled_fs=fs, handled_net=landlockpy.net_for_abi(abi) & (
            AccessNet.BIND_TCP | AccessNet.CONNECT_TCP),
            scoped=landlockpy.scope_for_abi(abi) & (Scope.SIGNAL | Scope.ABSTRACT_UNIX_SOCKET),
            ) as rules:
        for path in readable:
            try:
                rules.allow_path(path, read if os.path.isdir(path) else AccessFS.READ_FILE)
            except OSError:
                continue  # gone since the plan was made
        rules.allow_path(folder, own)
        rules.allow_path(os.devnull, AccessFS.READ_FILE | AccessFS.WRITE_FILE)
        rules.allow_path("/dev/urandom", AccessFS.READ_FILE)
        rules.restrict()
        parts = ["files: the Python installation read-only, its own folder"]
        if rules.handled_net:
            parts.append("no TCP")
        if rules.scoped:
            parts.append("signals and abstract sockets scoped")
    return f"ABI {abi}: " + "; ".join(parts)


def _seccomp() -> str:
    from normquiz.sandbox import seccomp

    return seccomp.apply_filter()


def apply(config: dict[str, Any]) -> dict[str, Any]:
    """Apply every layer that can be applied here; return {layer: {in_force, detail}}."""
    report: dict[str, Any] = {}

    def layer(name: str, action: Any) -> None:
        try:
            report[name] = {"in_force": True, "detail": action()}
        except Exception as e:  # noqa: BLE001 - any failure means this layer is missing
            report[name] = {"in_force": False, "detail": _why(name, e)}

    if not sys.platform.startswith("linux"):
        for name in LAYERS:
            report[name] = {"in_force": False, "detail": f"not available on {sys.platform}"}
        return report
    root = os.geteuid() == 0
    uid, gid = sandbox_ids() if root else (os.getuid(), os.getgid())
    # Everything the layers need is loaded while the installation can still be read.
    import importlib

    for name in ("landlockpy", "normquiz.sandbox.seccomp"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the layer reports it
    if "normquiz.sandbox.seccomp" in sys.modules:
        sys.modules["normquiz.sandbox.seccomp"].preload()
    if root and installation_unreadable(uid):
        for name in PRELOAD:  # before the memory limit is measured, and the user dropped
            importlib.import_module(name)
    layer("rlimits", lambda: _set_rlimits(config["memory_mb"], config["cpu_seconds"], uid))
    if root:
        layer("user", lambda: _drop_user(uid, gid, config["folder"]))
    else:
        report["user"] = {"in_force": True, "detail": f"not root: runs as uid {os.getuid()}"}
    _die_with_parent()  # (again: changing the user clears it)
    layer("landlock", lambda: _landlock(config["readable"], config["folder"]))
    layer("seccomp", _seccomp)
    return report


def _die_with_parent() -> None:
    """SIGKILL this worker when the process that started it ends, however it ends."""
    import ctypes
    import signal

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the call: so must we
        os._exit(1)


def _why(layer: str, error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    if layer == "landlock" and type(error).__name__ in ("UnsupportedError", "ImportError",
                                                         "ModuleNotFoundError"):
        return f"Landlock is not available (kernel 5.13+ with Landlock enabled): {text}"
    return text


def missing(report: dict[str, Any] | None) -> list[str]:
    """The layers of a worker's report that are not in force (all, without a report)."""
    if not report:
        return list(LAYERS)
    return [n for n in LAYERS if not (report.get(n) or {}).get("in_force")]
