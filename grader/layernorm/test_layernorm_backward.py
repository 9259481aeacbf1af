"""Hidden checks for layernorm_backward."""

import numpy as np
import pytest

from normquiz.checks import (
    expect_close,
    expect_inputs_unchanged,
    expect_match,
    numeric_gradient,
)

NAME = "layernorm_backward"
PARTS = ("dx", "dgain", "dbias")


def _case(rng, shape, eps):
    # N != H everywhere, so gradients summed over the wrong axis have the wrong shape.
    x = rng.normal(0.5, 2.0, size=shape)
    dy = rng.normal(0.0, 1.0, size=shape)
    gain = rng.uniform(0.5, 2.0, size=shape[-1])
    bias = rng.normal(0.0, 1.0, size=shape[-1])
    return dy, x, gain, bias, eps


def _learner_grads(submission, dy, x, gain, eps, call):
    value = submission.call(NAME, dy, x, gain, eps).value
    assert isinstance(value, (tuple, list)) and len(value) == 3, (
        f"{call}\n  should return a tuple (dx, dgain, dbias), but returned {type(value).__name__}."
    )
    return value


def _expect_gradient(got, loss, at, call, what):
    # Central differences in float64 agree with the exact gradient to about
    # 1e-9 here, far inside this tolerance.
    expected = numeric_gradient(loss, at, h=1e-6)
    expect_close(got, expected, f"{call}, finite differences", what, rtol=1e-5, atol=1e-7)


@pytest.mark.points(2)
def test_random_batch(submission, reference, rng):
    """A random batch of 4 cases with 6 units each"""
    dy, x, gain, _, eps = _case(rng, (4, 6), 1e-5)
    expect_match(submission, reference, NAME, dy, x, gain, eps=eps, names=PARTS)


@pytest.mark.points(1)
def test_sequence_batch(submission, reference, rng):
    """A batch of sequences, shape (N, T, H) = (2, 3, 4)"""
    dy, x, gain, _, eps = _case(rng, (2, 3, 4), 1e-5)
    expect_match(submission, reference, NAME, dy, x, gain, eps=eps, names=PARTS)


@pytest.mark.points(1)
def test_batch_of_one(submission, reference, rng):
    """A batch with a single case (N = 1)"""
    dy, x, gain, _, eps = _case(rng, (1, 5), 1e-5)
    expect_match(submission, reference, NAME, dy, x, gain, eps=eps, names=PARTS)


@pytest.mark.points(1)
def test_large_eps(submission, reference, rng):
    """eps = 0.25, with a different gain for each unit"""
    dy, x, gain, _, eps = _case(rng, (3, 4), 0.25)
    expect_match(submission, reference, NAME, dy, x, gain, eps=eps, names=PARTS)


@pytest.mark.points(2)
def test_dx_matches_numerical_gradient(submission, reference, rng):
    """dx agrees with a finite-difference gradient"""
    dy, x, gain, bias, eps = _case(rng, (3, 5), 0.1)
    call = f"{NAME}(dy, x, gain, eps={eps}) with x of shape {x.shape}"
    dx = _learner_grads(submission, dy, x, gain, eps, call)[0]

    def loss(x_):
        return np.sum(dy * reference.layernorm_forward(x_, gain, bias, eps))

    _expect_gradient(dx, loss, x, call, "dx")


@pytest.mark.points(1)
def test_param_grads_match_numerical_gradient(submission, reference, rng):
    """dgain and dbias agree with finite-difference gradients"""
    dy, x, gain, bias, eps = _case(rng, (3, 5), 0.1)
    call = f"{NAME}(dy, x, gain, eps={eps}) with x of shape {x.shape}"
    _, dgain, dbias = _learner_grads(submission, dy, x, gain, eps, call)

    def loss_gain(g):
        return np.sum(dy * reference.layernorm_forward(x, g, bias, eps))

    def loss_bias(b):
        return np.sum(dy * reference.layernorm_forward(x, gain, b, eps))

    _expect_gradient(dgain, loss_gain, gain, call, "dgain")
    _expect_gradient(dbias, loss_bias, bias, call, "dbias")


@pytest.mark.points(1)
def test_dx_rows_sum_to_zero(submission, reference, rng):
    """Each case's row of dx sums to 0"""
    dy, x, gain, _, eps = _case(rng, (4, 5), 1e-5)
    call = f"{NAME}(dy, x, gain, eps={eps}) with x of shape {x.shape}"
    dx = np.asarray(_learner_grads(submission, dy, x, gain, eps, call)[0], dtype=np.float64)
    assert dx.shape == x.shape, f"{call}\n  returned dx of shape {dx.shape}; expected {x.shape}."
    sums = dx.sum(axis=-1)
    assert np.allclose(sums, 0.0, atol=1e-8), (
        f"{call}\n  returned a dx whose rows sum to {np.round(sums, 4).tolist()}. Adding the "
        "same number to all units of a case does not change the forward output, so each "
        "row of dx must sum to 0."
    )


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right gradients, with dy, x and gain left unchanged"""
    dy, x, gain, _, eps = _case(rng, (3, 4), 1e-5)
    expect_inputs_unchanged(submission, reference, NAME, dy, x, gain, eps)
