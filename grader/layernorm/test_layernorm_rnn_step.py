"""Hidden checks for layernorm_rnn_step."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match

NAME = "layernorm_rnn_step"


def _step(rng, n, d, h):
    # Weights are neither square (when d != h) nor symmetric, so a product with
    # untransposed weights either fails or gives different numbers.
    x_t = rng.normal(0.0, 1.0, size=(n, d))
    h_prev = np.tanh(rng.normal(0.0, 1.0, size=(n, h)))
    W_xh = rng.normal(0.0, 1.0, size=(h, d))
    W_hh = rng.normal(0.0, 1.0, size=(h, h))
    gain = rng.uniform(0.5, 2.0, size=h)
    bias = rng.normal(0.0, 0.5, size=h)
    return x_t, h_prev, W_xh, W_hh, gain, bias


@pytest.mark.points(2)
def test_random_step(submission, reference, rng):
    """A random step: N = 3 cases, D = 4 inputs, H = 5 hidden units"""
    expect_match(submission, reference, NAME, *_step(rng, 3, 4, 5))


@pytest.mark.points(1)
def test_as_many_inputs_as_units(submission, reference, rng):
    """A step with D = H = 3, so every weight matrix is square"""
    expect_match(submission, reference, NAME, *_step(rng, 2, 3, 3))


@pytest.mark.points(1)
def test_batch_of_one(submission, reference, rng):
    """A batch with a single case (N = 1)"""
    expect_match(submission, reference, NAME, *_step(rng, 1, 2, 4))


@pytest.mark.points(1)
def test_large_eps(submission, reference, rng):
    """eps = 0.25, with a different gain and bias for each unit"""
    x_t, h_prev, W_xh, W_hh, _, _ = _step(rng, 3, 2, 4)
    gain = np.array([2.0, 0.5, 1.5, 1.0])
    bias = np.array([0.5, -0.5, 0.0, 1.0])
    expect_match(submission, reference, NAME, x_t, h_prev, W_xh, W_hh, gain, bias, eps=0.25)


@pytest.mark.points(1)
def test_zero_input_and_state(submission, reference, rng):
    """Zero input and zero previous state: all summed inputs are equal"""
    x_t, h_prev, W_xh, W_hh, gain, bias = _step(rng, 2, 3, 4)
    x_t, h_prev = np.zeros_like(x_t), np.zeros_like(h_prev)
    expect_match(submission, reference, NAME, x_t, h_prev, W_xh, W_hh, gain, bias)


@pytest.mark.points(1)
def test_large_offset(submission, reference, rng):
    """Summed inputs around 1e8 with a spread of about 1 (numerical stability)"""
    x_t, h_prev, W_xh, W_hh, gain, bias = _step(rng, 3, 3, 4)
    x_t[:, 0] = 1.0
    W_xh[:, 0] = 1e8  # the same large contribution to every unit
    expect_match(submission, reference, NAME, x_t, h_prev, W_xh, W_hh, gain, bias)


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right output, with no argument changed in place"""
    args = _step(rng, 2, 3, 4)
    expect_inputs_unchanged(submission, reference, NAME, *args, 0.1)
