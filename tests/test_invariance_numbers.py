"""The invariance topic: every number quoted in its manifests recomputed, numeric questions checked.

errata.md's Table 1 experiment is recomputed here with an implementation of
its own (not quizzes/invariance/generators.py) and compared with errata.md's
figures; the small counterexamples are recomputed too. Then every number in
each manifest must be one of the values computed for that manifest (its own
cell's figures, the shared counterexamples and the stated parameters), so a
figure copied into the wrong cell fails as well as a typo. The numeric
questions' answers are recomputed independently from the generated data for
many seeds, and each catalogued mistake is diagnosed as itself.
"""

from __future__ import annotations

import math
import re
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import default_catalog
from normquiz.questions import generate

TOPIC = default_catalog().topic("invariance")
SEEDS = st.integers(min_value=0, max_value=2**31)
METHODS = ("bn", "wn", "ln")
TRANSFORMATIONS = ("weight_rescaling", "weight_recentering", "weight_vector_rescaling",
                   "dataset_rescaling", "dataset_recentering", "single_case_rescaling")

# ---------------------------------------------------------------- errata.md's experiment


def _errata_setup():
    # N = 8, D = 4, H = 5, seed 0; draws in the order X, W, g, b, gamma, c.
    rng = np.random.default_rng(0)
    x = rng.normal(0.5, 2.0, (8, 4))
    w = rng.normal(0.0, 1.0, (5, 4))
    g = rng.uniform(0.5, 2.0, 5)
    b = rng.normal(0.0, 1.0, 5)
    gamma = rng.normal(0.0, 1.0, 4)
    c = rng.normal(0.0, 5.0, 4)
    return x, w, g, b, gamma, c


def _out(method, x, w, g, b, eps):
    a = np.einsum("nd,hd->nh", x, w)
    if method == "wn":
        return g * a / np.sqrt((w * w).sum(axis=1)) + b
    axis = 0 if method == "bn" else 1
    mu = a.mean(axis=axis, keepdims=True)
    var = ((a - mu) ** 2).mean(axis=axis, keepdims=True)
    return g * (a - mu) / np.sqrt(var + eps) + b


def _transformed(name, x, w, gamma, c, delta=3.7):
    x, w = x.copy(), w.copy()
    if name == "weight_rescaling":
        w = delta * w
    elif name == "weight_recentering":
        w = w + gamma[None, :]
    elif name == "weight_vector_rescaling":
        w[1] *= delta  # unit i = 1
    elif name == "dataset_rescaling":
        x = delta * x
    elif name == "dataset_recentering":
        x = x + c[None, :]
    else:
        x[2] *= delta  # case n = 2
    return x, w


def changes(method, transformation, eps=0.0, delta=3.7):
    x, w, g, b, gamma, c = _errata_setup()
    x2, w2 = _transformed(transformation, x, w, gamma, c, delta)
    return np.abs(_out(method, x2, w2, g, b, eps) - _out(method, x, w, g, b, eps))


# errata.md's two tables: (eps = 0, eps = 1e-5); WN has no eps.
ERRATA = {
    ("bn", "weight_rescaling"): ("4.4e-16", "1.1e-5"),
    ("wn", "weight_rescaling"): ("8.9e-16", "8.9e-16"),
    ("ln", "weight_rescaling"): ("5.6e-16", "8.3e-6"),
    ("bn", "weight_recentering"): ("4.19", "4.19"),
    ("wn", "weight_recentering"): ("8.18", "8.18"),
    ("ln", "weight_recentering"): ("8.9e-16", "8.9e-16"),
    ("bn", "weight_vector_rescaling"): ("2.2e-16", "4.7e-7"),
    ("wn", "weight_vector_rescaling"): ("4.4e-16", "4.4e-16"),
    ("ln", "weight_vector_rescaling"): ("1.10", "1.10"),
    ("bn", "dataset_rescaling"): ("4.4e-16", "1.1e-5"),
    ("wn", "dataset_rescaling"): ("15.9", "15.9"),
    ("ln", "dataset_rescaling"): ("8.9e-16", "8.3e-6"),
    ("bn", "dataset_recentering"): ("1.3e-15", "1.3e-15"),
    ("wn", "dataset_recentering"): ("17.2", "17.2"),
    ("ln", "dataset_recentering"): ("4.26", "4.26"),
    ("bn", "single_case_rescaling"): ("1.49", "1.49"),
    ("wn", "single_case_rescaling"): ("6.54", "6.54"),
    ("ln", "single_case_rescaling"): ("0", "1.7e-6"),
}
ROUNDING = 1e-12  # errata's rounding-level figures depend on the BLAS build; check the magnitude


