"""Diagnosis: which catalogued mistake a learner's failing function behaves like,
or, when none does, which cause of failure shows from the outside.

The learner's function runs in the sandbox (through `submission.call`, as the
graders call it) on each exercise's probes and on inputs derived from them; the
mistake implementations and the reference run here, in the grading process.

A mistake is recognized however it is written. Its mistakes file holds the
implementation named after the id, and may hold more: `VARIANTS` (other ways
to write the same mistake) and `PROPERTIES` (tests on the output, for mistakes
whose outputs cannot match exactly). A learner's function matches an
implementation at the first of three levels that holds, and each level needs a
probe on which the implementation visibly differs from the reference:

1. the same behaviour on every probe (the same value, or both raise);
2. the same value on every probe the learner's function runs on (a function
   that raises on the others, e.g. a loop that only handles 2-D input);
3. the same behaviour on every probe of the lowest input rank (a function that
   does something else again with more axes).

The first level with a match decides. At level 1 every matching id is named
(only probes that do not separate two mistakes make two match); at levels 2
and 3 an id is named only if it is the only one, so a function that runs on
too few probes to tell mistakes apart is named nothing.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from normquiz.content import CodeExercise, Topic, load_mistakes, mistake_function_name
from normquiz.diagrams import mistake_picture
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


def _mutated(before: list[Any], after: list[Any]) -> list[int]:
    """The positions of the array arguments that a call changed."""
    import numpy as np

    return [i for i, (b, a) in enumerate(zip(before, after)) if isinstance(b, np.ndarray) and not (
        isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True))]


@dataclass
class _Behavior:
    """What a function did on one probe: raised, or returned a value (and mutated inputs?)."""

    raised: bool
    value: Any = None
    changed: list[int] = field(default_factory=list)  # positions of the arguments it changed
    error: str = ""
    line: int | None = None  # where in the learner's module it raised (None: at the call)

    @property
    def mutated(self) -> bool:
        return bool(self.changed)


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
        return _Behavior(True, error=e.message, line=e.line)
    after = r.args_after + [r.kwargs_after.get(k) for k in kwargs]
    return _Behavior(False, r.value, _mutated(list(args) + list(kwargs.values()), after))


def _same(learner: _Behavior, mistake: _Behavior) -> bool:
    if learner.raised or mistake.raised:
        return learner.raised and mistake.raised
    # A mistake that mutates its input is only matched by a learner who does too.
    return _same_value(learner.value, mistake.value) and (learner.mutated or not mistake.mutated)


def _differs(mistake: _Behavior, ref: _Behavior) -> bool:
    """Whether a mistake shows on a probe: it raises, returns or mutates otherwise."""
    if mistake.raised or ref.raised:
        return mistake.raised != ref.raised
    return not _same_value(mistake.value, ref.value) or (mistake.mutated and not ref.mutated)


@dataclass
class Cause:
    """A cause of failure that shows from the outside, named when no catalogued mistake
    matches: `id` for tests and tools, `title` and `text` for the learner."""

    id: str
    title: str
    text: str


@dataclass
class Diagnosis:
    mistakes: list[str]
    example: str = ""
    causes: list[Cause] = field(default_factory=list)
    # mistake id -> how the learner's function showed it, when not as the catalogue's
    # implementation does on every probe (a variant, or only the probes it runs on)
    notes: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- the mistakes file


def implementations(module: Any, mistake_id: str) -> list[Callable]:
    """Every implementation of one mistake: the function named after it, then its VARIANTS."""
    main = getattr(module, mistake_function_name(mistake_id), None)
    variants = list(getattr(module, "VARIANTS", {}).get(mistake_id, []))
    return ([main] if main is not None else []) + variants


def properties(module: Any, mistake_id: str) -> list[Callable]:
    """The PROPERTIES of one mistake: tests `(value, expected, args, kwargs) -> bool`."""
    found = getattr(module, "PROPERTIES", {}).get(mistake_id, [])
    return list(found) if isinstance(found, (list, tuple)) else [found]


def correct_implementations(module: Any) -> list[Callable]:
    """Other right ways to write the function (CORRECT): never failed, never diagnosed."""
    return list(getattr(module, "CORRECT", []))


def _rank(args: Any) -> int:
    """The number of axes of a probe's first array argument (0 if it has none)."""
    import numpy as np

    return next((a.ndim for a in args if isinstance(a, np.ndarray)), 0)


