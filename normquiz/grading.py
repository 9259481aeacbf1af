"""Grade code exercises: hidden pytest graders, run against the learner's module.

The learner's functions run in a sandboxed worker (normquiz.sandbox); the
graders, the reference solution and the mistake implementations run here, in
the grading process, which alone decides every verdict.
"""

from __future__ import annotations

import os
import secrets
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from normquiz.content import (
    ChoiceQuestion,
    CodeExercise,
    ContentError,
    NumericQuestion,
    Topic,
    display_path,
    load_reference,
)
from normquiz.diagnosis import Diagnosis, diagnose, diagnosis_lines
from normquiz.errors import WorkspaceError
from normquiz.report import CheckResult, ExerciseResult, Status, TopicResult
from normquiz.sandbox import (
    DEFAULT_TIMEOUT,
    CallResult,
    LearnerFailure,
    LearnerTimeout,
    NotImplementedYet,
    Sandbox,
    SandboxSettings,
)
from normquiz.text import Places, next_steps

GRADER_INI = Path(__file__).with_name("grader.ini")


class Submission:
    """The learner's module as graders see it: `call(name, *args, **kwargs)`.

    Each exercise has one time budget for all of its calls, started at its
    first call; once it has run out, every further call fails at once.
    """

    def __init__(self, sandbox: Sandbox, timeout: float) -> None:
        self.sandbox = sandbox
        self.timeout = timeout
        self.deadline: float | None = None

    def call(self, name: str, *args: Any, **kwargs: Any) -> CallResult:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.timeout
        if now >= self.deadline:
            raise LearnerTimeout("timed out")
        return self.sandbox.call(name, args, kwargs, self.deadline - now)


@dataclass
class _Outcome:
    checks: list[CheckResult] = field(default_factory=list)
    failures: list[BaseException | None] = field(default_factory=list)
    incomplete: str = ""  # why not every check ran
    seconds: float = 0.0  # pytest's setup, call and teardown time of its checks


def new_grader_seed() -> int:
    """A fresh grader seed: the random inputs of one grading run."""
    return secrets.randbits(32)


def grader_rng(grader_seed: int, exercise: str, check: str) -> Any:
    """The `rng` fixture of one check: its own stream, derived from the run's grader seed.

    The same grader seed gives every check the same inputs again (replay); another
    seed gives every check new ones, so no learner can know the inputs in advance.
    """
    import numpy as np

    return np.random.default_rng([grader_seed, zlib.crc32(f"{exercise}::{check}".encode())])


class _GraderPlugin:
    """Provides the `submission`, `reference` and `rng` fixtures and records each check."""

    def __init__(self, sandbox: Sandbox, reference: Any, timeout: float,
                 grader_seed: int = 0) -> None:
        self.sandbox = sandbox
        self._reference = reference
        self.timeout = timeout
        self.grader_seed = grader_seed
        self.submissions: dict[str, Submission] = {}
        self.outcomes: dict[str, _Outcome] = {}
        self.collect_errors: list[str] = []
        self.collected: dict[str, int] = {}
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        # Also called for pytest.exit(): only a real Ctrl-C stops the whole grading.
        self.interrupted = isinstance(excinfo.value, KeyboardInterrupt)

    @staticmethod
    def exercise_of(item: Any) -> str:
        return Path(str(item.path)).stem.removeprefix("test_")

    def pytest_configure(self, config: Any) -> None:
        config.addinivalue_line("markers", "points(n): the weight of a check (default 1)")

    def pytest_collection_finish(self, session: Any) -> None:
        # Learners never see pytest's tracebacks of failed checks, and building them
        # (source lines, an AST per frame) costs more than the checks themselves when
        # many fail. Set after collection, so a grader that fails to load keeps its trace.
        session.config.option.tbstyle = "no"
        for item in session.items:
            exercise = self.exercise_of(item)
            self.collected[exercise] = self.collected.get(exercise, 0) + 1

    def submission_for(self, exercise: str) -> Submission:
        if exercise not in self.submissions:
            self.submissions[exercise] = Submission(self.sandbox, self.timeout)
        return self.submissions[exercise]

    def fixtures(self) -> Any:
        """The `submission`, `reference` and `rng` fixtures, as a plugin object of their own.

        Built here rather than at import, so that pytest is imported only once the
        learner's worker has been started and is importing numpy in parallel.
        """
        import pytest

        plugin = self

        class Fixtures:
            @pytest.fixture
            def submission(self, request: Any) -> Submission:
                return plugin.submission_for(plugin.exercise_of(request.node))

            @pytest.fixture
            def reference(self) -> Any:
                return plugin._reference

            @pytest.fixture
            def rng(self, request: Any) -> Any:
                return grader_rng(plugin.grader_seed, plugin.exercise_of(request.node),
                                  request.node.name)

        return Fixtures()

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-1500:]}")

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        outcome = self.outcomes.setdefault(self.exercise_of(item), _Outcome())
        outcome.seconds += call.duration
        if call.when == "teardown" or (call.when == "setup" and call.excinfo is None):
            return
        marker = item.get_closest_marker("points")
        points = float(marker.args[0]) if marker else 1.0
        doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
        exc = call.excinfo.value if call.excinfo is not None else None
        message = ""
        if isinstance(exc, AssertionError):
            message = str(exc)
        elif isinstance(exc, LearnerFailure):
            message = exc.traceback
        elif exc is not None:
            import pytest

            if isinstance(exc, pytest.skip.Exception):
                message = "this check was skipped by the grader"
            else:
                message = f"the grader could not check your result ({type(exc).__name__}: {exc})"
        outcome.checks.append(CheckResult(doc, points, exc is None, message))
        outcome.failures.append(exc)


