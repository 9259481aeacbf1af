"""Hidden checks for layernorm_forward."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match

NAME = "layernorm_forward"


def _gain_bias(rng, h):
    # A different gain and bias for every unit, so mixing up axes shows.
    return rng.uniform(0.5, 2.0, size=h), rng.normal(0.0, 1.0, size=h)


@pytest.mark.points(2)
def test_random_batch(submission, reference, rng):
    """A random batch of 4 cases with 6 units each"""
    x = rng.normal(1.0, 3.0, size=(4, 6))
    gain, bias = _gain_bias(rng, 6)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(2)
def test_sequence_batch(submission, reference, rng):
    """A batch of sequences, shape (N, T, H) = (2, 3, 5): one mean and std per case and step"""
    x = rng.normal(0.0, 2.0, size=(2, 3, 5))
    x[1, 2] += 10.0  # one time step on its own offset
    gain, bias = _gain_bias(rng, 5)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(1)
def test_batch_of_one(submission, reference, rng):
    """A batch with a single case (N = 1)"""
    x = rng.normal(0.0, 1.0, size=(1, 7))
    gain, bias = _gain_bias(rng, 7)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(1)
def test_constant_case(submission, reference, rng):
    """A case whose summed inputs are all equal"""
    x = rng.normal(0.0, 1.0, size=(3, 4))
    x[1] = 2.5
    gain, bias = _gain_bias(rng, 4)
    y = expect_match(submission, reference, NAME, x, gain, bias)
    assert np.allclose(y[1], bias), (
        f"{NAME}: case 2 has all summed inputs equal to 2.5; its output should be exactly "
        f"the bias {np.round(bias, 4).tolist()}, but it is {np.round(y[1], 4).tolist()}."
    )


@pytest.mark.points(1)
def test_large_offset(submission, reference, rng):
    """Summed inputs around 1e8 with a spread of about 1 (numerical stability)"""
    x = 1e8 + rng.normal(0.0, 1.0, size=(3, 5))
    gain, bias = _gain_bias(rng, 5)
    expect_match(submission, reference, NAME, x, gain, bias)


@pytest.mark.points(2)
def test_large_eps(submission, reference, rng):
    """eps = 0.25, with a different gain and bias for each unit"""
    x = rng.normal(0.0, 1.0, size=(4, 3))
    gain = np.array([2.0, 0.5, 1.5])
    bias = np.array([1.0, -2.0, 0.5])
    expect_match(submission, reference, NAME, x, gain, bias, eps=0.25)


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right output, with x, gain and bias left unchanged"""
    args = (rng.normal(2.0, 1.0, size=(3, 4)), np.array([1.5, 0.5, 2.0, 1.0]), np.ones(4))
    expect_inputs_unchanged(submission, reference, NAME, *args, 0.1)