def _level(learner: list[_Behavior], ref: list[_Behavior], mistake: list[_Behavior],
           ranks: list[int]) -> int:
    """The level (1, 2 or 3, see the module's docstring) at which `learner` matches one
    implementation of a mistake; 0 if it does not."""
    n = range(len(learner))
    ran = [i for i in n if not learner[i].raised]
    if not ran:
        return 0  # raising alone never tells one mistake from any other crash
    if all(_same(learner[i], mistake[i]) for i in n) and any(
            _differs(mistake[i], ref[i]) for i in n):
        return 1
    if all(not mistake[i].raised and _same(learner[i], mistake[i]) for i in ran) and any(
            _differs(mistake[i], ref[i]) for i in ran):
        return 2
    low = [i for i in n if ranks[i] == min(ranks)]
    if len(low) < len(ranks) and any(i in ran for i in low) and all(
            _same(learner[i], mistake[i]) for i in low) and any(
            _differs(mistake[i], ref[i]) for i in low):
        return 3
    return 0


def _property_level(test: Callable, learner: list[_Behavior], ref: list[_Behavior],
                    probes: list) -> int:
    """The level at which `learner` shows a property of a mistake on the probes it runs
    on (the right value counts as consistent with it); 0 if it does not."""
    ran = [i for i in range(len(learner)) if not learner[i].raised]
    if not ran or any(ref[i].raised for i in ran):
        return 0
    shown = False
    for i in ran:
        if _same_value(learner[i].value, ref[i].value):
            continue
        args, kwargs = probes[i]
        try:
            holds = bool(test(learner[i].value, ref[i].value, copy.deepcopy(list(args)),
                              copy.deepcopy(dict(kwargs))))
        except Exception:  # a value the test cannot handle does not have the property
            holds = False
        if not holds:
            return 0
        shown = True
    if not shown:
        return 0
    return 1 if all(learner[i].raised == ref[i].raised for i in range(len(learner))) else 2


def _docstring(func: Callable) -> str:
    return " ".join((inspect.getdoc(func) or "").split("\n\n")[0].split())


def diagnose(topic: Topic, exercise: CodeExercise, submission: Any,
             reference: Any) -> Diagnosis:
    """Which declared mistakes the learner's function behaves like, on the probes; when
    none does, the causes of failure that show from the outside."""
    if not exercise.mistakes:
        return Diagnosis([])
    module = load_mistakes(topic, exercise.id)
    ref_func = getattr(reference, exercise.function)
    probes = [(list(args), dict(kwargs)) for args, kwargs in module.PROBES]
    learner, ref = [], []
    try:
        for args, kwargs in probes:
            learner.append(_run_learner(submission, exercise.function, args, kwargs))
            ref.append(_run_trusted(ref_func, args, kwargs))
    except LearnerTimeout:
        return Diagnosis([])
    names = list(inspect.signature(ref_func).parameters)
    matched, notes = _match(exercise, module, probes, learner, ref, names)
    diagnosis = Diagnosis(matched, notes=notes)
    shown: list[tuple[list, dict, _Behavior, _Behavior]] = []
    if not matched:
        # Changing the inputs is a mistake of its own, whatever the values returned.
        mutating = [m.id for m in exercise.mistakes
                    if any(_run_trusted(f, a, k).mutated for f in implementations(module, m.id)
                           for a, k in probes)]
        if mutating and any(b.mutated for b in learner):
            diagnosis.mistakes = mutating[:1]
        causes = _Causes(exercise, ref_func, submission, probes, learner, ref)
        diagnosis.causes = causes.find(mutation_named=bool(diagnosis.mistakes))
        shown = causes.shown
    diagnosis.example = _example(exercise, ref_func, probes, learner, ref, shown)
    return diagnosis


def _match(exercise: CodeExercise, module: Any, probes: list, learner: list[_Behavior],
           ref: list[_Behavior], names: list[str]) -> tuple[list[str], dict[str, str]]:
    """The mistakes the learner's function matches, at the first level with a match (see
    the module's docstring), and a note for each one not matched by its main
    implementation on every probe."""
    ranks = [_rank(args) for args, _ in probes]
    best: dict[str, tuple[int, Callable | None]] = {}
    for mistake in exercise.mistakes:
        found: list[tuple[int, Callable | None]] = []
        for n, func in enumerate(implementations(module, mistake.id)):
            level = _level(learner, ref, [_run_trusted(func, a, k) for a, k in probes], ranks)
            if level:
                found.append((level, func if n else None))  # None: the main implementation
        for test in properties(module, mistake.id):
            level = _property_level(test, learner, ref, probes)
            if level:
                found.append((level, test))
        if found:
            best[mistake.id] = min(found, key=lambda f: f[0])
    for level in (1, 2, 3):
        ids = [m for m, (lv, _) in best.items() if lv == level]
        if not ids:
            continue
        if level > 1 and len(ids) > 1:
            return [], {}  # too few probes to tell these mistakes apart: name none
        notes = {}
        for m in ids:
            how = best[m][1]
            parts = [_docstring(how)] if how is not None and _docstring(how) else []
            parts += [_level_note(level, probes, learner, ranks, names)] if level > 1 else []
            if parts:
                notes[m] = " ".join(parts)
        return ids, notes
    return [], {}


def _level_note(level: int, probes: list, learner: list[_Behavior], ranks: list[int],
                names: list[str]) -> str:
    if level == 2:
        failed = next(i for i, b in enumerate(learner) if b.raised)
        return (f"(Compared on the inputs your function runs on: it raised an error on "
                f"{_input(probes[failed][0], probes[failed][1], names)}.)")
    low = min(ranks)
    return (f"(Compared on the {low}-D inputs: on inputs with more axes your function "
            "goes wrong in another way too.)")


def _input(args: list, kwargs: dict, names: list[str] | None = None) -> str:
    """`the input with x of shape (2, 3)`: an input by its first array argument, named
    after the parameter `names` gives for its position."""
    import numpy as np

    labels = (names or [])[:len(args)] + list(kwargs)
    for n, value in enumerate([*args, *kwargs.values()]):
        if isinstance(value, np.ndarray):
            name = labels[n] if n < len(labels) else f"argument {n + 1}"
            return f"the input with {name} of shape {value.shape}"
    return "the input"


def _readability(args: list, kwargs: dict) -> tuple[bool, bool, int]:
    """Sort key of the inputs to show: whole numbers before fractions, both before an
    offset + small part; smaller before larger."""
    import numpy as np

    from normquiz.checks import common_offset

    arrays = [v for v in [*args, *kwargs.values()] if isinstance(v, np.ndarray)]
    offset = [a for a in arrays if common_offset(a) is not None]
    plain = [a for a in arrays if common_offset(a) is None]
    fractional = any(a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a)))
                     for a in plain)
    return bool(offset), fractional, sum(a.size for a in arrays)


