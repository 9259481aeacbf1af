"""Submissions made from the content itself: the reference, the stub, each mistake.

The project's tests (and instructors' checks) grade these exactly as a
learner's file is graded, to prove that the reference passes, the stub scores
0 and every mistake is diagnosed as itself. The other ways of writing a
mistake (a mistakes file's VARIANTS) and of writing the function right (its
CORRECT) are trusted content too: they are graded in this process, through
`TrustedSandbox`, which answers calls as the learner's worker does.
"""

from __future__ import annotations

import ast
import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from normquiz.content import (
    CodeExercise,
    ContentError,
    NumericQuestion,
    Topic,
    display_path,
    mistake_function_name,
)
from normquiz.questions import separated
from normquiz.report import ExerciseResult


def reference_source(topic: Topic) -> str:
    return topic.solution_path.read_text(encoding="utf-8")


def stub_source(topic: Topic) -> str:
    return topic.stub_path.read_text(encoding="utf-8")


def mistake_source(topic: Topic, exercise: CodeExercise, mistake_id: str) -> str:
    """The reference module with one function replaced by a mistake's implementation.

    The learner's process may not read solutions/, so the mistake's code is
    copied into the submitted file rather than imported.
    """
    mistakes = topic.mistakes_path(exercise.id).read_text(encoding="utf-8")
    name = mistake_function_name(mistake_id)
    return (f"{reference_source(topic)}\n\n# --- mistake '{mistake_id}' of {exercise.id}\n"
            f"{mistakes}\n\n{exercise.function} = {name}\n")


def write_submission(directory: Path, topic: Topic, source: str) -> Path:
    """Write `source` as the topic's module file in `directory`; return its path."""
    path = Path(directory) / str(topic.module)
    path.write_text(source, encoding="utf-8")
    return path


class TrustedSandbox:
    """Stands in for the learner's worker with functions run in this process.

    Only for trusted code (content, and the project's tests): learner code always
    runs in the sandbox. Calls get copies of their arguments, and an exception
    comes back as the worker reports one, a LearnerError.
    """

    def __init__(self, functions: dict[str, Callable]) -> None:
        self.functions = functions

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any],
             timeout: float) -> Any:
        import warnings

        import numpy as np

        from normquiz.sandbox import CallResult, LearnerError, NotImplementedYet

        a, k = copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs))
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = self.functions[name](*a, **k)
        except NotImplementedError as e:
            raise NotImplementedYet("NotImplementedError", str(e)) from None
        except Exception as e:
            # As the worker reports it: the last line that ran inside the function, or
            # None when the call itself failed (a signature that does not fit).
            tb, line = e.__traceback__, None
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
                line = tb.tb_lineno
            raise LearnerError(type(e).__name__, str(e), line=line) from None
        return CallResult(copy.deepcopy(value), a, k)


def trusted_submission(function: str, func: Callable, timeout: float = 10.0) -> Any:
    """A `Submission` whose `function` is `func`, run in this process (trusted code only)."""
    from normquiz.grading import Submission

    return Submission(cast(Any, TrustedSandbox({function: func})), timeout)


def grade_trusted(topic: Topic, exercise: CodeExercise, func: Callable,
                  grader_seeds: Sequence[int]) -> list[tuple[int, ExerciseResult]]:
    """Grade `func` (trusted code) as `exercise`'s function, once per grader seed."""
    from normquiz.content import load_reference
    from normquiz.grading import grade_code

    reference = load_reference(topic)
    sandbox = cast(Any, TrustedSandbox({exercise.function: func}))
    return [(s, grade_code(topic, topic.solution_path, [exercise], sandbox=sandbox,
                           reference=reference, grader_seed=s)[0]) for s in grader_seeds]


def variants(topic: Topic, exercise: CodeExercise) -> list[tuple[str, Callable]]:
    """(mistake id, function) for every other way of writing a mistake (VARIANTS)."""
    from normquiz.content import load_mistakes

    if not exercise.mistakes:
        return []
    module = load_mistakes(topic, exercise.id)
    return [(m.id, f) for m in exercise.mistakes
            for f in getattr(module, "VARIANTS", {}).get(m.id, [])]


