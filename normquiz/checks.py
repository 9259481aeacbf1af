"""Helpers for grader files: compare a learner's result with the reference.

Every failure is an AssertionError whose message is written for the learner:
what was called, what came back, what was expected. See
docs/content-format.md for how graders use them.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from normquiz.sandbox.codec import Unsupported

RTOL = 1e-6
ATOL = 1e-8


def _array_text(value: np.ndarray, **layout: Any) -> str:
    """numpy's text of an array, as feedback prints them: 4 decimals, short."""
    return np.array2string(value, precision=4, suppress_small=True, edgeitems=2,
                           separator=", ", **layout)


def show(value: Any, indent: int = 0) -> str:
    """A value for a feedback block; continuation lines of arrays align after `indent`."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return _array_text(value, prefix=" " * indent, threshold=30, max_line_width=88)
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)[:200]


def show_inline(value: Any) -> str:
    """A value inside a call: small arrays on one line, bigger ones by their shape."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc" and value.size <= 12:
            text = _array_text(value, max_line_width=10**6)
            return re.sub(r"\s*\n\s*", " ", text)
        return f"<array of shape {value.shape}>"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)[:80]


class _Call:
    """A call for a failure message, formatted only if a check fails: most checks pass,
    and printing their arrays costs more than the check itself."""

    def __init__(self, name: str, args: Sequence[Any], kwargs: dict[str, Any],
                 func: Callable | None) -> None:
        self.parts = (name, args, kwargs, func)

    def __str__(self) -> str:
        return format_call(*self.parts)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def format_call(name: str, args: Sequence[Any], kwargs: dict[str, Any],
                func: Callable | None = None) -> str:
    """`name(x=..., gain=...)`, naming positional arguments when the signature is known."""
    parts: list[str] = []
    names: list[str] = []
    if func is not None:
        try:
            names = list(inspect.signature(func).parameters)
        except (TypeError, ValueError):
            names = []
    for i, a in enumerate(args):
        parts.append(f"{names[i]}={show_inline(a)}" if i < len(names) else show_inline(a))
    parts += [f"{k}={show_inline(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _as_array(got: Any, what: str, call: object) -> np.ndarray:
    if isinstance(got, Unsupported):
        raise AssertionError(
            f"{call}\n  returned {got!r} as its {what}; return a numpy array of float64."
        )
    try:
        arr = np.asarray(got)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "biufc":
        raise AssertionError(
            f"{call}\n  returned {show(got)} as its {what}; expected a numpy array of numbers."
        )
    return arr


def expect_close(got: Any, expected: Any, call: object, what: str = "output",
                 names: Sequence[str] | None = None,
                 rtol: float = RTOL, atol: float = ATOL) -> None:
    """Assert that `got` matches `expected` in type, shape and value.

    `call` says what was called, as text or anything whose str() is that text.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(
                f"{call}\n  returned {show(got)}; expected a tuple of {len(expected)} arrays"
                + (f" ({', '.join(names)})" if names else "") + "."
            )
        for i, (g, e) in enumerate(zip(got, expected)):
            expect_close(g, e, call, names[i] if names else f"output {i + 1}",
                         rtol=rtol, atol=atol)
        return
    arr = _as_array(got, what, call)
    exp = np.asarray(expected)
    if arr.shape != exp.shape:
        raise AssertionError(
            f"{call}\n  returned {what} of shape {arr.shape}; expected shape {exp.shape}."
        )
    if arr.dtype.kind == "c" and exp.dtype.kind != "c":
        raise AssertionError(f"{call}\n  returned complex numbers as its {what}.")
    if not np.allclose(arr, exp, rtol=rtol, atol=atol, equal_nan=True):
        lead = f"  returned {what} "
        lines = [str(call), lead + show(arr, len(lead)),
                 f"  expected {what} ".ljust(len(lead)) + show(exp, len(lead))]
        nan = np.isnan(arr) & ~np.isnan(exp)
        if nan.any():
            lines.append(f"  ({int(nan.sum())} NaN value(s) where numbers were expected)")
        else:
            diff = np.abs(arr.astype(float) - exp)
            idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
            where = f" at index {tuple(int(i) for i in idx)}" if idx else ""
            lines.append(f"  (largest difference {float(diff.max()):.4g}{where})")
        raise AssertionError("\n".join(lines))


def expect_unchanged(before: Sequence[Any], after: Sequence[Any], call: object,
                     names: Sequence[str] = ()) -> None:
    """Assert that no array argument was modified by the call."""
    for i, (b, a) in enumerate(zip(before, after)):
        if not isinstance(b, np.ndarray):
            continue
        label = names[i] if i < len(names) else f"argument {i + 1}"
        if not isinstance(a, np.ndarray) or a.shape != b.shape or not np.array_equal(
            a, b, equal_nan=True
        ):
            raise AssertionError(
                f"{call}\n  changed its input '{label}' in place. A graded function must not "
                "modify its arguments: compute new arrays (x - mu) instead of in-place "
                "updates (x -= mu)."
            )


def expect_match(submission: Any, reference: Any, name: str, *args: Any,
                 names: Sequence[str] | None = None,
                 rtol: float = RTOL, atol: float = ATOL, **kwargs: Any) -> Any:
    """Call `name` on the learner's module and the reference; assert the values agree.

    `names` labels the parts of a tuple result (e.g. dx, dgain, dbias).
    Returns the learner's value. Whether inputs were modified is a check of
    its own (`expect_inputs_unchanged`), so that one slip costs one check.
    """
    func = getattr(reference, name)
    expected = func(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    call = _Call(name, args, kwargs, func)
    result = submission.call(name, *args, **kwargs)
    expect_close(result.value, expected, call, names=names, rtol=rtol, atol=atol)
    return result.value


def expect_inputs_unchanged(submission: Any, reference: Any, name: str, *args: Any,
                            names: Sequence[str] | None = None, **kwargs: Any) -> None:
    """Assert that the learner's function leaves every array argument as it was.

    The value must match the reference too: the check rewards a correct
    function that keeps its inputs, not any function that ignores them.
    """
    func = getattr(reference, name)
    call = _Call(name, args, kwargs, func)
    expected = func(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    result = submission.call(name, *copy.deepcopy(args), **copy.deepcopy(kwargs))
    expect_close(result.value, expected, call, names=names)
    params = list(inspect.signature(func).parameters)
    expect_unchanged(list(args) + list(kwargs.values()),
                     list(result.args_after) + [result.kwargs_after.get(k) for k in kwargs],
                     call, params[: len(args)] + list(kwargs))


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                     h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function of an array (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        up = f(x.copy())
        x[idx] = old - h
        down = f(x.copy())
        x[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad
