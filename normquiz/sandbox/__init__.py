"""The untrusted-code boundary: everything that runs or talks to learner code.

- runner: `Sandbox`, the grading process's side: starts a worker on a private
  copy of the learner's module and calls its functions.
- worker: the learner's process; applies the isolation layers, then imports
  the module and answers calls.
- isolation and seccomp: the operating system's layers (rlimits, an
  unprivileged user, Landlock, a seccomp filter), and the report of which hold.
- codec: plain data across the boundary, as JSON, never pickle.
- forkserver: a warm process that forks workers for batch grading.

Settings are passed in (`SandboxSettings`); nothing here is configured by
overwriting a module global from outside.
"""

from normquiz.sandbox.runner import (
    DEFAULT_TIMEOUT,
    UNSANDBOXED_ENV,
    CallResult,
    IsolationMissing,
    LearnerCrash,
    LearnerError,
    LearnerFailure,
    LearnerTimeout,
    NotImplementedYet,
    Sandbox,
    SandboxSettings,
    missing_layers_message,
    unsandboxed_allowed,
)

__all__ = ["DEFAULT_TIMEOUT", "UNSANDBOXED_ENV", "CallResult", "IsolationMissing",
           "LearnerCrash", "LearnerError", "LearnerFailure", "LearnerTimeout",
           "NotImplementedYet", "Sandbox", "SandboxSettings", "missing_layers_message",
           "unsandboxed_allowed"]
