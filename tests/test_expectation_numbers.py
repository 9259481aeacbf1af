"""The expectation topic: every worked number recomputed, and its numeric questions checked.

Worked numbers are computed from scratch with numpy and compared with
errata.md's figures where errata.md gives them; then every decimal number in
the topic's manifests must equal one of the computed values at the precision
it is quoted (a typo in an explanation fails the test). The numeric
questions' answers are recomputed independently, with the `statistics`
module, from the generated data for many seeds, and every catalogued mistake
must be diagnosed as itself.
"""

from __future__ import annotations

import math
import re
import statistics

import numpy as np
import pytest
from helpers import fmt, topic_text, unverified
from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import default_catalog
from normquiz.questions import generate

TOPIC = default_catalog().topic("expectation")
SEEDS = st.integers(min_value=0, max_value=2**31)


def xhat(a, eps=0.0, ddof=0):
    a = np.asarray(a, float)
    return (a - a.mean()) / np.sqrt(a.var(ddof=ddof) + eps)


A = np.array([4.0, 6, 8, 10])  # the notes' BN unit (errata 12-14)
CASE = np.array([1.0, 2, 5])  # the notes' LN case (errata 29, claim 19)
SEED_MATRIX = np.array([[1, 2, 3, 4], [2, 2, 2, 2], [5, 6, 7, 8]], float)  # rows = features
ZERO_ZERO_THREE = np.array([0.0, 0, 3])  # the catalogue's minimal std column
OUTPUT = 2 * xhat(A) - 1  # g = 2, b = -1, eps = 0

# name: (computed value, errata.md's figure or None when errata.md does not give it)
VERIFIED = {
    # [4, 6, 8, 10]: mean, variance, the four std variants (errata 12, catalogue 5).
    "mean": (A.mean(), "7"),
    "variance": (A.var(), "5"),
    "sigma": (A.std(), "2.2361"),
    "sample std": (A.std(ddof=1), "2.5820"),
    "sample variance": (A.var(ddof=1), None),
    "mean abs deviation": (np.mean(np.abs(A - A.mean())), "2.0000"),
    "xhat": (xhat(A), "[-1.3416, -0.4472, 0.4472, 1.3416]"),
    "g * xhat": (2 * xhat(A), "[-2.6833, -0.8944, 0.8944, 2.6833]"),
    "output g=2 b=-1": (OUTPUT, "[-3.6833, -1.8944, -0.1056, 1.6833]"),
    "output g=2 b=-1, eps 1e-5": (2 * xhat(A, 1e-5) - 1, "[-3.6833, -1.8944, -0.1056, 1.6833]"),
    "output std": (OUTPUT.std(), "2.0000"),
    "output mean": (OUTPUT.mean(), "-1.0000"),
    "output std, eps 1e-5": ((2 * xhat(A, 1e-5) - 1).std(), "2.0000"),
    # exp_what_is_p: two mini-batches from the same training set.
    "sigma of the second batch [5,9,9,13]": (np.std([5.0, 9, 9, 13]), None),
    "notes' rounded xhat": (round(3 / math.sqrt(5), 3), None),  # their "1.342"
    "notes' rounded g * xhat": (2 * round(3 / math.sqrt(5), 3), None),  # their "2.684"
    "divided by the variance": ((A - 7) / 5, None),
    "std after dividing by the variance": (((A - 7) / 5).std(), None),
    "divided by the sample std": ((A - 7) / A.std(ddof=1), None),
    "std of xhat normalized with N - 1": (xhat(A, ddof=1).std(), None),
    "pairwise squared differences": (np.sum(np.subtract.outer(A, A) ** 2), None),
    "half their average": (np.mean(np.subtract.outer(A, A) ** 2) / 2, None),
    "deviations of [1, 2, 3, 4]": (SEED_MATRIX[0] - 2.5, None),
    "their squares": ((SEED_MATRIX[0] - 2.5) ** 2, None),
    # std of xhat measured with N - 1 (claim 19): sqrt(N / (N - 1)).
    "sqrt(4/3)": (xhat(A).std(ddof=1), "1.1547"),
    "sqrt(3/2)": (math.sqrt(3 / 2), None),
    "sqrt(128/127)": (math.sqrt(128 / 127), None),
    # [1, 2, 5] with eps = 0.001 (errata 29 and claim 19).
    "mu of [1,2,5]": (CASE.mean(), "2.6667"),
    "var of [1,2,5]": (CASE.var(), "2.8889"),
    "sigma of [1,2,5]": (CASE.std(), "1.6997"),
    "var + eps": (CASE.var() + 0.001, None),
    "sqrt(var + eps)": (np.sqrt(CASE.var() + 0.001), "1.7000"),
    "xhat of [1,2,5]": (xhat(CASE, 0.001), "[-0.9804, -0.3922, 1.3726]"),
    "xhat of [1,2,5], eps 0": (xhat(CASE), None),
    "rounded mu 2.67": ((CASE - 2.67) / np.sqrt(2.89 + 0.001), "[-0.9822, -0.3940, 1.3704]"),
    "notes' rounded mu": (round(CASE.mean(), 2), None),
    "std of xhat with eps": (xhat(CASE, 0.001).std(), "0.99983"),
    "std of xhat with eps, H - 1": (xhat(CASE, 0.001).std(ddof=1), None),
    # The notes' batch (rows = features): errata 27-28.
    "feature 1 mean": (SEED_MATRIX[0].mean(), "2.5"),
    "feature 1 variance": (SEED_MATRIX[0].var(), "1.25"),
    "feature 1 sample variance": (SEED_MATRIX[0].var(ddof=1), "1.6667"),
    "feature 1 sigma": (SEED_MATRIX[0].std(), "1.1180"),
    "BN of feature 1, eps .001": (xhat(SEED_MATRIX[0], 0.001),
                                  "[-1.3411, -0.4470, 0.4470, 1.3411]"),
    "BN of feature 2, eps .001": (xhat(SEED_MATRIX[1], 0.001), "[0.0000, 0.0000, 0.0000, 0.0000]"),
    "1/sqrt(eps)": (1 / math.sqrt(0.001), None),
    # Catalogue 5: [0, 0, 3].
    "[0,0,3] std": (ZERO_ZERO_THREE.std(), "1.4142"),
    "[0,0,3] sample std": (ZERO_ZERO_THREE.std(ddof=1), "1.7321"),
    "[0,0,3] variance": (ZERO_ZERO_THREE.var(), "2.0000"),
    "[0,0,3] mean abs deviation": (np.mean(np.abs(ZERO_ZERO_THREE - 1)), "1.3333"),
    # [-2, 2] with eps = 0.25 (the catalogue's eps-placement input).
    "xhat of [-2,2], eps .25": (xhat([-2, 2], 0.25)[1], "0.9701"),
    "eps outside sqrt": (2 / (2 + 0.25), "0.8889"),
    "var + eps of [-2,2]": (4 + 0.25, None),
    "variance of that xhat": (xhat([-2, 2], 0.25).var(), None),
    # The probability-weighted example.
    "E[a] of [0,1,2] w.p. [.5,.25,.25]": (np.dot([0.5, 0.25, 0.25], [0, 1, 2]), None),
    "averaged weighted terms": (np.dot([0.5, 0.25, 0.25], [0, 1, 2]) / 3, None),
}

