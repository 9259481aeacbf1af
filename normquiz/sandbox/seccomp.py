"""The worker's seccomp filter, built with the system's libseccomp through ctypes.

libseccomp (the library behind Docker's, systemd's and Chromium's filters)
resolves syscall names for the running architecture and rejects syscalls of
other ABIs (32-bit and x32 calls on x86_64), which a hand-written deny-list
easily gets wrong. Only its stable C API is used: init, rule_add_array,
attr_set, load, release.

The filter allows everything but what learner code must never do: start a
process or run a program, make a socket, trace or read another process,
signal anyone but itself, or reach kernel interfaces that sandboxes are
escaped through. Threads stay allowed (clone with CLONE_THREAD).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE = 1
SCMP_CMP_EQ = 4
SCMP_CMP_MASKED_EQ = 7
SCMP_FLTATR_CTL_TSYNC = 4  # apply to every thread of the process
CLONE_THREAD = 0x00010000


def scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp."""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


# Denied outright (EPERM): new processes and programs, sockets, other processes'
# memory, and the kernel interfaces sandbox escapes go through.
DENIED = (
    "fork", "vfork", "execve", "execveat",
    "socket", "socketpair",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "tkill",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "keyctl", "add_key", "request_key",
    "open_by_handle_at", "name_to_handle_at",
    "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree",
    # System V IPC and POSIX message queues outlive a process and are shared by every
    # worker of the same user: a channel between learners of one class.
    "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink",
)
F_SETOWN, F_SETOWN_EX = 8, 15  # fcntl: would send SIGIO/SIGURG to another process


_lib: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so",
                          use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    _lib = lib
    return lib


def preload() -> None:
    """Load libseccomp now (while the installation can be read); errors are reported later."""
    try:
        _library()
    except OSError:
        pass


class SeccompError(OSError):
    """The filter could not be built or loaded."""


def apply_filter() -> str:
    """Load the worker's filter on this process (all its threads); return what it denies."""
    try:
        lib = _library()
    except OSError as e:
        raise SeccompError(f"libseccomp is not installed ({e})") from None
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise SeccompError("seccomp_init failed")
    pid = os.getpid()
    eperm = scmp_act_errno(errno.EPERM)

    def rule(action: int, name: str, *cmps: tuple[int, int, int, int]) -> None:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return  # not a syscall on this architecture (fork on aarch64): nothing to deny
        array = (_ArgCmp * max(1, len(cmps)))(*[_ArgCmp(*c) for c in cmps])
        rc = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array)
        if rc < 0:
            raise SeccompError(f"cannot add the rule for {name}: {os.strerror(-rc)}")

    try:
        if lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0:
            raise SeccompError("cannot apply the filter to every thread")
        for name in DENIED:
            rule(eperm, name)
        # clone: threads only. clone3's flags sit in a struct the filter cannot read:
        # ENOSYS makes the C library fall back to clone, which the rule above checks.
        rule(eperm, "clone", (0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0))
        rule(scmp_act_errno(errno.ENOSYS), "clone3")
        # Signals: to this process only.
        for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
            rule(eperm, name, (0, SCMP_CMP_NE, pid, 0))
        for command in (F_SETOWN, F_SETOWN_EX):
            rule(eperm, "fcntl", (1, SCMP_CMP_EQ, command, 0))
        rc = lib.seccomp_load(ctx)
        if rc < 0:
            raise SeccompError(f"the kernel refused the filter: {os.strerror(-rc)}")
    finally:
        lib.seccomp_release(ctx)
    return "no processes, programs, sockets, ptrace, shared IPC or signals to others"