def _as_printed(value: float, figure: str) -> str:
    """value printed the way errata.md prints `figure`: 1.10, 15.9, 0.076 or 8.3e-6."""
    if "e-" in figure:
        return f"{value:.1e}".replace("e-0", "e-")
    significant = len(figure.replace(".", "").lstrip("0"))
    return f"{value:#.{significant}g}"


def _errata_matches(value: float, figure: str) -> bool:
    if float(figure) < 1e-9:
        return value < ROUNDING
    return _as_printed(value, figure) == figure


@pytest.mark.parametrize("cell", sorted(ERRATA), ids=lambda c: f"{c[0]}-{c[1]}")
def test_experiment_matches_errata(cell):
    eps0, eps5 = ERRATA[cell]
    assert _errata_matches(float(changes(*cell).max()), eps0)
    assert _errata_matches(float(changes(*cell, eps=1e-5).max()), eps5)


# Further figures quoted from errata.md's extra checks, recomputed.
EXTRAS = {
    "bn-single-others": (float(np.delete(changes("bn", "single_case_rescaling").max(axis=1),
                                         2).max()), "1.06"),
    "bn-tiny-delta": (float(changes("bn", "weight_rescaling", 1e-5, 0.001).max()), "1.89"),
    "ln-tiny-delta": (float(changes("ln", "weight_rescaling", 1e-5, 0.001).max()), "1.50"),
    "ln-data-rescaling-eps-.1": (float(changes("ln", "dataset_rescaling", 0.1).max()), "0.076"),
}


@pytest.mark.parametrize("name", sorted(EXTRAS))
def test_extra_checks_match_errata(name):
    value, figure = EXTRAS[name]
    assert _as_printed(value, figure) == figure


def test_recentering_survives_large_eps():
    # errata subtlety 2: LN x weight re-centering and BN x data re-centering stay exact
    # even at eps = 0.1, because re-centering leaves sigma unchanged.
    assert changes("ln", "weight_recentering", 0.1).max() < ROUNDING
    assert changes("bn", "dataset_recentering", 0.1).max() < ROUNDING


# ---------------------------------------------------------------- the small counterexamples


def ln(a, ddof=0):
    a = np.asarray(a, float)
    return (a - a.mean()) / a.std(ddof=ddof)


W = np.array([[1.0, 0], [0, 1], [1, 1]])
X = np.array([1.0, 2])
A = W @ X
A_WEIGHTS = (W + np.array([1.0, 1])) @ X  # W + 1c^T with c = [1, 1] (errata claims 51-53)
A_DATA = W @ (X + np.array([1.0, 0]))  # x + c with c = [1, 0]


def notes_formula(a, c, x):
    # The notes' LN(x') = (w^T x + c^T x - mu - c^T) / sqrt(var + (c^T (x - 1))^2), c^T as sum(c).
    return (a + c @ x - a.mean() - c.sum()) / np.sqrt(a.var() + float(c @ (x - 1)) ** 2)


COUNTEREXAMPLES = {
    "a": (A, "[1.0000, 2.0000, 3.0000]"),
    "a' (weights)": (A_WEIGHTS, "[4.0000, 5.0000, 6.0000]"),
    "mean before, after": ([A.mean(), A_WEIGHTS.mean()], "[2.0000, 5.0000]"),
    "variance before, after": ([A.var(), A_WEIGHTS.var()], "[0.6667, 0.6667]"),
    "LN(a)": (ln(A), "[-1.2247, 0.0000, 1.2247]"),
    "LN(a') (weights)": (ln(A_WEIGHTS), "[-1.2247, 0.0000, 1.2247]"),
    "notes' formula": (notes_formula(A, np.array([1.0, 1]), X), "[0.0000, 0.7746, 1.5492]"),
    # Not in errata.md: computed here only.
    "a' (data)": (A_DATA, None),
    "Wc (data)": (W @ np.array([1.0, 0]), None),
    "LN(a') (data)": (ln(A_DATA), None),
    "changes (data)": (np.abs(ln(A_DATA) - ln(A)), None),
    "LN(a') with H - 1": (ln(A_WEIGHTS, ddof=1), None),
}


def fmt(value, digits=4):
    arr = np.asarray(value, float)
    if arr.ndim == 0:
        return f"{float(arr):.{digits}f}".replace("-0.0000", "0.0000")
    return "[" + ", ".join(fmt(v, digits) for v in arr) + "]"