def right_implementations(topic: Topic, exercise: CodeExercise) -> list[Callable]:
    """The reference's function, then every other right way of writing it (CORRECT)."""
    from normquiz.content import load_mistakes, load_reference
    from normquiz.diagnosis import correct_implementations

    found = [getattr(load_reference(topic), exercise.function)]
    if exercise.mistakes:
        found += correct_implementations(load_mistakes(topic, exercise.id))
    return found


# ---------------------------------------------------------------- normquiz check


@dataclass
class TopicCheck:
    """What `normquiz check` found for one topic: problems, and what was verified."""

    slug: str
    problems: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)


def _function_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def _check_files(topic: Topic, report: TopicCheck) -> bool:
    """Every file a manifest refers to exists and defines what it should."""
    ok = True

    def missing(path: Path, what: str) -> None:
        nonlocal ok
        ok = False
        report.problems.append(f"{display_path(path)} is missing: {what}.")

    if topic.code_exercises:
        for path, what in ((topic.stub_path, "the learner's stub module"),
                           (topic.solution_path, "the reference solution")):
            if not path.is_file():
                missing(path, what)
        if not ok:
            return False
        stub, solution = _function_names(topic.stub_path), _function_names(topic.solution_path)
        stub_text = stub_source(topic)
        for e in topic.code_exercises:
            for names, path in ((stub, topic.stub_path), (solution, topic.solution_path)):
                if e.function not in names:
                    ok = False
                    report.problems.append(f"{display_path(path)} does not define {e.function}(), "
                                           f"the function of exercise '{e.id}'.")
            if not topic.grader_path(e.id).is_file():
                missing(topic.grader_path(e.id), f"the grader of '{e.id}'")
            if e.mistakes and not topic.mistakes_path(e.id).is_file():
                missing(topic.mistakes_path(e.id), f"the mistake implementations of '{e.id}'")
            elif e.mistakes:
                defined = _function_names(topic.mistakes_path(e.id))
                for m in e.mistakes:
                    if mistake_function_name(m.id) not in defined:
                        ok = False
                        report.problems.append(
                            f"{display_path(topic.mistakes_path(e.id))} has no function "
                            f"{mistake_function_name(m.id)}() for the mistake '{m.id}' that "
                            f"{e.id}.yaml declares.")
        if "# TODO" not in stub_text:
            report.problems.append(f"{display_path(topic.stub_path)} has no '# TODO' line to "
                                   "show the learner what to write.")
    needs_generators = [e for e in topic.exercises
                        if isinstance(e, NumericQuestion) or e.demonstration]
    if needs_generators:
        if not topic.generators_path.is_file():
            missing(topic.generators_path, "the generators of the numeric questions")
            return False
        defined = _function_names(topic.generators_path)
        for needing in needs_generators:
            for name in (getattr(needing, "generator", None), needing.demonstration):
                if name and name not in defined:
                    ok = False
                    report.problems.append(f"{display_path(topic.generators_path)} has no "
                                           f"function {name}() (named by '{needing.id}').")
    return ok


GRADER_SEEDS = 3  # how many grader seeds (sets of random check inputs) `normquiz check` uses


def grade_with_seeds(topic: Topic, exercise: CodeExercise, module: Path,
                     grader_seeds: Sequence[int]) -> list[tuple[int, ExerciseResult]]:
    """Grade `exercise` in `module` once per grader seed, all in one worker."""
    from normquiz.grading import grade_code, new_sandbox

    sandbox = new_sandbox(topic, module)
    sandbox.start()
    try:
        return [(s, grade_code(topic, module, [exercise], sandbox=sandbox, grader_seed=s)[0])
                for s in grader_seeds]
    finally:
        sandbox.stop()


def _replay(seed: int) -> str:
    return f"grader seed {seed}: 'normquiz grade --grader-seed {seed}' replays its inputs"