@contextmanager
def _clean_pytest_env() -> Any:
    """Graders run the same whatever the learner's environment says about pytest."""
    saved = {k: os.environ.get(k) for k in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_graders(topic: Topic, exercises: list[CodeExercise], sandbox: Sandbox, reference: Any,
                timeout: float, grader_seed: int | None = None) -> dict[str, _Outcome]:
    """Run the graders of `exercises` in this process; return their checks per exercise.

    `grader_seed` seeds the checks' random inputs (the `rng` fixture); None draws a
    fresh one.
    """
    paths = [topic.grader_path(e.id) for e in exercises]
    for p in paths:
        if not p.is_file():
            raise ContentError(f"The grader {display_path(p)} does not exist.")
    plugin = _GraderPlugin(sandbox, reference, timeout,
                           new_grader_seed() if grader_seed is None else grader_seed)
    args = [*map(str, paths), "-c", str(GRADER_INI), "--rootdir", str(paths[0].parent),
            "--confcutdir", str(paths[0].parent), "--import-mode=importlib", "--assert=plain",
            "--capture=sys", "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise",
            "-p", "no:doctest", "-p", "no:warnings", "-p", "no:logging",
            # Plugins no grader needs; each costs set-up time in every session (batch grading
            # runs one per learner).
            "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:junitxml",
            "-p", "no:pastebin", "-p", "no:setuponly", "-p", "no:setupplan",
            "-p", "no:faulthandler", "-p", "no:debugging"]
    import sys

    import pytest

    for p in paths:  # pytest names a grader by its file name: another course's is not this one
        cached = sys.modules.get(p.stem)
        if cached is not None and Path(getattr(cached, "__file__", "") or "") != p:
            del sys.modules[p.stem]
    with _clean_pytest_env():
        code = pytest.main(args, plugins=[plugin, plugin.fixtures()])
    if plugin.interrupted:
        raise KeyboardInterrupt  # Ctrl-C: nothing half-graded is reported or recorded
    if plugin.collect_errors:
        raise ContentError("A grader failed to load:\n" + "\n".join(plugin.collect_errors))
    finished = code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    for e in exercises:
        outcome = plugin.outcomes.setdefault(e.id, _Outcome())
        if not plugin.collected.get(e.id):
            raise ContentError(f"The grader {display_path(topic.grader_path(e.id))} has no checks.")
        # A session that stopped early has checks that never ran: never a pass.
        if not finished or len(outcome.checks) < plugin.collected[e.id]:
            outcome.incomplete = f"pytest stopped after {len(outcome.checks)} of " \
                                 f"{plugin.collected[e.id]} checks (exit code {int(code)})"
    return plugin.outcomes


# ---------------------------------------------------------------- diagnosis


# ---------------------------------------------------------------- verdicts


def _status(outcome: _Outcome) -> Status:
    if outcome.incomplete:
        return "error"
    failures = [f for f in outcome.failures if f is not None]
    if not failures:
        return "passed"
    if any(isinstance(f, LearnerTimeout) for f in failures):
        return "timeout"
    if all(isinstance(f, NotImplementedYet) for f in failures) and len(failures) == len(
            outcome.failures):
        return "unanswered"
    if all(isinstance(f, LearnerFailure) for f in failures):
        return "error"
    return "failed"


def _feedback(exercise: CodeExercise, places: Places, status: Status, outcome: _Outcome,
              diagnosis: Diagnosis | None, timeout: float) -> str:
    if status == "unanswered":
        return places.fill_in(exercise.function, exercise.id)
    failed = [(c, f) for c, f in zip(outcome.checks, outcome.failures) if f is not None]
    lines: list[str] = []
    if status == "timeout":
        cause = next(f for _, f in failed if isinstance(f, LearnerTimeout))
        if cause.message != "timed out":
            lines.append(f"{cause.message[0].upper()}{cause.message[1:]}.")
        else:
            lines.append(f"{exercise.function} did not finish within {timeout:g} seconds "
                         "(an infinite loop, or a very slow computation?). "
                         "The other exercises were still graded.")
    elif status == "error" and outcome.incomplete:
        lines.append(f"Grading of {exercise.function} did not finish ({outcome.incomplete}), "
                     "so no check counts. Grade it again.")
    elif status == "error":
        first = failed[0][1]
        lines.append(f"{exercise.function} raised an exception:")
        lines += ["  " + line for line in getattr(first, "traceback", str(first)).splitlines()]
    else:
        lines.append(f"{len(failed)} of {len(outcome.checks)} checks failed:")
        lines += [f"  ✗ {c.name}" for c, _ in failed]
        if diagnosis and diagnosis.example:
            # The catalogue's small input says more than a large random one.
            lines += ["", "On a small input:"]
            lines += ["  " + line for line in diagnosis.example.splitlines()]
        else:
            lines += ["", f"{failed[0][0].name}:"]
            lines += ["  " + line for line in failed[0][0].message.splitlines()]
    if diagnosis:
        lines += diagnosis_lines(exercise, diagnosis)
    lines += ["", next_steps(exercise.id)]
    return "\n".join(lines)


def syntax_check(module_path: Path, places: Places | None = None) -> None:
    """A syntax error is the learner's to fix before anything can be graded.

    `places` names where the error is (a notebook's cell); by default, the file."""
    from normquiz.learnerfiles import read_bytes
    from normquiz.sandbox.runner import MAX_SOURCE

    source = read_bytes(module_path, MAX_SOURCE + 1, display_path(module_path),
                        "That is not a module to grade.", "Check the file, then grade again.")
    if len(source) > MAX_SOURCE:
        raise WorkspaceError(f"{display_path(module_path)} is larger than "
                             f"{MAX_SOURCE // 2**20} MiB: that is not a module to grade.")
    try:
        compile(source, str(module_path), "exec", dont_inherit=True)
    except SyntaxError as e:
        where = places.line(e.lineno or 0) if places else \
            f"{display_path(module_path)}, line {e.lineno}"
        raise WorkspaceError(f"{where}: syntax error: {sentence(e.msg)} "
                             "Fix it, then grade again.") from None
    except ValueError as e:  # e.g. a NUL byte in the file
        raise WorkspaceError(f"{display_path(module_path)}: cannot be compiled: {e}.") from None
    except (RecursionError, MemoryError):
        raise WorkspaceError(f"{display_path(module_path)}: the code is nested too deeply to "
                             "be compiled. Simplify it.") from None


def sentence(text: str) -> str:
    """`text` ending with one full stop ("Perhaps you forgot a comma?" stays as it is)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def blocked_paths(topic: Topic) -> list[Path]:
    return [topic.root / "solutions", topic.root / "grader"]  # every topic's, not just this


def new_sandbox(topic: Topic, module_path: Path, settings: SandboxSettings | None = None,
                places: Places | None = None) -> Sandbox:
    """A worker for the learner's module that can read none of the topic's content.

    The module's copy gets the topic's module name (whatever the learner's file is
    called); `places` names the lines of its tracebacks."""
    settings = settings or SandboxSettings()
    settings = replace(settings, hidden=(*settings.hidden, topic.root))
    return Sandbox(module_path, settings, blocked=blocked_paths(topic),
                   module_name=topic.module or module_path.name,
                   place=places.line if places else None)


def grade_code(topic: Topic, module_path: Path, exercises: list[CodeExercise], *,
               timeout: float = DEFAULT_TIMEOUT, sandbox: Sandbox | None = None,
               reference: Any = None, grader_seed: int | None = None,
               places: Places | None = None) -> list[ExerciseResult]:
    """Grade the code exercises of `topic` against the learner's module file.

    `grader_seed` seeds the graders' random inputs; None draws a fresh one.
    """
    if not exercises:
        return []
    places = places or Places(topic.module)
    own_sandbox = sandbox is None
    if own_sandbox:
        syntax_check(module_path, places)  # else the caller did, before starting it
    sandbox = sandbox or new_sandbox(topic, module_path, places=places)
    sandbox.start()  # the worker imports numpy while this process imports pytest
    try:
        reference = reference or load_reference(topic)
        outcomes = run_graders(topic, exercises, sandbox, reference, timeout, grader_seed)
        results = []
        for e in exercises:
            outcome = outcomes[e.id]
            status = _status(outcome)
            total = sum(c.points for c in outcome.checks) or 1.0
            passed = 0.0 if outcome.incomplete else sum(c.points for c in outcome.checks
                                                        if c.passed)
            diagnosis = None
            started = time.perf_counter()
            if status in ("failed", "error"):
                sub = Submission(sandbox, timeout)
                diagnosis = diagnose(topic, e, sub, reference)
            results.append(ExerciseResult(
                e.id, "code", e.title, status, e.points * passed / total, e.points,
                diagnosis.mistakes if diagnosis else [],
                "" if status == "passed" else _feedback(e, places, status, outcome, diagnosis,
                                                        timeout),
                outcome.checks,
                seconds=outcome.seconds + time.perf_counter() - started,
                causes=[c.id for c in diagnosis.causes] if diagnosis else [],
            ))
        return results
    finally:
        if own_sandbox:
            sandbox.stop()


# ---------------------------------------------------------------- whole topics and workspaces


def grade_topic(topic: Topic, module_path: Path | None, answers: dict[str, Any], seed: int,
                only: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                sandbox: Sandbox | None = None,
                settings: SandboxSettings | None = None,
                grader_seed: int | None = None,
                not_run: tuple[Status, str] | None = None,
                places: Places | None = None,
                invalid: dict[str, str] | None = None) -> TopicResult:
    """Grade a module file and answers for `topic`; `only` restricts to one exercise id.

    `not_run`, when given, is (status, why) for code that cannot be run (a module that
    does not compile: an error; no module at all: unanswered). Every code exercise gets
    that status and message, nothing runs, and the questions are still graded.

    `places` words the feedback for where the learner works (default: the module
    file and answers.yaml); `invalid` holds why each question whose answer is not
    of the right type is not (graded as an error).

    `sandbox`, when given, is a worker already started on `module_path`; else
    one is made with `settings`. The result carries the worker's isolation report,
    and the grader seed of the code checks' random inputs (`grader_seed`, or a fresh
    one; None when no code exercise was graded).
    """
    from normquiz.questions import generate, grade_choice, grade_numeric

    selected = [topic.exercise(only)] if only else topic.exercises
    code = [e for e in selected if isinstance(e, CodeExercise)]
    places = places or Places(topic.module)
    invalid = invalid or {}
    results: dict[str, ExerciseResult] = {}
    isolation = None
    if code and not_run is not None:
        status, why = not_run
        for e in code:
            results[e.id] = ExerciseResult(e.id, "code", e.title, status, 0.0, e.points,
                                           feedback=why)
        code = []  # nothing ran: no grader seed, no sandbox report, no graded file
    if code:
        assert module_path is not None
        if grader_seed is None:
            grader_seed = new_grader_seed()
        own_sandbox = sandbox is None
        if own_sandbox:
            syntax_check(module_path, places)  # else the caller did, before starting it
            sandbox = new_sandbox(topic, module_path, settings, places)
        assert sandbox is not None
        try:
            for r in grade_code(topic, module_path, code, timeout=timeout, sandbox=sandbox,
                                grader_seed=grader_seed, places=places):
                results[r.id] = r
            isolation = sandbox.isolation
        finally:
            if own_sandbox:
                sandbox.stop()
    for q in selected:
        if not isinstance(q, (NumericQuestion, ChoiceQuestion)):
            continue
        started = time.perf_counter()
        if q.id in invalid:
            results[q.id] = ExerciseResult(q.id, q.kind, q.title, "error", 0.0, q.points,
                                           feedback=sentence(invalid[q.id]))
        elif isinstance(q, NumericQuestion):
            results[q.id] = grade_numeric(q, generate(topic, q, seed), answers.get(q.id),
                                          places)
        else:
            results[q.id] = grade_choice(q, answers.get(q.id), places)
        results[q.id].seconds = time.perf_counter() - started
    return TopicResult(topic.slug, [results[e.id] for e in selected],
                       display_path(module_path) if code and module_path else None, seed,
                       sandbox=isolation, grader_seed=grader_seed if code else None)
