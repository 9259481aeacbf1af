"""Helpers for grader files: compare a learner's result with the reference.

Every failure is an AssertionError whose message is written for the learner:
what was called, what came back, what was expected. See
docs/content-format.md for how graders use them.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from normquiz.sandbox.codec import Unsupported

RTOL = 1e-6
ATOL = 1e-8


def _array_text(value: np.ndarray, precision: int = 4, **layout: Any) -> str:
    """numpy's text of an array, as feedback prints them: 4 decimals, short."""
    return np.array2string(value, precision=precision, suppress_small=True, edgeitems=2,
                           separator=", ", **layout)


def show(value: Any, indent: int = 0, precision: int = 4) -> str:
    """A value for a feedback block; continuation lines of arrays align after `indent`."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return _array_text(value, precision, prefix=" " * indent, threshold=30,
                           max_line_width=88)
    if isinstance(value, tuple):
        return _show_tuple([show(v, indent + 1, precision) for v in value], indent)
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)[:200]


def show_inline(value: Any, limit: int = 12, exact: bool = False) -> str:
    """A value inside a call: arrays of up to `limit` entries on one line, bigger ones by
    their shape.

    Whole numbers print as integers; entries sitting on a large offset print as the
    offset plus a small part (`1e9 + [[-8, 12]]`), never as rounded floats that all
    look alike. `exact` prints every other float in full (the shortest text that reads
    back as the same float); otherwise with 4 decimals, or more where 4 would make two
    different entries look equal.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" and value.size <= limit:
            return inline_array(value, exact)
        if value.dtype.kind == "c" and value.size <= limit:
            text = _array_text(value, max_line_width=10**6)
            return re.sub(r"\s*\n\s*", " ", text)
        return f"<array of shape {value.shape}>"
    if isinstance(value, float):
        return _float_text(value, None) if exact else f"{value:g}"
    return repr(value)[:80]


def _show_tuple(items: list[str], indent: int) -> str:
    """A tuple's shown items: on one line when they fit, else one item per line."""
    if not any("\n" in t for t in items):
        return "(" + ", ".join(items) + ")"
    return "(" + (",\n" + " " * (indent + 1)).join(items) + ")"


def _float_text(v: float, decimals: int | None) -> str:
    """One number: a whole number as an integer; else the shortest text that reads back
    as `v` (decimals=None) or at most `decimals` decimals."""
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if v == int(v) and abs(v) < 1e16:
        return str(int(v))
    if decimals is None:
        if 1e-4 <= abs(v) < 1e16:
            return np.format_float_positional(v, unique=True, trim="-")
        return repr(float(v))
    text = np.format_float_positional(v, precision=decimals, unique=True, trim="-")
    return "0" if text in ("-0", "-0.") else text


def offset_text(v: float) -> str:
    """A round offset in short scientific form: 1e9, -2.5e8."""
    mantissa, _, exponent = f"{v:.15e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def common_offset(a: np.ndarray) -> float | None:
    """The round number that every entry of `a` sits on (1e9 for 1e9 + [-8, 12]), or None.

    Only for entries that are large against their spread, where plain printing would
    round their differences away. `offset + (a - offset)` gives `a` back exactly.
    """
    if a.dtype.kind != "f" or a.size == 0 or not np.all(np.isfinite(a)):
        return None
    lo, hi = float(a.min()), float(a.max())
    mid, spread = (lo + hi) / 2, hi - lo
    if abs(mid) < 1e4 or abs(mid) < 1e3 * spread:
        return None
    for digits in range(1, 17):
        offset = float(f"{mid:.{digits - 1}e}")
        part = a - offset
        if float(np.max(np.abs(part))) <= 10 * max(spread, 1.0) and np.array_equal(
                part + offset, a):
            return offset
    return None


def _nested(a: np.ndarray, text: Callable[[float], str]) -> str:
    if a.ndim == 0:
        return text(float(a))
    return "[" + ", ".join(_nested(sub, text) for sub in a) + "]"


def inline_array(a: np.ndarray, exact: bool = False) -> str:
    """An array on one line, as `show_inline` describes."""
    if a.dtype.kind in "biu":
        return _nested(a, lambda v: str(int(v)))
    offset = common_offset(a)
    if offset is not None:
        return f"{offset_text(offset)} + {inline_array(a - offset, exact)}"
    if exact:
        return _nested(a, lambda v: _float_text(v, None))
    distinct = len(np.unique(a[~np.isnan(a)])) if a.size else 0
    for decimals in (4, 6, 8, 10, 12, 14):
        texts = {_float_text(float(v), decimals) for v in a.ravel() if not math.isnan(v)}
        if len(texts) == distinct:
            return _nested(a, lambda v, d=decimals: _float_text(v, d))  # type: ignore[misc]
    return _nested(a, lambda v: _float_text(v, None))


def show_pair(got: Any, expected: Any, indent: int = 0) -> tuple[str, str]:
    """`got` and `expected` for a feedback block, with enough digits that two values
    which differ (beyond the graders' tolerance) never print alike."""
    if isinstance(got, tuple) and isinstance(expected, tuple) and len(got) == len(expected):
        pairs = [show_pair(g, e, indent + 1) for g, e in zip(got, expected)]
        return (_show_tuple([p[0] for p in pairs], indent),
                _show_tuple([p[1] for p in pairs], indent))
    if not (isinstance(got, np.ndarray) and isinstance(expected, np.ndarray)
            and got.dtype.kind in "biuf" and expected.dtype.kind in "biuf"):
        return show(got, indent), show(expected, indent)
    same = got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True))
    for precision in (4, 6, 8, 10, 12, 14, 17):
        texts = (show(got, indent, precision), show(expected, indent, precision))
        if same or texts[0] != texts[1]:
            break
    return texts[0], texts[1]


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
                func: Callable | None = None, limit: int = 12, exact: bool = False) -> str:
    """`name(x=..., gain=...)`, naming positional arguments when the signature is known.

    `limit` and `exact` are `show_inline`'s."""
    parts: list[str] = []
    names: list[str] = []
    if func is not None:
        try:
            names = list(inspect.signature(func).parameters)
        except (TypeError, ValueError):
            names = []
    for i, a in enumerate(args):
        text = show_inline(a, limit, exact)
        parts.append(f"{names[i]}={text}" if i < len(names) else text)
    parts += [f"{k}={show_inline(v, limit, exact)}" for k, v in kwargs.items()]
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