def _check_code(topic: Topic, exercise: CodeExercise, folder: Path, report: TopicCheck,
                grader_seeds: Sequence[int]) -> None:
    """Under every grader seed: the reference passes, the stub scores 0, each mistake fails
    and is diagnosed as itself."""
    where = f"{exercise.id}"
    module = write_submission(folder, topic, reference_source(topic))
    for seed, ref in grade_with_seeds(topic, exercise, module, grader_seeds):
        if ref.status != "passed":
            failed = [f"✗ {c.name}\n{_indent(c.message)}" for c in ref.checks if not c.passed]
            report.problems.append(f"{where}: the reference solution does not pass its grader "
                                   f"({_replay(seed)}):\n"
                                   + _indent("\n".join(failed) or ref.feedback))
            return
    module.write_text(stub_source(topic), encoding="utf-8")
    for seed, stub in grade_with_seeds(topic, exercise, module, grader_seeds):
        if stub.score > 0:
            report.problems.append(f"{where}: the blank stub scores {stub.score:g} (grader seed "
                                   f"{seed}); it must score 0 (does a check pass without the "
                                   "learner's code?).")
            break
    before = len(report.problems)
    for m in exercise.mistakes:
        module.write_text(mistake_source(topic, exercise, m.id), encoding="utf-8")
        for seed, r in grade_with_seeds(topic, exercise, module, grader_seeds):
            if r.status == "passed":
                report.problems.append(f"{where}: the mistake '{m.id}' passes every check "
                                       f"({_replay(seed)}); add a check that catches it "
                                       "whatever the random inputs.")
                break
            if r.mistakes != [m.id]:
                seen = ", ".join(r.mistakes) or "nothing"
                report.problems.append(f"{where}: the mistake '{m.id}' is diagnosed as {seen}; "
                                       "adjust PROBES so it is diagnosed as itself and only "
                                       "itself.")
                break
    counted = _check_other_implementations(topic, exercise, report, grader_seeds)
    if len(report.problems) == before:
        report.verified.append(f"{exercise.id}: reference passes, stub scores 0, "
                               f"{len(exercise.mistakes)} mistake(s) diagnosed "
                               f"({len(exercise.mistakes) + counted[0]} implementation(s)), "
                               f"{counted[1]} right implementation(s) pass undiagnosed, under "
                               f"{len(grader_seeds)} grader seed(s)")


def _check_other_implementations(topic: Topic, exercise: CodeExercise, report: TopicCheck,
                                 grader_seeds: Sequence[int]) -> tuple[int, int]:
    """Each variant of a mistake fails and is diagnosed as its id and no other; each right
    implementation (the reference, CORRECT) passes, and is diagnosed as nothing: no
    mistake, no named cause. Returns how many of each were checked."""
    from normquiz.content import load_mistakes, load_reference
    from normquiz.diagnosis import diagnose

    where = exercise.id
    if exercise.mistakes:
        module = load_mistakes(topic, exercise.id)
        declared = {m.id for m in exercise.mistakes}
        for table in ("VARIANTS", "PROPERTIES"):
            for unknown in sorted(set(getattr(module, table, {})) - declared):
                report.problems.append(f"{where}: {table} in "
                                       f"{display_path(topic.mistakes_path(exercise.id))} "
                                       f"names '{unknown}', a mistake {exercise.id}.yaml does "
                                       "not declare.")
    found = variants(topic, exercise)
    for mistake_id, func in found:
        for seed, r in grade_trusted(topic, exercise, func, grader_seeds):
            if r.status == "passed":
                report.problems.append(f"{where}: {func.__name__}, a way of writing the "
                                       f"mistake '{mistake_id}', passes every check "
                                       f"({_replay(seed)}); add a check that catches it.")
                break
            if r.mistakes != [mistake_id]:
                seen = ", ".join(r.mistakes) or "nothing"
                report.problems.append(f"{where}: {func.__name__}, a way of writing the "
                                       f"mistake '{mistake_id}', is diagnosed as {seen}; "
                                       "adjust PROBES (or the variant) so it is diagnosed as "
                                       f"'{mistake_id}' only.")
                break
    right = right_implementations(topic, exercise)
    reference = load_reference(topic)
    for n, func in enumerate(right):
        name = "the reference solution" if n == 0 else f"{func.__name__} (in CORRECT)"
        if n:  # the reference's own grading is checked above, through the sandbox
            for seed, r in grade_trusted(topic, exercise, func, grader_seeds):
                if r.status != "passed":
                    report.problems.append(f"{where}: {name}, a right implementation, fails "
                                           f"({_replay(seed)}):\n" + _indent(r.feedback))
                    break
        if exercise.mistakes:
            d = diagnose(topic, exercise, trusted_submission(exercise.function, func), reference)
            named = d.mistakes + [c.id for c in d.causes]
            if named:
                report.problems.append(f"{where}: {name}, a right implementation, is "
                                       f"diagnosed as {', '.join(named)}; adjust PROBES or the "
                                       "mistakes so that nothing right matches them.")
    return len(found), len(right)