@pytest.mark.parametrize("name", [n for n, (_, e) in COUNTEREXAMPLES.items() if e])
def test_counterexample_matches_errata(name):
    value, expected = COUNTEREXAMPLES[name]
    assert fmt(value) == expected


# ---------------------------------------------------------------- beyond Table 1


def combined_changes(eps=0.0):
    """errata's extra check: Eq. 6 with both parts, W' = 3.7 W + 1 gamma^T, under LN."""
    x, w, g, b, gamma, c = _errata_setup()
    return np.abs(_out("ln", x, 3.7 * w + gamma[None, :], g, b, eps) - _out("ln", x, w, g, b, eps))


# errata.md: "6.7e-16 at eps = 0 and 8.3e-6 at eps = 1e-5".
COMBINED = {0.0: "6.7e-16", 1e-5: "8.3e-6"}


@pytest.mark.parametrize("eps", sorted(COMBINED))
def test_eq6_both_parts_matches_errata(eps):
    assert _errata_matches(float(combined_changes(eps).max()), COMBINED[eps])


def test_negative_factor_flips_every_method():
    # errata subtlety 1: W' = -2W gives (out' - b) = -(out - b) exactly, for BN, WN and LN.
    x, w, g, b, _, _ = _errata_setup()
    for method in METHODS:
        before, after = _out(method, x, w, g, b, 0.0), _out(method, x, -2 * w, g, b, 0.0)
        assert np.abs((after - b) + (before - b)).max() < ROUNDING
        assert np.abs(after - before).max() > 1.0  # and the output really moved


def input_normalized(x, w):
    """Each case's input normalized over its D entries (eps = 0), then W x_hat: nothing
    normalized after the weights (the arrangement the paper's remark in 5.1 is about)."""
    x_hat = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    return x_hat @ w.T


@pytest.mark.parametrize("transformation", ["weight_rescaling", "weight_recentering"])
def test_normalizing_the_input_loses_the_weight_invariances(transformation):
    # errata subtlety 8: LN must be applied to the summed inputs a = Wx.
    x, w, g, b, gamma, c = _errata_setup()
    _, w2 = _transformed(transformation, x, w, gamma, c)
    assert np.abs(input_normalized(x, w2) - input_normalized(x, w)).max() > 1.0
    assert changes("ln", transformation).max() < ROUNDING


# Small examples of the questions beyond Table 1, recomputed.
NEGATIVE_CASE = np.array([1.0, 3, 5, 7])
INPUT_X, INPUT_W = np.array([1.0, 3]), W
BEYOND = {
    "inv_negative_scale": {
        "y = 2 LN(a) - 1": (2 * ln(NEGATIVE_CASE) - 1, "[-3.6833, -1.8944, -0.1056, 1.6833]"),
        "sigma of -2a": (np.std(-2 * NEGATIVE_CASE), "4.4721"),
        "LN(-2a)": (ln(-2 * NEGATIVE_CASE), "[1.3416, 0.4472, -0.4472, -1.3416]"),
        "y' = 2 LN(-2a) - 1": (2 * ln(-2 * NEGATIVE_CASE) - 1,
                               "[1.6833, -0.1056, -1.8944, -3.6833]"),
    },
    "inv_input_normalization": {
        "W x_hat": (INPUT_W @ ln(INPUT_X), "[-1.0000, 1.0000, 0.0000]"),
        "2W x_hat": (2 * INPUT_W @ ln(INPUT_X), "[-2.0000, 2.0000, 0.0000]"),
        "(W + 1 gamma^T) x_hat": ((INPUT_W + np.array([1.0, 2])) @ ln(INPUT_X),
                                  "[0.0000, 2.0000, 1.0000]"),
        "LN(W x)": (ln(INPUT_W @ INPUT_X), "[-1.3363, 0.2673, 1.0690]"),
        "LN(2W x)": (ln(2 * INPUT_W @ INPUT_X), "[-1.3363, 0.2673, 1.0690]"),
        "LN((W + 1 gamma^T) x)": (ln((INPUT_W + np.array([1.0, 2])) @ INPUT_X),
                                  "[-1.3363, 0.2673, 1.0690]"),
    },
    "inv_ln_weight_scale_shift": {
        "a' = (2W + 1 gamma^T) x": ((2 * W + np.array([1.0, 1])) @ X, "[5.0000, 7.0000, 9.0000]"),
        "LN(a')": (ln((2 * W + np.array([1.0, 1])) @ X), "[-1.2247, 0.0000, 1.2247]"),
        "LN(a') with H - 1": (ln((2 * W + np.array([1.0, 1])) @ X, ddof=1),
                              "[-1.0000, 0.0000, 1.0000]"),
    },
}