# Parameters quoted in the manifests rather than computed: epsilons and probabilities.
PARAMETERS = [0.001, 0.25, 0.5, 1e-5, 1.0]


@pytest.mark.parametrize("name", sorted(n for n, (_, e) in VERIFIED.items() if e))
def test_worked_number_matches_errata(name):
    value, expected = VERIFIED[name]
    match = re.search(r"\.(\d+)", expected)
    assert fmt(value, len(match.group(1)) if match else 0) == expected


def test_claim_19_cases():
    # errata claim 19, case by case: exactly 1 only with eps = 0 and a non-constant feature.
    assert xhat(A).std() == pytest.approx(1.0, abs=1e-15)
    assert xhat(CASE, 0.001).std() == pytest.approx(CASE.std() / math.sqrt(CASE.var() + 0.001))
    assert xhat(CASE, 0.001).std() < 1
    assert np.all(xhat(SEED_MATRIX[1], 0.001) == 0)
    with np.errstate(invalid="ignore"):
        assert np.all(np.isnan(xhat(SEED_MATRIX[1])))
    assert xhat(A).std(ddof=1) == pytest.approx(math.sqrt(4 / 3))
    for g in (2.0, -2.0, 3.0):
        assert (g * xhat(A) - 1).std() == pytest.approx(abs(g))


