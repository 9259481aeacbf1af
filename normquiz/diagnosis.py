"""Diagnosis: which catalogued mistake a learner's failing function behaves like.

The learner's function runs in the sandbox (through `submission.call`, as the
graders call it) on each exercise's probes; the mistake implementations and the
reference run here, in the grading process.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from normquiz.content import CodeExercise, Topic, load_mistakes, mistake_function_name
from normquiz.questions import plain_math
from normquiz.sandbox import LearnerFailure, LearnerTimeout


def _same_value(a: Any, b: Any) -> bool:
    import numpy as np

    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    try:
        x, y = np.asarray(a), np.asarray(b)
    except (TypeError, ValueError):
        return False
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf" or x.shape != y.shape:
        return False
    return bool(np.allclose(x, y, rtol=1e-6, atol=1e-9, equal_nan=True))


def _mutated(before: list[Any], after: list[Any]) -> bool:
    import numpy as np

    return any(isinstance(b, np.ndarray) and not (
        isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True))
        for b, a in zip(before, after))


@dataclass
class _Behavior:
    """What a function did on one probe: raised, or returned a value (and mutated inputs?)."""

    raised: bool
    value: Any = None
    mutated: bool = False
    error: str = ""


def _run_trusted(func: Any, args: list, kwargs: dict) -> _Behavior:
    import warnings

    import numpy as np

    a, k = copy.deepcopy(args), copy.deepcopy(kwargs)
    try:
        # A mistake may divide by a zero variance on purpose: its NaNs are compared,
        # and numpy's warnings about them are not the learner's to read.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = func(*a, **k)
    except Exception as e:
        return _Behavior(True, error=f"{type(e).__name__}: {e}")
    return _Behavior(False, value, _mutated(list(args) + list(kwargs.values()),
                                           list(a) + list(k.values())))


def _run_learner(submission: Any, name: str, args: list, kwargs: dict) -> _Behavior:
    try:
        r = submission.call(name, *args, **kwargs)
    except LearnerTimeout:
        raise
    except LearnerFailure as e:
        return _Behavior(True, error=e.message)
    after = r.args_after + [r.kwargs_after.get(k) for k in kwargs]
    return _Behavior(False, r.value, _mutated(list(args) + list(kwargs.values()), after))


def _same(learner: _Behavior, mistake: _Behavior) -> bool:
    if learner.raised or mistake.raised:
        return learner.raised and mistake.raised
    # A mistake that mutates its input is only matched by a learner who does too.
    return _same_value(learner.value, mistake.value) and (learner.mutated or not mistake.mutated)


@dataclass
class Diagnosis:
    mistakes: list[str]
    example: str = ""


def diagnose(topic: Topic, exercise: CodeExercise, submission: Any,
             reference: Any) -> Diagnosis:
    """Which declared mistakes the learner's function behaves like, on the probes."""
    from normquiz.checks import format_call, show

    if not exercise.mistakes:
        return Diagnosis([])
    module = load_mistakes(topic, exercise.id)
    ref_func = getattr(reference, exercise.function)
    learner, ref = [], []
    try:
        for args, kwargs in module.PROBES:
            learner.append(_run_learner(submission, exercise.function, list(args), dict(kwargs)))
            ref.append(_run_trusted(ref_func, list(args), dict(kwargs)))
    except LearnerTimeout:
        return Diagnosis([])
    matched = []
    for m in exercise.mistakes:
        func = getattr(module, mistake_function_name(m.id))
        behaviors = [_run_trusted(func, list(a), dict(k)) for a, k in module.PROBES]
        if all(_same(lb, mb) for lb, mb in zip(learner, behaviors)):
            matched.append(m.id)
    if not matched:
        # Changing the inputs is a mistake of its own, whatever the values returned.
        mutating = [m.id for m in exercise.mistakes
                    if any(_run_trusted(getattr(module, mistake_function_name(m.id)), list(a),
                                        dict(k)).mutated for a, k in module.PROBES)]
        if mutating and any(b.mutated for b in learner):
            matched = mutating[:1]
    examples = []  # (size of the input, text): the smallest one is shown
    for (args, kwargs), lb, rb in zip(module.PROBES, learner, ref):
        size = sum(getattr(a, "size", 1) for a in [*args, *kwargs.values()])
        call = format_call(exercise.function, args, kwargs, ref_func)
        if lb.raised and not rb.raised:
            error = lb.error.splitlines()[-1] if lb.error else "an error"
            examples.append((size, f"{call}\n  raised {error}\n  expected {show(rb.value, 11)}"))
        elif not lb.raised and not rb.raised and not _same_value(lb.value, rb.value):
            examples.append((size, f"{call}\n  returned {show(lb.value, 11)}\n"
                                   f"  expected {show(rb.value, 11)}"))
    return Diagnosis(matched, min(examples, key=lambda e: e[0])[1] if examples else "")


def diagnosis_lines(exercise: CodeExercise, diagnosis: Diagnosis) -> list[str]:
    """The feedback lines naming each diagnosed mistake and why it is one."""
    lines: list[str] = []
    for m in diagnosis.mistakes:
        mistake = exercise.mistake(m)
        lines += ["", f"Diagnosis: {mistake.title} [{m}]"]
        lines += plain_math(mistake.feedback.strip()).splitlines()
    return lines
