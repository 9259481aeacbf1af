"""The batchnorm topic's numbers: worked examples and the numeric questions.

Each worked value below is computed from scratch (numpy, or the reference
solution, which tests/test_oracle_batchnorm.py pins to PyTorch), compared with
errata.md's figure where errata.md gives one, and then every 4-decimal number
in the topic's manifests must be one of them: a typo in an explanation fails
this test. The numeric questions' answers and mistaken answers are recomputed
independently, with the statistics module, for many seeds.
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

from normquiz.content import default_catalog, load_reference
from normquiz.questions import generate

TOPIC = default_catalog().topic("batchnorm")
REF = load_reference("batchnorm")
SEEDS = st.integers(min_value=0, max_value=2**31)


def bn(x, gain=1.0, bias=0.0, eps=0.0, ddof=0):
    """Training-mode BN down axis 0, written out independently of the reference."""
    x = np.asarray(x, float)
    return gain * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=ddof) + eps) + bias


def ln(x, gain=1.0, bias=0.0, eps=0.0):
    x = np.asarray(x, float)
    return gain * (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) + bias


A = np.array([4.0, 6.0, 8.0, 10.0])  # the notes' feature, as one column over 4 cases
NOTES_BATCH = np.array([[1.0, 2, 3, 4], [2, 2, 2, 2], [5, 6, 7, 8]])  # rows = features
FEATURE_1 = NOTES_BATCH[0]


def _one_step(running_mean, running_var, x, momentum=0.1):
    x = np.asarray(x, float)
    return ((1 - momentum) * running_mean + momentum * x.mean(0),
            (1 - momentum) * running_var + momentum * x.var(0, ddof=1))


# name: (computed value, errata.md's figure or, where errata.md has none, the
# figure quoted in the manifests)
VERIFIED = {
    # The notes' [4, 6, 8, 10] with g = 2 and b = -1 (errata 12-14).
    "sigma of [4,6,8,10]": (np.std(A), "2.2361"),
    "sample std of [4,6,8,10]": (np.std(A, ddof=1), "2.5820"),
    "unbiased var of [4,6,8,10]": (np.var(A, ddof=1), "6.6667"),
    "xhat": (REF.batchnorm_forward(A[:, None], np.ones(1), np.zeros(1))[:, 0],
             "[-1.3416, -0.4472, 0.4472, 1.3416]"),
    "g * xhat": (bn(A, 2.0), "[-2.6833, -0.8944, 0.8944, 2.6833]"),
    "g * xhat + b": (REF.batchnorm_forward(A[:, None], np.array([2.0]), np.array([-1.0]))[:, 0],
                     "[-3.6833, -1.8944, -0.1056, 1.6833]"),
    "g * xhat + b, eps = 0": (bn(A, 2.0, -1.0), "[-3.6833, -1.8944, -0.1056, 1.6833]"),
    "sample std output": (bn(A, 2.0, -1.0, ddof=1), "[-3.3238, -1.7746, -0.2254, 1.3238]"),
    # The notes' batch (rows = features), errata 27-28 and catalogue section 5.
    "feature stds": (NOTES_BATCH.std(1), "[1.1180, 0.0000, 1.1180]"),
    "feature 1 sample std": (np.std(FEATURE_1, ddof=1), "1.2910"),
    "case 1 std": (np.std(NOTES_BATCH[:, 0]), "1.6997"),
    "BN of the notes' batch, eps .001": (
        REF.batchnorm_forward(NOTES_BATCH.T, np.ones(3), np.zeros(3), 0.001).T,
        "[[-1.3411, -0.4470, 0.4470, 1.3411], [0.0000, 0.0000, 0.0000, 0.0000], "
        "[-1.3411, -0.4470, 0.4470, 1.3411]]"),
    "std of feature 1's xhat, eps .001": (np.std(bn(FEATURE_1, eps=0.001)), "0.9996"),
    # Catalogue inputs for batchnorm_forward and batchnorm_inference.
    "whole tensor": (ln(np.array([1.0, 10, 3, 30])).reshape(2, 2),
                     "[[-0.8720, -0.0872], [-0.6976, 1.6569]]"),
    "ddof=1 on [[0], [2]]": (bn([[0.0], [2.0]], ddof=1)[:, 0], "[-0.7071, 0.7071]"),
    "[-2, 2], eps .25": (bn([[-2.0], [2.0]], eps=0.25)[:, 0], "[-0.9701, 0.9701]"),
    "eps outside sqrt": (np.array([-2.0, 2.0]) / (2 + 0.25), "[-0.8889, 0.8889]"),
    "divided by var + eps": (np.array([-2.0, 2.0]) / (4 + 0.25), "[-0.4706, 0.4706]"),
    # Running statistics: the notes' feature from running mean 0, variance 1.
    "momentum times the unbiased var": (0.1 * np.var(A, ddof=1), "0.6667"),
    "running var after [4,6,8,10]": (_one_step(0.0, 1.0, A[:, None])[1][0], "1.5667"),
    # Inference with running mean 7, running variance 5, g = 2, b = -1.
    "inference slope and intercept": (np.array([2 / np.sqrt(5), -1 - 7 * 2 / np.sqrt(5)]),
                                      "[0.8944, -7.2610]"),
    "inference on [8, 10]": (REF.batchnorm_inference(np.array([[8.0], [10.0]]), np.array([2.0]),
                                                     np.array([-1.0]), np.array([7.0]),
                                                     np.array([5.0]))[:, 0],
                             "[-0.1056, 1.6833]"),
}


@pytest.mark.parametrize("name", sorted(VERIFIED))
def test_worked_number(name):
    value, expected = VERIFIED[name]
    digits = len(re.search(r"\.(\d+)", expected).group(1))
    assert fmt(value, digits) == expected


def test_numbers_quoted_without_four_decimals():
    """Whole and one-decimal numbers in explanations and feedback, recomputed."""
    # [4, 6, 8, 10]: mu, variance, MAD; divided by the variance; output mean and std.
    assert (A.mean(), A.var(), np.mean(np.abs(A - 7))) == (7.0, 5.0, 2.0)
    np.testing.assert_allclose(2 * (A - 7) / 5 - 1, [-2.2, -1.4, -0.6, 0.2])
    y = bn(A, 2.0, -1.0)
    assert math.isclose(y.mean(), -1.0, abs_tol=1e-12) and math.isclose(y.std(), 2.0)
    # The notes' batch: means, variances, MAD of feature 1.
    np.testing.assert_allclose(NOTES_BATCH.mean(1), [2.5, 2.0, 6.5])
    np.testing.assert_allclose(NOTES_BATCH.var(1), [1.25, 0.0, 1.25])
    assert np.mean(np.abs(FEATURE_1 - 2.5)) == 1.0
    # wrong-axis and gain-bias-misapplied examples of batchnorm_forward.
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    np.testing.assert_allclose(bn(x), [[-1, -1], [1, 1]])
    np.testing.assert_allclose(ln(x), [[-1, 1], [-1, 1]])
    x, g, b = np.array([[-1.0, -1.0], [1.0, 1.0]]), np.array([1.0, 2.0]), np.array([10.0, 20.0])
    np.testing.assert_allclose(bn(x, g, b), [[9, 18], [11, 22]])
    np.testing.assert_allclose(g * (bn(x) + b), [[9, 38], [11, 42]])
    np.testing.assert_allclose(bn([[-2.0], [2.0]]), [[-1], [1]])
    # Running statistics (errata: 0.1 / 1.1, biased 1.0, swapped 0.9 / 1.9).
    x = np.array([[0.0], [2.0]])
    np.testing.assert_allclose(REF.batchnorm_update_running(np.zeros(1), np.ones(1), x),
                               [[0.1], [1.1]])
    np.testing.assert_allclose(0.9 * 1 + 0.1 * x.var(), 1.0)
    np.testing.assert_allclose([0.9 * x.mean(), 0.1 + 0.9 * x.var(ddof=1)], [0.9, 1.9])
    np.testing.assert_allclose(_one_step(0.0, 1.0, A[:, None]), [[0.7], [1.5 + 2 / 30]])
    # Training mode on [8, 10] with g = 2, b = -1.
    np.testing.assert_allclose(bn([[8.0], [10.0]], 2.0, -1.0)[:, 0], [-3, 1])
    # Batch of one, x = [[5, 7]], gain [2, 3], bias [-1, 4]: BN gives the bias,
    # LN gives [-3, 7] to 4 decimals, and g * x + b is [9, 25].
    x, g, b = np.array([[5.0, 7.0]]), np.array([2.0, 3.0]), np.array([-1.0, 4.0])
    np.testing.assert_allclose(REF.batchnorm_forward(x, g, b), [[-1, 4]], atol=1e-12)
    assert fmt(ln(x, g, b, 1e-5)[0]) == "[-3.0000, 7.0000]"
    np.testing.assert_allclose(g * x + b, [[9, 25]])
    # bn_gain_vs_weights: doubling the weights doubles the summed inputs; x_hat is unchanged.
    np.testing.assert_allclose(bn(2 * A), bn(A))


# ---------------------------------------------------------------- numeric questions


def _features(data):
    """The matrix of bn_feature_std as a list of features, read from the prompt's layout."""
    a = data["a"]
    if data["layout"].startswith("one row per feature"):
        assert data["first"] == "first row"
        return a
    assert data["layout"].startswith("one row per training case")
    assert data["first"] == "first column"
    return [list(col) for col in zip(*a)]


