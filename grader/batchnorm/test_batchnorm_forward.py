"""Hidden checks for batchnorm_forward."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match

NAME = "batchnorm_forward"


def _gain_bias(rng, d):
    # A different gain and bias for every feature, so mixing up axes shows.
    return rng.uniform(0.5, 2.0, size=d), rng.normal(0.0, 1.0, size=d)


@pytest.mark.points(2)
def test_random_batch(submission, reference, rng):
    """A random batch of 6 cases with 4 features each"""
    x = rng.normal(1.0, 3.0, size=(6, 4))
    gain, bias = _gain_bias(rng, 4)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(1)
def test_square_batch(submission, reference, rng):
    """A square batch, N = D = 4, where a wrong axis cannot show up as a shape error"""
    x = rng.normal(0.0, 2.0, size=(4, 4)) + np.array([0.0, 5.0, -3.0, 10.0])
    gain, bias = _gain_bias(rng, 4)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(1)
def test_batch_of_one(submission, reference):
    """A batch with a single case (N = 1): every output is the bias"""
    x = np.array([[5.0, 7.0, -2.0]])
    gain = np.array([2.0, 3.0, 0.5])
    bias = np.array([-1.0, 4.0, 0.25])
    y = expect_match(submission, reference, NAME, x, gain, bias)
    assert np.allclose(y, bias), (
        f"{NAME}: with a single case each feature's batch mean is that case's own value and "
        f"its batch variance is 0, so x_hat = 0 and the output should be the bias "
        f"{bias.tolist()}, but it is {np.round(np.asarray(y, dtype=float), 4).tolist()}."
    )


@pytest.mark.points(1)
def test_constant_feature(submission, reference):
    """The notes' batch: 4 cases, 3 features, feature 2 constant (eps = 0.001)"""
    # The notes write this batch with one row per feature; here rows are cases.
    x = np.array([[1.0, 2.0, 5.0], [2.0, 2.0, 6.0], [3.0, 2.0, 7.0], [4.0, 2.0, 8.0]])
    gain = np.array([1.5, 2.0, 0.5])
    bias = np.array([0.5, -1.0, 2.0])
    y = expect_match(submission, reference, NAME, x, gain, bias, eps=0.001)
    column = np.asarray(y, dtype=float)[:, 1]
    assert np.allclose(column, bias[1]), (
        f"{NAME}: feature 2 is 2 in every case, so its variance over the batch is 0; its "
        f"output should be exactly its bias {bias[1]} in every case, but it is "
        f"{np.round(column, 4).tolist()}."
    )


@pytest.mark.points(1)
def test_large_offset(submission, reference, rng):
    """Inputs around 1e8 with a spread of about 1 (numerical stability)"""
    x = 1e8 + rng.normal(0.0, 1.0, size=(5, 3))
    gain, bias = _gain_bias(rng, 3)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(2)
def test_large_eps(submission, reference, rng):
    """eps = 0.25, with a different gain and bias for each feature"""
    x = rng.normal(0.0, 1.0, size=(5, 3))
    gain = np.array([2.0, 0.5, 1.5])
    bias = np.array([1.0, -2.0, 0.5])
    expect_match(submission, reference, NAME, x, gain, bias, eps=0.25)


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right output, with x, gain and bias left unchanged"""
    args = (rng.normal(2.0, 1.0, size=(4, 3)), np.array([1.5, 0.5, 2.0]), np.ones(3))
    expect_inputs_unchanged(submission, reference, NAME, *args, 0.1)
