"""Hidden checks for weightnorm_forward."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match

NAME = "weightnorm_forward"


def _layer(rng, n, d, h):
    # Rows of v far from unit length, gains not 1 (one negative), biases not 0.
    x = rng.normal(0.5, 2.0, size=(n, d))
    v = rng.normal(0.0, 3.0, size=(h, d))
    g = rng.uniform(0.5, 2.0, size=h)
    g[0] = -g[0]
    b = rng.normal(0.0, 1.0, size=h)
    return x, v, g, b


@pytest.mark.points(2)
def test_random_layer(submission, reference, rng):
    """A random layer: N = 4 cases, D = 5 inputs, H = 3 units"""
    expect_match(submission, reference, NAME, *_layer(rng, 4, 5, 3))


@pytest.mark.points(1)
def test_square_weights(submission, reference, rng):
    """A square v (H = D = 4) whose rows have very different lengths"""
    x, v, g, b = _layer(rng, 3, 4, 4)
    v = v * np.array([[0.1], [1.0], [10.0], [3.0]])
    expect_match(submission, reference, NAME, x, v, g, b)


@pytest.mark.points(1)
def test_one_case_one_unit(submission, reference, rng):
    """A single case (N = 1) and a single unit (H = 1)"""
    expect_match(submission, reference, NAME, *_layer(rng, 1, 3, 1))


@pytest.mark.points(2)
def test_positive_rescaling_of_v(submission, reference, rng):
    """Rows of v multiplied by positive factors: the output must not change"""
    x, v, g, b = _layer(rng, 3, 4, 3)
    y = expect_match(submission, reference, NAME, x, v, g, b)
    factors = np.array([[2.0], [0.25], [7.0]])
    y_scaled = expect_match(submission, reference, NAME, x, v * factors, g, b)
    gap = float(np.max(np.abs(np.asarray(y_scaled) - np.asarray(y))))
    assert np.allclose(y_scaled, y, rtol=1e-6, atol=1e-8), (
        f"{NAME}: multiplying the rows of v by the positive factors {factors.ravel().tolist()} "
        f"changed your output by up to {gap:.4g}. Only the direction of each v_i may matter, "
        "not its length."
    )


@pytest.mark.points(1)
def test_negative_rescaling_of_v(submission, reference, rng):
    """v multiplied by -2: the output minus the bias flips sign"""
    x, v, g, b = _layer(rng, 3, 2, 4)
    y = np.asarray(expect_match(submission, reference, NAME, x, v, g, b))
    y_flipped = np.asarray(expect_match(submission, reference, NAME, x, -2.0 * v, g, b))
    assert np.allclose(y_flipped - b, -(y - b), rtol=1e-6, atol=1e-8), (
        f"{NAME}: with v replaced by -2 * v, y - b should be exactly the negative of what it "
        "was with v: the norm is always positive, so the sign of v survives the division."
    )


@pytest.mark.points(1)
def test_zero_input(submission, reference, rng):
    """An all-zero input case: its output is exactly the bias"""
    x, v, g, b = _layer(rng, 3, 4, 2)
    x[1] = 0.0
    y = expect_match(submission, reference, NAME, x, v, g, b)
    assert np.allclose(y[1], b, rtol=1e-6, atol=1e-8), (
        f"{NAME}: case 2 is all zeros, so its summed inputs are 0 and its output should be "
        f"the bias {np.round(b, 4).tolist()}, but it is {np.round(y[1], 4).tolist()}."
    )


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right output, with x, v, g and b left unchanged"""
    expect_inputs_unchanged(submission, reference, NAME, *_layer(rng, 3, 4, 2))