@pytest.mark.parametrize("name", [(q, n) for q, items in BEYOND.items() for n in items],
                         ids=lambda qn: f"{qn[0]}:{qn[1]}")
def test_beyond_table_examples(name):
    value, expected = BEYOND[name[0]][name[1]]
    assert fmt(value) == expected


def test_data_counterexample():
    assert fmt(A_DATA) == "[2.0000, 2.0000, 4.0000]"
    assert fmt(ln(A_DATA)) == "[-0.7071, -0.7071, 1.4142]"
    assert fmt(np.abs(ln(A_DATA) - ln(A))) == "[0.5176, 0.7071, 0.1895]"
    assert fmt(ln(A_WEIGHTS, ddof=1)) == "[-1.0000, 0.0000, 1.0000]"


# ---------------------------------------------------------------- the guard

# Stated parameters: delta = 3.7, the tiny factor 0.001, eps = 1e-5 and 0.1.
PARAMETERS = [3.7, 0.001, 0.1]
SCI_PARAMETERS = {"1e-5"}
RELATED_CELL = {"inv_ln_weight_shift": ("ln", "weight_recentering"),
                "inv_ln_weight_scale_shift": ("ln", "weight_recentering"),
                "inv_ln_data_shift": ("ln", "dataset_recentering"),
                "inv_negative_scale": ("ln", "weight_rescaling"),
                "inv_input_normalization": ("ln", "weight_recentering")}
CELL_EXTRAS = {
    ("bn", "single_case_rescaling"): ["bn-single-others"],
    ("bn", "weight_rescaling"): ["bn-tiny-delta"],
    ("ln", "weight_rescaling"): ["ln-tiny-delta"],
    ("ln", "dataset_rescaling"): ["ln-data-rescaling-eps-.1"],
}
NUMBER = re.compile(r"(?<![\d.§])\d+(?:\.\d+)?(?:e-\d+)?(?!\d|\.\d)")


def _allowed(exercise_id):
    """(decimal values, sci strings) that the manifest of exercise_id may quote."""
    if exercise_id in RELATED_CELL:
        cell = RELATED_CELL[exercise_id]
    else:
        method, transformation = exercise_id.removeprefix("inv_").split("_", 1)
        cell = (method, transformation)
    values = [float(v) for v, _ in COUNTEREXAMPLES.values() for v in np.ravel(v)]
    values += PARAMETERS + [EXTRAS[name][0] for name in CELL_EXTRAS.get(cell, [])]
    values += [float(v) for v, _ in BEYOND.get(exercise_id, {}).values() for v in np.ravel(v)]
    sci = set(SCI_PARAMETERS)
    if exercise_id == "inv_ln_weight_scale_shift":
        sci |= {COMBINED[eps] for eps in COMBINED
                if _errata_matches(float(combined_changes(eps).max()), COMBINED[eps])}
    for eps in (0.0, 1e-5):
        value = float(changes(*cell, eps=eps).max())
        if value < ROUNDING:
            sci.add(ERRATA[cell][eps > 0])  # quoted as errata.md prints it
        elif value < 1e-3:
            sci.add(f"{value:.1e}".replace("e-0", "e-"))
        else:
            values.append(value)
    return values, sci


@pytest.mark.parametrize("exercise_id", [e.id for e in TOPIC.exercises])
def test_every_quoted_number_is_computed(exercise_id):
    path = TOPIC.manifest_path(exercise_id, False)
    text = path.read_text(encoding="utf-8").replace("−", "-")
    values, sci = _allowed(exercise_id)
    unknown = []
    for q in set(NUMBER.findall(text)):
        if "e-" in q:
            ok = q in sci
        elif "." in q:
            digits = len(q.split(".")[1])
            ok = any(f"{abs(v):.{digits}f}" == q for v in values)
        else:
            continue  # integers: sizes, indexes, list entries
        if not ok:
            unknown.append(q)
    assert not unknown, f"{path.name}: numbers no test computes for this cell: {sorted(unknown)}"


# ---------------------------------------------------------------- numeric questions


def _ln_list(a):
    mu, sigma = statistics.fmean(a), statistics.pstdev(a)
    return [(v - mu) / sigma for v in a]