@settings(max_examples=100, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_feature_std_answer_and_mistakes(seed):
    q = TOPIC.exercise("bn_feature_std")
    g = generate(TOPIC, q, seed)
    n = g.data["n"]
    assert n >= 3 and len(g.data["a"]) == n and all(len(r) == n for r in g.data["a"])
    assert g.data["layout"] in g.prompt and f"N = {n}" in g.prompt
    features = _features(g.data)
    cases = [list(c) for c in zip(*features)]

    def mad(v):
        m = statistics.fmean(v)
        return statistics.fmean(abs(x - m) for x in v)

    expected = {
        "answer": [statistics.pstdev(f) for f in features],
        "sample-std": [statistics.stdev(f) for f in features],
        "variance-not-std": [statistics.pvariance(f) for f in features],
        "mean-abs-deviation": [mad(f) for f in features],
        "wrong-orientation": [statistics.pstdev(c) for c in cases],
    }
    got = {"answer": g.answer, **g.mistakes}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert len(got[key]) == n
        assert all(math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)
                   for x, y in zip(got[key], values)), key


@settings(max_examples=100, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_bn_output_answer_and_mistakes(seed):
    q = TOPIC.exercise("bn_output")
    g = generate(TOPIC, q, seed)
    a, gain, bias = g.data["a"], g.data["g"], g.data["b"]
    assert len(a) == 4 and bias != 0
    mu, sigma, var = statistics.fmean(a), statistics.pstdev(a), statistics.pvariance(a)
    expected = {
        "answer": [gain * (v - mu) / sigma + bias for v in a],
        "bias-dropped": [gain * (v - mu) / sigma for v in a],
        "divides-by-variance": [gain * (v - mu) / var + bias for v in a],
        "unbiased-variance": [gain * (v - mu) / statistics.stdev(a) + bias for v in a],
    }
    got = {"answer": g.answer, **g.mistakes}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert all(math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)
                   for x, y in zip(got[key], values)), key
    # The prompt says that eps = 1e-5 would move no output by 1e-4 or more.
    with_eps = [gain * (v - mu) / math.sqrt(var + 1e-5) + bias for v in a]
    assert max(abs(x - y) for x, y in zip(with_eps, g.answer)) < 1e-4
    # The outputs have mean b and standard deviation |g|.
    assert math.isclose(statistics.fmean(g.answer), bias, abs_tol=1e-9)
    assert math.isclose(statistics.pstdev(g.answer), abs(gain), rel_tol=1e-9)


def test_every_quoted_number_is_verified():
    values = [v for v, _ in VERIFIED.values()]
    unknown = unverified(topic_text(TOPIC), values)
    assert not unknown, f"numbers in the batchnorm content that no test computes: {unknown}"
