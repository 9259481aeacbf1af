"""PyTorch as an independent oracle for the weightnorm reference solution."""

import numpy as np
import pytest
import torch
from torch.nn.utils.parametrizations import weight_norm

from normquiz.content import load_reference

TOL = 1e-10  # float64 on both sides


@pytest.fixture(scope="module")
def ref():
    return load_reference("weightnorm")


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _layer(seed, n, d, h):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 2.0, size=(n, d))
    v = rng.normal(0.0, 3.0, size=(h, d))
    g = rng.uniform(0.5, 2.0, size=h) * rng.choice([-1.0, 1.0], size=h)
    b = rng.normal(0.0, 1.0, size=h)
    return x, v, g, b


def _torch_linear(x, v, g, b):
    """A torch.nn.Linear(D, H) with torch's own weight norm (dim=0: one norm per output row)."""
    h, d = v.shape
    lin = weight_norm(torch.nn.Linear(d, h, dtype=torch.float64), name="weight", dim=0)
    with torch.no_grad():
        lin.parametrizations.weight.original0.copy_(_t(g).reshape(h, 1))
        lin.parametrizations.weight.original1.copy_(_t(v))
        lin.bias.copy_(_t(b))
        return lin(_t(x)).numpy()


SHAPES = [(4, 5, 3), (1, 3, 1), (3, 4, 4), (2, 1, 3), (6, 2, 7)]


@pytest.mark.parametrize(("n", "d", "h"), SHAPES)
def test_forward_matches_torch_weight_norm(ref, n, d, h):
    x, v, g, b = _layer(n * 100 + d * 10 + h, n, d, h)
    got = ref.weightnorm_forward(x, v, g, b)
    assert got.shape == (n, h) and got.dtype == np.float64
    np.testing.assert_allclose(got, _torch_linear(x, v, g, b), rtol=0, atol=TOL)


@pytest.mark.parametrize(("n", "d", "h"), SHAPES)
def test_forward_matches_torch_weight_norm_kernel(ref, n, d, h):
    # torch._weight_norm(v, g, dim=0) builds W = v * g / ||v|| row by row.
    x, v, g, b = _layer(n * 100 + d * 10 + h + 1, n, d, h)
    W = torch._weight_norm(_t(v), _t(g).reshape(h, 1), 0)
    expected = (_t(x) @ W.T + _t(b)).numpy()
    np.testing.assert_allclose(ref.weightnorm_forward(x, v, g, b), expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("factor", [2.0, 0.001, 1e4])
def test_positive_rescaling_of_v_is_invisible(ref, factor):
    x, v, g, b = _layer(7, 3, 4, 5)
    per_row = factor * np.linspace(0.5, 3.0, 5)[:, None]
    expected = _torch_linear(x, v, g, b)
    np.testing.assert_allclose(ref.weightnorm_forward(x, v * factor, g, b), expected,
                               rtol=0, atol=TOL)
    np.testing.assert_allclose(ref.weightnorm_forward(x, v * per_row, g, b), expected,
                               rtol=0, atol=TOL)


def test_negative_rescaling_of_v_flips_output_minus_bias(ref):
    x, v, g, b = _layer(8, 3, 4, 2)
    y = ref.weightnorm_forward(x, v, g, b)
    flipped = ref.weightnorm_forward(x, -2.0 * v, g, b)
    np.testing.assert_allclose(flipped, _torch_linear(x, -2.0 * v, g, b), rtol=0, atol=TOL)
    np.testing.assert_allclose(flipped - b, -(y - b), rtol=0, atol=TOL)


def test_data_rescaling_scales_output_minus_bias(ref):
    # Weight norm never looks at the data (Table 1: "No" for dataset re-scaling).
    x, v, g, b = _layer(9, 4, 3, 3)
    y = ref.weightnorm_forward(x, v, g, b)
    scaled = ref.weightnorm_forward(3.7 * x, v, g, b)
    np.testing.assert_allclose(scaled, _torch_linear(3.7 * x, v, g, b), rtol=0, atol=TOL)
    np.testing.assert_allclose(scaled - b, 3.7 * (y - b), rtol=0, atol=TOL)


def test_errata_catalogue_inputs(ref):
    # errata.md §4: the smallest distinguishing inputs and their right outputs.
    cases = [
        (np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 1.0]]), np.ones(2), np.zeros(2),
         [[1.0, 0.7071]]),
        (np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]]), np.array([3.0]), np.array([1.0]),
         [[4.0]]),
    ]
    for x, v, g, b, expected in cases:
        got = ref.weightnorm_forward(x, v, g, b)
        np.testing.assert_allclose(got, _torch_linear(x, v, g, b), rtol=0, atol=TOL)
        np.testing.assert_allclose(got, expected, rtol=0, atol=5e-5)


def test_rows_of_effective_weights_have_length_abs_g(ref):
    # W_i = g_i v_i / ||v_i||: feeding the identity reads W.T off the output.
    _, v, g, b = _layer(10, 1, 4, 3)
    W_T = ref.weightnorm_forward(np.eye(4), v, g, np.zeros(3))
    np.testing.assert_allclose(np.linalg.norm(W_T, axis=0), np.abs(g), rtol=0, atol=TOL)
    W = torch._weight_norm(_t(v), _t(g).reshape(3, 1), 0).numpy()
    np.testing.assert_allclose(W_T.T, W, rtol=0, atol=TOL)


def test_forward_leaves_inputs_unchanged(ref):
    args = _layer(11, 3, 4, 2)
    before = [a.copy() for a in args]
    ref.weightnorm_forward(*args)
    for old, new in zip(before, args, strict=True):
        assert np.array_equal(old, new)