def _matvec(w, x):
    return [math.fsum(wi * xi for wi, xi in zip(row, x)) for row in w]


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_ln_weight_shift_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("inv_ln_weight_shift"), seed)
    w, x, gamma = g.data["W"], g.data["x"], g.data["gamma"]
    assert len(w) == g.data["h"] > len(w[0]) == g.data["d"] == len(x) == len(gamma)
    shifted = _matvec([[wij + gj for wij, gj in zip(row, gamma)] for row in w], x)
    expected = _ln_list(shifted)
    assert len(g.answer) == len(w)
    assert all(math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-12) for a, e in zip(g.answer, expected))
    # The point of the question: the re-centering changes nothing.
    unshifted = _ln_list(_matvec(w, x))
    assert all(math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-12) for a, e in zip(expected, unshifted))
    notes = notes_formula(np.array(_matvec(w, x)), np.array(gamma, float), np.array(x, float))
    assert g.mistakes["ln-recentering-not-invariant"] == pytest.approx(list(notes))


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_ln_data_shift_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("inv_ln_data_shift"), seed)
    w, x, c = g.data["W"], g.data["x"], g.data["c"]
    assert len(w) == g.data["h"] > len(w[0]) == g.data["d"] == len(x) == len(c)
    before = _ln_list(_matvec(w, x))
    after = _ln_list(_matvec(w, [xi + ci for xi, ci in zip(x, c)]))
    expected = max(abs(p - q) for p, q in zip(after, before))
    assert math.isclose(g.answer[0], expected, rel_tol=1e-9, abs_tol=1e-12)
    assert g.answer[0] > 0.01  # never the special case where LN happens to be unchanged


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_ln_weight_scale_shift_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("inv_ln_weight_scale_shift"), seed)
    w, x, gamma, delta = g.data["W"], g.data["x"], g.data["gamma"], g.data["delta"]
    assert len(w) == g.data["h"] > len(w[0]) == g.data["d"] == len(x) == len(gamma)
    assert delta > 0 and any(gamma)
    changed = [[delta * wij + gj for wij, gj in zip(row, gamma)] for row in w]
    expected = _ln_list(_matvec(changed, x))
    assert all(math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-12) for a, e in zip(g.answer, expected))
    # Eq. 6: re-scaling and re-centering together still change nothing.
    unchanged = _ln_list(_matvec(w, x))
    assert all(math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-12) for a, e in zip(expected, unchanged))
    notes = notes_formula(delta * np.array(_matvec(w, x)), np.array(gamma, float),
                          np.array(x, float))
    assert g.mistakes["ln-recentering-not-invariant"] == pytest.approx(list(notes))
    shifted = _matvec(changed, x)
    mu, sd = statistics.fmean(shifted), statistics.stdev(shifted)
    assert g.mistakes["unbiased-variance"] == pytest.approx([(v - mu) / sd for v in shifted])


def _demo(exercise_id):
    from normquiz.questions import demonstrate

    return " ".join(demonstrate(TOPIC, TOPIC.exercise(exercise_id)).split())


def test_eq6_demonstration_reports_errata_numbers():
    text = _demo("inv_ln_weight_scale_shift")
    assert "W′ = δW + 1γᵀ with δ = 3.7" in text and "seed 0" in text
    at_zero = re.search(r"Max absolute change, ε = 0: " + NUMBER.pattern, text).group(0)
    assert float(at_zero.rsplit(" ", 1)[1]) < ROUNDING  # errata: 6.7e-16, rounding
    assert "With ε = 1e-5 inside the square root: 8.3e-6" in text  # errata: 8.3e-6


def test_negative_scale_demonstration_shows_the_flip():
    text = _demo("inv_negative_scale")
    for name in ("Batch norm", "Layer norm", "Weight norm"):
        line = re.search(name + r": max absolute change (\S+); max \|\(out′ − b\) \+ "
                         r"\(out − b\)\| (\S+),", text)
        change, flip = float(line.group(1)), float(line.group(2))
        assert change > 1.0 and flip < ROUNDING, (name, change, flip)


def test_input_normalization_demonstration():
    text = _demo("inv_input_normalization")
    found = re.findall(r"max absolute change (\S+) \(not invariant: the output changes\); "
                       r"layer norm after the weights: (\S+)\.", text)
    assert len(found) == 2
    for change, ln_change in found:
        assert float(change) > 1.0 and float(ln_change) < ROUNDING