def _example(exercise: CodeExercise, ref_func: Any, probes: list, learner: list[_Behavior],
             ref: list[_Behavior], derived: list[tuple[list, dict, _Behavior, _Behavior]]) -> str:
    """The most readable probe on which the learner's function fails (else a derived
    input that shows a named cause), as a call, what it gave and what was expected."""
    from normquiz.checks import format_call, show, show_pair

    failing = [(args, kwargs, lb, rb) for (args, kwargs), lb, rb in zip(probes, learner, ref)
               if not rb.raised and (lb.raised or not _same_value(lb.value, rb.value))]
    candidates = failing or derived
    if not candidates:
        return ""
    # A wrong value says more than an error; then the most readable input.
    args, kwargs, lb, rb = min(candidates,
                               key=lambda c: (c[2].raised, *_readability(c[0], c[1])))
    call = format_call(exercise.function, args, kwargs, ref_func, limit=24, exact=True)
    if lb.raised:
        error = lb.error.splitlines()[-1] if lb.error else "an error"
        return f"{call}\n  raised {error}\n  expected {show(rb.value, 11)}"
    names = _output_names(exercise.signature)
    if isinstance(rb.value, tuple) and isinstance(lb.value, (tuple, list)) and \
            len(lb.value) == len(rb.value) == len(names):
        # One output at a time: `dgain: returned ...` over `expected ...`.
        width = max(len(n) for n in names) + 2
        lines = [call]
        for name, g, e in zip(names, lb.value, rb.value):
            got, expected = show_pair(g, e, width + 11)
            lines += [f"  {name + ':':<{width}}returned {got}",
                      f"  {'':<{width}}expected {expected}"]
        return "\n".join(lines)
    got, expected = show_pair(lb.value, rb.value, 11)
    return f"{call}\n  returned {got}\n  expected {expected}"


# ---------------------------------------------------------------- named causes


# Values a learner may have written as a default instead of the contract's.
_DEFAULTS_TRIED = (0.0, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1,
                   0.5, 0.9, 0.99, 0.999, 1.0)


def _numeric(value: Any) -> bool:
    import numpy as np

    if value is None or isinstance(value, (str, bytes, dict)):
        return False
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return False
    return arr.dtype.kind in "biuf"


def _non_finite(value: Any) -> str:
    """'NaN', 'inf' or '' for a numeric value."""
    import numpy as np

    arr = np.asarray(value, dtype=float)
    return "NaN" if np.isnan(arr).any() else ("inf" if np.isinf(arr).any() else "")


def _numeric_parts(value: Any) -> bool:
    parts = value if isinstance(value, (tuple, list)) and not _numeric(value) else [value]
    return all(_numeric(v) for v in parts)


def _non_finite_parts(value: Any) -> str:
    parts = value if isinstance(value, (tuple, list)) and not _numeric(value) else [value]
    return next((w for w in map(_non_finite, parts) if w), "")


