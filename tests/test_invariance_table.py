"""Table 1 by experiment: the invariance topic's answer key, checked with numbers.

For each of the 18 cells the transformation is applied to random weights and
data (eps = 0, positive scale factors, several seeds and shapes), with batch,
weight and layer norm written here, independently of
quizzes/invariance/generators.py. The normalized output must change (max
change > 1e-3) or stay put (< 1e-9) exactly as the question's correct option
says. The live demonstration `normquiz explain` shows for each cell must
report errata.md's numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from normquiz.content import default_catalog
from normquiz.questions import demonstrate

TOPIC = default_catalog().topic("invariance")
METHODS = ("bn", "wn", "ln")
TRANSFORMATIONS = ("weight_rescaling", "weight_recentering", "weight_vector_rescaling",
                   "dataset_rescaling", "dataset_recentering", "single_case_rescaling")
CELLS = [(m, t) for m in METHODS for t in TRANSFORMATIONS]

# The paper's Table 1 as errata.md prints it (True = invariant).
TABLE_1 = {
    "bn": (True, False, True, True, True, False),
    "wn": (True, False, True, False, False, False),
    "ln": (True, True, False, True, False, True),
}


# ---------------------------------------------------------------- an independent implementation


def summed_inputs(x, w):
    # einsum rather than the generators' matmul: a different code path for the same a = W x.
    return np.einsum("nd,hd->nh", x, w)


def normalized(method, x, w, g, b):
    """g / sigma * (a - mu) + b, eps = 0, for every case (rows) and unit (columns)."""
    a = summed_inputs(x, w)
    if method == "wn":
        sigma = np.sqrt(np.einsum("hd,hd->h", w, w))
        return g * a / sigma + b
    axis = 0 if method == "bn" else 1  # BN: over the cases; LN: over the units
    mu = np.mean(a, axis=axis, keepdims=True)
    sigma = np.sqrt(np.mean((a - mu) ** 2, axis=axis, keepdims=True))
    return g * (a - mu) / sigma + b


def transformed(name, x, w, rng):
    """(x', w') for one Table 1 column, with random positive factors and shifts."""
    x, w = x.copy(), w.copy()
    delta = rng.choice([rng.uniform(0.2, 0.7), rng.uniform(1.5, 6.0)])  # > 0, never near 1
    if name == "weight_rescaling":
        return x, delta * w
    if name == "weight_recentering":
        gamma = rng.normal(0.0, 1.0, size=w.shape[1])
        return x, w + np.ones((w.shape[0], 1)) * gamma  # W + 1 gamma^T
    if name == "weight_vector_rescaling":
        w[rng.integers(w.shape[0])] *= delta
        return x, w
    if name == "dataset_rescaling":
        return delta * x, w
    if name == "dataset_recentering":
        return x + rng.normal(0.0, 3.0, size=x.shape[1]), w
    if name == "single_case_rescaling":
        x[rng.integers(x.shape[0])] *= delta
        return x, w
    raise AssertionError(name)


def max_change(method, transformation, seed):
    rng = np.random.default_rng([seed, 2016])
    n, d, h = rng.integers(4, 12), rng.integers(2, 7), rng.integers(3, 9)
    x = rng.normal(0.3, 1.5, size=(n, d))
    w = rng.normal(0.0, 1.0, size=(h, d))
    g, b = rng.uniform(0.5, 2.0, size=h), rng.normal(0.0, 1.0, size=h)
    x2, w2 = transformed(transformation, x, w, rng)
    return np.max(np.abs(normalized(method, x2, w2, g, b) - normalized(method, x, w, g, b)))


def keyed_invariant(method, transformation) -> bool:
    """What the cell's question says: True when its correct option is 'Invariant'."""
    q = TOPIC.exercise(f"inv_{method}_{transformation}")
    correct = next(o for o in q.options if o.correct)
    assert correct.text.startswith(("Invariant", "Not invariant")), correct.text
    return correct.text.startswith("Invariant")


# ---------------------------------------------------------------- the answer key


@pytest.mark.parametrize("method, transformation", CELLS, ids=[f"{m}-{t}" for m, t in CELLS])
def test_answer_key_matches_the_experiment(method, transformation):
    changes = [max_change(method, transformation, seed) for seed in range(6)]
    if keyed_invariant(method, transformation):
        assert max(changes) < 1e-9, changes
    else:
        assert min(changes) > 1e-3, changes


@pytest.mark.parametrize("method", METHODS)
def test_answer_key_is_the_papers_table(method):
    assert tuple(keyed_invariant(method, t) for t in TRANSFORMATIONS) == TABLE_1[method]


def test_every_cell_is_a_question_with_a_demonstration():
    ids = {f"inv_{m}_{t}" for m, t in CELLS}
    cells = [e for e in TOPIC.exercises if e.id in ids]
    assert len(cells) == 18
    for q in cells:
        assert q.kind == "choice" and q.demonstration == "table1_demo"
        assert [o.text.split(":")[0] for o in q.options] == [
            "Invariant", "Not invariant", "Only approximately invariant"]