# ---------------------------------------------------------------- numeric questions


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_batch_mean_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("exp_batch_mean"), seed)
    a, k = g.data["a"], g.data["k"]
    assert len(a) == g.data["n"] != len(a[0]) == g.data["h"]  # rows = cases, never square
    column = [row[k - 1] for row in a]
    assert math.isclose(g.answer[0], statistics.fmean(column), rel_tol=1e-12, abs_tol=1e-12)
    assert f"i = {k}" in g.prompt and str(a[-1][-1]) in g.prompt


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_weighted_mean_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("exp_weighted_mean"), seed)
    values, probs = g.data["values"], g.data["probs"]
    assert len(values) == len(probs) == len(set(values))
    assert all(p > 0 for p in probs) and math.isclose(math.fsum(probs), 1.0)
    assert len(set(probs)) > 1  # not uniform, so the weights matter
    expected = math.fsum(p * v for p, v in zip(probs, values))
    assert math.isclose(g.answer[0], expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_unit_variance_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("exp_unit_variance"), seed)
    a, k = g.data["a"], g.data["k"]
    assert len(a) == g.data["h"] != len(a[0]) == g.data["n"]  # rows = units, never square
    row = a[k - 1]
    assert math.isclose(g.answer[0], statistics.pvariance(row), rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_unit_std_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("exp_unit_std"), seed)
    a, k = g.data["a"], g.data["k"]
    assert len(a) == g.data["n"] != len(a[0]) == g.data["h"]  # rows = cases, never square
    assert len(a) >= 3  # with two values the mean absolute deviation equals the std
    column = [row[k - 1] for row in a]
    assert math.isclose(g.answer[0], statistics.pstdev(column), rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_normalized_std_answer(seed):
    g = generate(TOPIC, TOPIC.exercise("exp_normalized_std"), seed)
    a, eps = g.data["a"], g.data["eps"]
    assert len(a) == g.data["n"] and eps > 0
    mu, var = statistics.fmean(a), statistics.pvariance(a)
    normalized = [(v - mu) / math.sqrt(var + eps) for v in a]
    expected = statistics.pstdev(normalized)
    assert math.isclose(g.answer[0], expected, rel_tol=1e-12)
    assert g.answer[0] < 1  # eps > 0 always leaves the std below 1


def test_numeric_mistakes_compute_what_their_titles_say():
    # One fixed instance per question, each mistake recomputed from the data.
    seed = 2024
    g = generate(TOPIC, TOPIC.exercise("exp_unit_std"), seed)
    column = np.array([row[g.data["k"] - 1] for row in g.data["a"]], float)
    row = np.array(g.data["a"][g.data["k"] - 1], float)
    assert g.mistakes == {
        "sample-std": [pytest.approx(column.std(ddof=1))],
        "variance-not-std": [pytest.approx(column.var())],
        "mean-abs-deviation": [pytest.approx(np.mean(np.abs(column - column.mean())))],
        "wrong-orientation": [pytest.approx(row.std())],
    }
    g = generate(TOPIC, TOPIC.exercise("exp_unit_variance"), seed)
    row = np.array(g.data["a"][g.data["k"] - 1], float)
    column = np.array([r[g.data["k"] - 1] for r in g.data["a"]], float)
    assert g.mistakes == {
        "sample-variance": [pytest.approx(row.var(ddof=1))],
        "std-not-variance": [pytest.approx(row.std())],
        "wrong-orientation": [pytest.approx(column.var())],
    }
    g = generate(TOPIC, TOPIC.exercise("exp_normalized_std"), seed)
    a, eps = np.array(g.data["a"], float), g.data["eps"]
    assert g.mistakes == {
        "std-always-one": [1.0],
        "variance-not-std": [pytest.approx(a.var() / (a.var() + eps))],
        "sample-std": [pytest.approx(xhat(a, eps).std(ddof=1))],
        "eps-outside-sqrt": [pytest.approx(a.std() / (a.std() + eps))],
    }
    g = generate(TOPIC, TOPIC.exercise("exp_batch_mean"), seed)
    column = np.array([row[g.data["k"] - 1] for row in g.data["a"]], float)
    assert g.mistakes == {
        "expectation-is-sum": [pytest.approx(column.sum())],
        "wrong-orientation": [pytest.approx(np.mean(g.data["a"][g.data["k"] - 1]))],
    }
    g = generate(TOPIC, TOPIC.exercise("exp_weighted_mean"), seed)
    values, probs = np.array(g.data["values"], float), np.array(g.data["probs"])
    assert g.mistakes == {
        "unweighted-mean": [pytest.approx(values.mean())],
        "averaged-weighted-terms": [pytest.approx(np.mean(probs * values))],
    }


def test_every_quoted_number_is_verified():
    values = [v for v, _ in VERIFIED.values()] + PARAMETERS
    unknown = unverified(topic_text(TOPIC), values, r"(?<![\d.§])\d+\.\d+(?!\d|\.\d)")
    assert not unknown, f"numbers in the expectation content that no test computes: {unknown}"