def _perturbed(value: Any) -> Any:
    """Another value for an argument, to see whether the output depends on it (None for
    arguments that are not floats). Arrays get a different positive amount added to each
    entry: no scaling or common shift, which a normalization would undo."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value + np.linspace(0.5, 1.5, value.size).reshape(value.shape) ** 2
    if isinstance(value, float):
        return value * 2.0 + 0.5
    return None


def _output_names(signature: str) -> list[str]:
    """("dx", "dgain", "dbias") from "... -> (dx, dgain, dbias)"; ["y"] from "... -> y"."""
    many = re.search(r"->\s*\(([^)]*)\)", signature)
    if many:
        return [n.strip() for n in many.group(1).split(",") if n.strip()]
    one = re.search(r"->\s*(\w+)", signature)
    return [one.group(1)] if one else ["the output"]


def _names(items: list[str]) -> str:
    quoted = [f"`{n}`" for n in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


class _Causes:
    """Causes of failure that show from the outside, looked for when no catalogued
    mistake matches: on the probes, and on inputs derived from them. The learner's
    function runs only through `submission` (the sandbox)."""

    def __init__(self, exercise: CodeExercise, ref_func: Any, submission: Any, probes: list,
                 learner: list[_Behavior], ref: list[_Behavior]) -> None:
        self.exercise, self.ref_func, self.submission = exercise, ref_func, submission
        self.fn = exercise.function
        self.params = list(inspect.signature(ref_func).parameters.values())
        self.names = [p.name for p in self.params]
        self.outputs = _output_names(exercise.signature)
        self.contract = exercise.signature.split("->")[0].strip()
        self.probes, self.learner, self.ref = probes, learner, ref
        self.out_of_time = False
        # derived inputs on which the learner's function fails: (args, kwargs, learner, ref)
        self.shown: list[tuple[list, dict, _Behavior, _Behavior]] = []

    def find(self, mutation_named: bool) -> list[Cause]:
        """The causes, the most telling first. Those about the output's form rule out the
        others; a modified input is named besides any other."""
        ran = [i for i, b in enumerate(self.learner) if not b.raised]
        if not ran:
            signature = self.signature()
            return [signature] if signature else []
        causes: list[Cause] = []
        for look in (self.returned_none, self.structure, self.shape, self.more_axes,
                     self.activation):
            cause = look(ran)
            if cause:
                causes.append(cause)
                break
        else:
            for look in (self.default, self.ignored, self.non_finite):
                cause = None if self.out_of_time else look(ran)
                if cause:
                    causes.append(cause)
        if not mutation_named:
            cause = self.modified()
            if cause:
                causes.append(cause)
        return causes

    # -- helpers

    def call(self, args: list, kwargs: dict) -> _Behavior | None:
        """The learner's function on a derived input; None once its time is up."""
        if self.out_of_time:
            return None
        try:
            return _run_learner(self.submission, self.fn, args, kwargs)
        except LearnerTimeout:
            self.out_of_time = True
            return None

    def where(self, i: int) -> str:
        args, kwargs = self.probes[i]
        return _input(args, kwargs, self.names)

    def parts(self, i: int) -> list[tuple[str, Any, Any]]:
        """(name, learner's, reference's) for each output on probe i."""
        got, want = self.learner[i].value, self.ref[i].value
        if isinstance(want, tuple):
            return [(f"`{n}`", g, w) for n, g, w in zip(self.outputs, got, want)]
        return [("an output", got, want)]

    # -- the causes about the output's form

    def signature(self) -> Cause | None:
        # A TypeError about the arguments, raised by the call itself: no line of the
        # learner's module ran (a TypeError from inside it is another matter).
        errors = [b.error.splitlines()[-1] if b.error else "" for b in self.learner]
        if not errors or not all("TypeError" in e and "argument" in e and b.line is None
                                 for e, b in zip(errors, self.learner)):
            return None
        error = errors[0] if errors[0].endswith((".", "?", "!")) else errors[0] + "."
        return Cause("signature", "A signature other than the contract's",
                     f"Called as the contract says, {self.fn} raised {error} Its "
                     f"signature must be `{self.contract}`: the same arguments, in the same "
                     "order, with the same defaults.")

    def returned_none(self, ran: list[int]) -> Cause | None:
        nones = [i for i in ran if self.learner[i].value is None]
        if not nones:
            return None
        where = "on every input" if len(nones) == len(ran) else f"on {self.where(nones[0])}"
        result = ", ".join(self.outputs)
        return Cause("returned-none", "Returns None",
                     f"{self.fn} returned None {where}. A function that reaches its end "
                     "without a `return` statement returns None, and so does one that only "
                     f"updates an array in place: end it with `return {result}`.")

    def structure(self, ran: list[int]) -> Cause | None:
        from normquiz.checks import show

        for i in ran:
            got, want = self.learner[i].value, self.ref[i].value
            if isinstance(want, tuple):
                names = ", ".join(self.outputs)
                if not isinstance(got, (tuple, list)):
                    return Cause("wrong-number-of-outputs",
                                 f"Returns one value, not {len(want)}",
                                 f"{self.fn} returned one value; the contract returns a tuple "
                                 f"of {len(want)} arrays, in this order: ({names}). End with "
                                 f"`return {names}`.")
                if len(got) != len(want):
                    return Cause("wrong-number-of-outputs",
                                 f"Returns {len(got)} values, not {len(want)}",
                                 f"{self.fn} returned {len(got)} values; the contract returns "
                                 f"{len(want)}, in this order: ({names}).")
                continue
            if isinstance(got, tuple) or (isinstance(got, list) and not _numeric(got)):
                right = [n for n, item in enumerate(got) if _same_value(item, want)]
                which = f" Its item {right[0] + 1} is the right output." if right else ""
                return Cause("returned-tuple", "Returns a tuple, not one array",
                             f"{self.fn} returned a {type(got).__name__} of {len(got)} items "
                             f"on {self.where(i)}, where the contract returns one array, "
                             f"{self.outputs[0]}.{which} If the other items are values kept "
                             "for a backward pass (a cache), leave them out: return "
                             f"{self.outputs[0]} alone.")
        for i in ran:
            for name, got, _ in self.parts(i):
                if not _numeric(got):
                    return Cause("not-an-array", "Returns something other than an array",
                                 f"{self.fn} returned {show(got)[:60]} as {name} on "
                                 f"{self.where(i)}; the contract returns numpy arrays of "
                                 "float64.")
        return None

    def shape(self, ran: list[int]) -> Cause | None:
        import numpy as np

        for i in ran:
            for name, got, want in self.parts(i):
                g, w = np.asarray(got), np.asarray(want)
                if g.shape == w.shape:
                    continue
                if w.ndim >= 2 and g.shape == w.swapaxes(-1, -2).shape and _same_value(
                        g, w.swapaxes(-1, -2)):
                    return Cause("transposed-output", "Returns the transpose of the output",
                                 f"On {self.where(i)}, {self.fn} returned {name} of shape "
                                 f"{g.shape}: the transpose of the right one, of shape "
                                 f"{w.shape} (its entry [j, i] is the right entry [i, j]). "
                                 "Keep the contract's layout, one training case per row: look "
                                 "for a `.T` too many, or a product in column form (W @ x.T) "
                                 "where the row form (x @ W.T) belongs.")
                if g.ndim < w.ndim:
                    hint = ("An axis is missing: a sum or mean over an axis the result should "
                            "keep?")
                elif g.ndim > w.ndim:
                    hint = ("It has an axis too many: a sum over too few axes, or two arrays "
                            "broadcast against each other along different axes?")
                else:
                    hint = "Check the axis of each sum or mean, and the shapes you broadcast."
                if tuple(n for n in g.shape if n != 1) == tuple(n for n in w.shape if n != 1):
                    hint = ("Its extra axes have length 1: keepdims=True on a result that "
                            "should lose the axis, or a reshape to a column?")
                return Cause("wrong-shape", "An output of the wrong shape",
                             f"On {self.where(i)}, {self.fn} returned {name} of shape "
                             f"{g.shape}; the right one has shape {w.shape}. {hint}")
        return None

    def more_axes(self, ran: list[int]) -> Cause | None:
        ranks = [_rank(args) for args, _ in self.probes]
        low = min(ranks)
        lows = [i for i, r in enumerate(ranks) if r == low]
        if len(lows) == len(ranks) or not all(
                i in ran and _same_value(self.learner[i].value, self.ref[i].value)
                for i in lows):
            return None
        bad = [i for i, r in enumerate(ranks) if r > low and not self.ref[i].raised and (
            self.learner[i].raised or not _same_value(self.learner[i].value, self.ref[i].value))]
        if not bad:
            return None
        i = bad[0]
        b = self.learner[i]
        how = (f"raised {b.error.splitlines()[-1] if b.error else 'an error'}" if b.raised
               else "returned other values than the right ones")
        return Cause("fails-with-more-axes", f"Right on {low}-D input only",
                     f"{self.fn} is right on every {low}-D input, but on {self.where(i)} "
                     f"({ranks[i]}-D) it {how}. The contract allows more axes: count them from "
                     "the end (axis=-1, x.shape[-1]) or reshape with -1, rather than fixing "
                     "their number (`N, H = x.shape`, axis=1, a loop over rows).")

    def activation(self, ran: list[int]) -> Cause | None:
        import numpy as np

        if "tanh" not in self.exercise.prompt:
            return None
        values = [self.ref[i].value for i in ran]
        if not all(isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size
                   and bool(np.all(np.abs(v) < 1)) for v in values):
            return None
        others: list[tuple[str, Callable]] = [
            ("ReLU", lambda z: np.maximum(z, 0.0)),
            ("the logistic sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z))),
        ]
        for name, f in others:
            if all(_same_value(self.learner[i].value, f(np.arctanh(self.ref[i].value)))
                   for i in ran):
                return Cause("other-activation", f"{name[0].upper()}{name[1:]} in place of tanh",
                             f"Your output is {name} of the values that tanh should squash: "
                             "the right output is tanh of the same normalized, scaled and "
                             "shifted summed inputs. Apply np.tanh, as the contract says.")
        return None

    # -- the causes found by calling the function on derived inputs

    def default(self, ran: list[int]) -> Cause | None:
        import numpy as np

        args, kwargs = self.probes[ran[0]]
        for pos, p in enumerate(self.params):
            if p.default is inspect.Parameter.empty or isinstance(p.default, bool) or \
                    not isinstance(p.default, (int, float)):
                continue
            for scale in (1.0, 1e-3):
                a = [v * scale if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
                     for v in args[:pos]]
                k = {n: v * scale if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
                     for n, v in kwargs.items() if n != p.name}
                omitted, explicit = self.call(a, k), self.call(a, {**k, p.name: p.default})
                if omitted is None or explicit is None:
                    return None
                if omitted.raised or explicit.raised or _same_value(omitted.value,
                                                                    explicit.value):
                    continue
                right = _run_trusted(self.ref_func, a, k)
                self.shown.append((a, k, omitted, right))
                as_if = ""
                if _same_value(explicit.value, right.value):
                    for c in _DEFAULTS_TRIED:
                        if c != p.default and _same_value(
                                omitted.value,
                                _run_trusted(self.ref_func, a, {**k, p.name: c}).value):
                            as_if = f"; it behaves as if {p.name} = {c:g}"
                            break
                return Cause("default-differs", f"The default {p.name} is not {p.default:g}",
                             f"Called without `{p.name}`, {self.fn} gives another result "
                             f"than with {p.name}={p.default:g} passed ({_input(a, k, self.names)}"
                             f"){as_if}: the default in your `def` line is not the contract's. "
                             f"The contract is `{self.contract}`; graders and callers that "
                             f"leave {p.name} out rely on that default.")
        return None

    def ignored(self, ran: list[int]) -> Cause | None:
        finite = [i for i in ran if _numeric_parts(self.learner[i].value)
                  and not _non_finite_parts(self.learner[i].value)]
        if not finite:
            return None
        i = finite[0]
        args, kwargs = self.probes[i]
        ignored = []
        for pos, p in enumerate(self.params):
            if pos < len(args):
                value = args[pos]
            elif p.name in kwargs:
                value = kwargs[p.name]
            elif p.default is not inspect.Parameter.empty:
                value = p.default
            else:
                continue
            new = _perturbed(value)
            if new is None:
                continue
            a, k = list(args), dict(kwargs)
            if pos < len(a):
                a[pos] = new
            else:
                k[p.name] = new
            right = _run_trusted(self.ref_func, a, k)
            if right.raised or _same_value(right.value, self.ref[i].value):
                continue
            b = self.call(a, k)
            if b is None:
                return None
            if not b.raised and _same_value(b.value, self.learner[i].value):
                ignored.append(p.name)
        if not ignored:
            return None
        it = "it" if len(ignored) == 1 else "them"
        verb = "it is" if len(ignored) == 1 else "they are"
        eps = (" ε belongs under the square root, next to the variance: √(σ² + ε)."
               if "eps" in ignored else "")
        return Cause("ignores-argument", f"The output ignores {_names(ignored)}",
                     f"Changing {_names(ignored)} leaves {self.fn}'s output as it was (tried "
                     f"on {self.where(i)}), but the right output depends on {it}: {verb} "
                     f"never used, or overwritten before use.{eps}")

    def non_finite(self, ran: list[int]) -> Cause | None:
        import numpy as np

        def bad(got: Any, want: Any) -> str:
            pairs = zip(got, want) if isinstance(want, tuple) else [(got, want)]
            for g, w in pairs:
                if _numeric(g) and _numeric(w) and not _non_finite(w):
                    what = _non_finite(g)
                    if what:
                        return what
            return ""

        for i in ran:
            what = bad(self.learner[i].value, self.ref[i].value)
            if what:
                return Cause("non-finite", f"{what} in the output",
                             f"{self.fn} returned {what} on {self.where(i)}, where the right "
                             "output is finite. A division by zero, or the square root of a "
                             "negative number, gives NaN or inf: which of your divisions or "
                             "roots meets one there?")
        # Every array filled with ones: every variance is 0. The first probe on which the
        # right output is still finite (an eps = 0 probe gives 0/0 there).
        for i in ran:
            args, kwargs = self.probes[i]
            a = [np.ones_like(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
                 for v in args]
            k = {n: np.ones_like(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
                 for n, v in kwargs.items()}
            right = _run_trusted(self.ref_func, a, k)
            if not right.raised and not bad(right.value, right.value) and not _non_finite(
                    np.concatenate([np.ravel(v) for v in right.value])
                    if isinstance(right.value, tuple) else right.value):
                break
        else:
            return None
        b = self.call(a, k)
        if b is None or b.raised or not _numeric(b.value if not isinstance(b.value, (tuple, list))
                                                 else b.value[0]):
            return None
        what = bad(b.value, right.value)
        if not what:
            return None
        self.shown.append((a, k, b, right))
        return Cause("non-finite", f"{what} in the output",
                     f"{self.fn} returned {what} when every array it is given is filled with "
                     "ones, where the right output is finite. Then every variance is 0: a "
                     "division by a standard deviation without ε under the square root gives "
                     "0/0 = NaN.")

    def modified(self) -> Cause | None:
        for (args, kwargs), b in zip(self.probes, self.learner):
            if b.changed:
                labels = self.names[:len(args)] + list(kwargs)
                names = [labels[j] if j < len(labels) else f"argument {j + 1}"
                         for j in b.changed]
                first = names[0]
                s = "" if len(names) == 1 else "s"
                return Cause("modified-input", f"{_names(names)} modified in place",
                             f"{self.fn} changed its argument{s} {_names(names)} in place (on "
                             f"{_input(args, kwargs, self.names)}). The contract leaves every "
                             f"input as it was: an in-place update such as `{first} -= ...`, "
                             f"`{first} *= ...` or `{first}[...] = ...` overwrites the "
                             "caller's array, which the rest of the program may still need. "
                             f"Build new arrays instead (`{first} - mu` rather than "
                             f"`{first} -= mu`).")
        return None


def _wrap(text: str) -> list[str]:
    """Lines of at most 78 characters that never break inside `code`, [i, j] or (2, 3)."""
    import textwrap

    kept = re.sub(r"`[^`]*`|\[[^\]]{0,16}\]|\([^()]{0,16}\)",
                  lambda m: m.group(0).replace(" ", "\u00a0"), text)
    return [line.replace("\u00a0", " ") for line in textwrap.wrap(kept, 78)]


def diagnosis_lines(exercise: CodeExercise, diagnosis: Diagnosis) -> list[str]:
    """The feedback lines naming each diagnosed mistake and why it is one, then each
    named cause."""
    lines: list[str] = []
    for m in diagnosis.mistakes:
        mistake = exercise.mistake(m)
        lines += ["", f"Diagnosis: {mistake.title} [{m}]"]
        if m in diagnosis.notes:
            lines += _wrap(diagnosis.notes[m])
        lines += plain_math(mistake.feedback.strip()).splitlines()
        # A grouping mistake (wrong-axis, instance-norm, ...) as a picture: what the
        # function grouped beside what it should group. Plain letters: feedback also
        # goes into JSON, JUnit and Gradescope's output.
        picture = mistake_picture(m, exercise.picture or exercise.id)
        if picture is not None:
            lines += ["", *picture.splitlines()]
    for cause in diagnosis.causes:
        lines += ["", f"Diagnosis: {cause.title}"]
        lines += _wrap(cause.text)
    return lines