def test_the_notes_wrong_cells_name_their_misconception():
    # errata claims 44 and 51-53 (LN x weight re-centering) and 47 (LN x dataset re-centering).
    q = TOPIC.exercise("inv_ln_weight_recentering")
    assert {o.mistake for o in q.options if not o.correct} == {"ln-recentering-not-invariant"}
    assert all("[−1.2247, 0, 1.2247]" in o.feedback for o in q.options[1:])
    assert "[0, 0.7746, 1.5492]" in q.options[2].feedback
    q = TOPIC.exercise("inv_ln_dataset_recentering")
    assert q.options[0].mistake == "ln-data-recentering-invariant"


def test_negative_factors_flip_the_output():
    # Why the prompts insist on delta > 0 (errata, subtlety 1).
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    g, b = rng.uniform(0.5, 2.0, size=4), rng.normal(size=4)
    for method in METHODS:
        before, after = normalized(method, x, w, g, b), normalized(method, x, -2 * w, g, b)
        np.testing.assert_allclose(after - b, -(before - b), rtol=1e-12, atol=1e-12)


def test_ln_data_recentering_special_case():
    # "No" means "not in general": when Wc is a multiple of the all-ones vector, LN is unchanged.
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(5, 4)), rng.normal(size=(4, 4))  # square, invertible W
    g, b = rng.uniform(0.5, 2.0, size=4), rng.normal(size=4)
    c = np.linalg.solve(w, 2.5 * np.ones(4))  # W c = 2.5 * 1
    change = np.abs(normalized("ln", x + c, w, g, b) - normalized("ln", x, w, g, b)).max()
    assert change < 1e-9


# ---------------------------------------------------------------- the demonstration

# errata.md's experiment (N = 8, D = 4, H = 5, seed 0), max change at eps = 0 and at eps = 1e-5.
ERRATA = {
    ("bn", "weight_rescaling"): ("4.4e-16", "1.1e-5"),
    ("wn", "weight_rescaling"): ("8.9e-16", None),
    ("ln", "weight_rescaling"): ("5.6e-16", "8.3e-6"),
    ("bn", "weight_recentering"): ("4.19", "4.19"),
    ("wn", "weight_recentering"): ("8.18", None),
    ("ln", "weight_recentering"): ("8.9e-16", "8.9e-16"),
    ("bn", "weight_vector_rescaling"): ("2.2e-16", "4.7e-7"),
    ("wn", "weight_vector_rescaling"): ("4.4e-16", None),
    ("ln", "weight_vector_rescaling"): ("1.10", "1.10"),
    ("bn", "dataset_rescaling"): ("4.4e-16", "1.1e-5"),
    ("wn", "dataset_rescaling"): ("15.9", None),
    ("ln", "dataset_rescaling"): ("8.9e-16", "8.3e-6"),
    ("bn", "dataset_recentering"): ("1.3e-15", "1.3e-15"),
    ("wn", "dataset_recentering"): ("17.2", None),
    ("ln", "dataset_recentering"): ("4.26", "4.26"),
    ("bn", "single_case_rescaling"): ("1.49", "1.49"),
    ("wn", "single_case_rescaling"): ("6.54", None),
    ("ln", "single_case_rescaling"): ("0", "1.7e-6"),
}
NUMBER = r"(\d+(?:\.\d+)?(?:e-\d+)?)"


def same_to_2_figures(reported: str, errata: str) -> bool:
    return f"{float(reported):.2g}" == f"{float(errata):.2g}"


@pytest.mark.parametrize("method, transformation", CELLS, ids=[f"{m}-{t}" for m, t in CELLS])
def test_demonstration_reports_errata_numbers(method, transformation):
    q = TOPIC.exercise(f"inv_{method}_{transformation}")
    text = " ".join(demonstrate(TOPIC, q).split())  # line breaks may fall anywhere
    eps0, eps5 = ERRATA[(method, transformation)]
    assert "seed 0" in text and "N = 8" in text and "ε = 0" in text
    reported = re.search(r"Max absolute change: " + NUMBER, text).group(1)
    if float(eps0) < 1e-9:
        # Rounding-level figures (errata: 4.4e-16, 8.9e-16, ...) depend on the BLAS
        # build's summation order, so only their order of magnitude is portable.
        assert float(reported) < 1e-12, reported
        assert "Reading: invariant: the change is at rounding level." in text
    else:
        assert same_to_2_figures(reported, eps0), (reported, eps0)
        assert "Reading: not invariant" in text
    assert (float(eps0) < 1e-9) == keyed_invariant(method, transformation)
    if eps5 is None:
        assert "no ε" in text  # weight norm in the paper's form has no eps
        return
    with_eps = re.search(r"With ε = 1e-5 inside the square root: " + NUMBER, text).group(1)
    if float(eps5) < 1e-9:
        assert float(with_eps) < 1e-12, with_eps
    else:
        assert same_to_2_figures(with_eps, eps5), (with_eps, eps5)


def test_bn_single_case_changes_every_case():
    # errata: 1.49 on the scaled case and 1.06 on the others, because the batch statistics move.
    text = " ".join(demonstrate(TOPIC, TOPIC.exercise("inv_bn_single_case_rescaling")).split())
    scaled, others = re.search(
        r"Per case: " + NUMBER + r" on the scaled case, up to " + NUMBER, text).groups()
    assert same_to_2_figures(scaled, "1.49") and same_to_2_figures(others, "1.06")