def _check_numeric(topic: Topic, q: NumericQuestion, report: TopicCheck, seeds: int) -> None:
    from normquiz.questions import generate

    declared = {m.id for m in q.mistakes}
    for seed in range(seeds):
        try:
            g = generate(topic, q, seed)
        except Exception as e:  # any failure of instructor code is a finding, not a crash
            report.problems.append(f"{q.id}: generator {q.generator}() failed for seed {seed}: "
                                   f"{type(e).__name__}: {e}")
            return
        values = [g.answer, *g.mistakes.values()]
        if not all(math.isfinite(v) for vs in values for v in vs):
            report.problems.append(f"{q.id}: seed {seed} gives a non-finite answer: {values}.")
            return
        if set(g.mistakes) != declared:
            report.problems.append(f"{q.id}: the generator returns mistakes "
                                   f"{sorted(g.mistakes)} but the manifest declares "
                                   f"{sorted(declared)}.")
            return
        # The rule generators, the tests and docs/content-format.md use: every two answers
        # (right or mistaken) differ somewhere by more than ten tolerances.
        if not separated(values, q.tolerance):
            report.problems.append(f"{q.id}: for seed {seed} two answers (right or "
                                   "mistaken) are within ten tolerances of each other, so a "
                                   "mistake could not be told apart.")
            return
    report.verified.append(f"{q.id}: {seeds} seeds give finite, distinguishable answers")


def check_topic(topic: Topic, seeds: int = 50,
                grader_seeds: Sequence[int] | None = None) -> TopicCheck:
    """Everything `normquiz check` verifies for one loaded topic.

    `seeds` numeric-question seeds; code is graded under `grader_seeds`, by default
    GRADER_SEEDS fresh ones (learners get fresh ones too: every one must work).
    """
    import tempfile

    from normquiz.grading import new_grader_seed
    from normquiz.questions import demonstrate

    if grader_seeds is None:
        grader_seeds = [new_grader_seed() for _ in range(GRADER_SEEDS)]
    report = TopicCheck(topic.slug)
    report.problems += _todos(topic)
    if not _check_files(topic, report):
        return report
    with tempfile.TemporaryDirectory(prefix="normquiz-check-") as tmp:
        for e in topic.code_exercises:
            _check_code(topic, e, Path(tmp), report, grader_seeds)
    for q in topic.questions:
        if isinstance(q, NumericQuestion):
            _check_numeric(topic, q, report, seeds)
    for exercise in topic.exercises:
        if exercise.demonstration:
            try:
                demonstrate(topic, exercise)
            except Exception as err:  # instructor code: report, do not crash
                report.problems.append(f"{exercise.id}: demonstration "
                                       f"{exercise.demonstration}() failed: "
                                       f"{type(err).__name__}: {err}")
    return report


def check_content(root: Path | None = None, seeds: int = 50,
                  grader_seeds: Sequence[int] | None = None) -> list[TopicCheck]:
    """Check every topic of a content folder (default: the shipped content)."""
    from normquiz.content import Catalog, builtin_root

    builtin = builtin_root().resolve()
    extra = [] if root is None or Path(root).resolve() == builtin else [Path(root)]
    catalog = Catalog(extra)
    slugs = [s for s in catalog.slugs if catalog.root_of(s).resolve() ==
             (extra[0].resolve() if extra else builtin)]
    reports = []
    for slug in slugs:
        try:
            topic = catalog.topic(slug)
        except ContentError as e:
            reports.append(TopicCheck(slug, str(e).splitlines()))
            continue
        reports.append(check_topic(topic, seeds, grader_seeds))
    return reports


def _todos(topic: Topic) -> list[str]:
    """'TODO' lines left in the instructor's files (the learner's stub is meant to have them)."""
    files = [topic.topic_file, topic.solution_path if topic.module else None,
             topic.generators_path]
    for e in topic.exercises:
        files.append(topic.manifest_path(e.id, not e.is_question))
        if isinstance(e, CodeExercise):
            files += [topic.grader_path(e.id), topic.mistakes_path(e.id)]
    found = []
    for path in files:
        if path is None or not path.is_file():
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "TODO" in line:
                found.append(f"{display_path(path)}, line {n}: left to fill in: "
                             f"{line.strip()[:90]}")
    return found


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
