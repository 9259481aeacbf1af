"""PyTorch as an independent oracle for the groupnorm reference solution."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normquiz.content import load_reference

TOL = 1e-10  # float64 on both sides


@pytest.fixture(scope="module")
def ref():
    return load_reference("groupnorm")


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _batch(seed, shape):
    # Channels on different offsets and scales, a different gain and bias per channel.
    rng = np.random.default_rng(seed)
    c = shape[1]
    spatial = (1,) * (len(shape) - 2)
    offsets = rng.normal(0.0, 3.0, size=(1, c) + spatial)
    scales = rng.uniform(0.5, 3.0, size=(1, c) + spatial)
    x = offsets + scales * rng.normal(size=shape)
    return x, rng.uniform(0.5, 2.0, size=c), rng.normal(0.0, 1.0, size=c)


def _per_channel(a, ndim):
    return a.reshape((1, -1) + (1,) * (ndim - 2))


SHAPES = [(3, 6, 5), (2, 6, 3, 4), (1, 4, 7), (4, 8), (2, 4, 2, 3, 2), (1, 6, 2)]


def _group_counts(c):
    # One group (layer norm), one channel per group (instance norm) and two in between.
    return sorted(g for g in {1, 2, c // 2, c} if c % g == 0)


@pytest.mark.parametrize("eps", [1e-5, 0.25])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_matches_torch_group_norm(ref, shape, eps):
    x, gain, bias = _batch(sum(shape), shape)
    for groups in _group_counts(shape[1]):
        got = ref.groupnorm_forward(x, groups, gain, bias, eps)
        expected = F.group_norm(_t(x), groups, _t(gain), _t(bias), eps).numpy()
        assert got.shape == x.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL, err_msg=f"G = {groups}")


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 2), (1, 5, 6)], ids=str)
def test_one_group_per_channel_is_instance_norm(ref, shape):
    x, gain, bias = _batch(10 + sum(shape), shape)
    got = ref.groupnorm_forward(x, shape[1], gain, bias, 0.25)
    expected = F.instance_norm(_t(x), weight=_t(gain), bias=_t(bias), eps=0.25).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 2), (1, 5, 6)], ids=str)
def test_one_group_is_layer_norm_with_a_per_channel_affine(ref, shape):
    x, gain, bias = _batch(20 + sum(shape), shape)
    got = ref.groupnorm_forward(x, 1, gain, bias, 0.25)
    x_hat = F.layer_norm(_t(x), shape[1:], eps=0.25).numpy()  # over (C, *spatial)
    expected = _per_channel(gain, x.ndim) * x_hat + _per_channel(bias, x.ndim)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    # The same through layer_norm's own (C, *spatial) affine, the gain repeated along space.
    weight = np.broadcast_to(_per_channel(gain, x.ndim)[0], shape[1:]).copy()
    shift = np.broadcast_to(_per_channel(bias, x.ndim)[0], shape[1:]).copy()
    expected = F.layer_norm(_t(x), shape[1:], _t(weight), _t(shift), 0.25).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_samples_are_independent_of_the_batch(ref):
    # GN never uses the batch axis: each sample alone gives the same output.
    x, gain, bias = _batch(30, (4, 6, 5))
    whole = ref.groupnorm_forward(x, 3, gain, bias)
    for n in range(4):
        alone = ref.groupnorm_forward(x[n:n + 1], 3, gain, bias)
        np.testing.assert_allclose(alone, whole[n:n + 1], rtol=0, atol=TOL)
        np.testing.assert_allclose(
            alone, F.group_norm(_t(x[n:n + 1]), 3, _t(gain), _t(bias)).numpy(), rtol=0, atol=TOL)


def test_constant_group_gives_bias(ref):
    x, gain, bias = _batch(31, (1, 4, 6))
    x[0, 2:] = 1.5
    got = ref.groupnorm_forward(x, 2, gain, bias)
    np.testing.assert_allclose(got, F.group_norm(_t(x), 2, _t(gain), _t(bias)).numpy(),
                               rtol=0, atol=TOL)
    np.testing.assert_allclose(got[0, 2:], np.repeat(bias[2:, None], 6, axis=1), rtol=0, atol=TOL)


def test_large_offset(ref):
    # Values 1e8 + v with v a multiple of 1/8 and 8 values per group are exact in
    # float64, and so is their mean. GN ignores a common shift within a group,
    # so the exact answer is GN(v), which torch computes without cancellation.
    rng = np.random.default_rng(32)
    v = rng.integers(-16, 17, size=(2, 4, 4)) / 8.0
    x = 1e8 + v
    assert np.array_equal(x - 1e8, v)
    gain, bias = rng.uniform(0.5, 2.0, size=4), rng.normal(size=4)
    expected = F.group_norm(_t(v), 2, _t(gain), _t(bias)).numpy()
    np.testing.assert_allclose(ref.groupnorm_forward(x, 2, gain, bias), expected, rtol=0, atol=TOL)


def test_errata_catalogue_inputs(ref):
    # errata.md §6, with eps = 0 written as a tiny eps for torch (0 works in numpy too).
    cases = [
        (np.array([0.0, 2.0, 10.0, 14.0]).reshape(1, 4, 1), 2, np.ones(4), [-1, 1, -1, 1]),
        (np.array([[0.0, 2.0], [4.0, 6.0]]).reshape(1, 2, 2), 1, np.ones(2),
         [-1.3416, -0.4472, 0.4472, 1.3416]),
        (np.array([[0.0, 2.0], [10.0, 20.0]]).reshape(2, 2, 1), 1, np.ones(2), [-1, 1, -1, 1]),
        (np.array([-1.0, 1.0, -1.0, 1.0]).reshape(1, 4, 1), 2, np.array([1.0, 2.0, 3.0, 4.0]),
         [-1, 2, -3, 4]),
    ]
    for x, groups, gain, expected in cases:
        bias = np.zeros_like(gain)
        got = ref.groupnorm_forward(x, groups, gain, bias, 0.0)
        torch_out = F.group_norm(_t(x), groups, _t(gain), _t(bias), 1e-30).numpy()
        np.testing.assert_allclose(got, torch_out, rtol=0, atol=TOL)
        np.testing.assert_allclose(got.ravel(), expected, rtol=0, atol=5e-5)


def test_channels_not_divisible_raise_like_torch(ref):
    x, gain, bias = _batch(33, (2, 6, 2))
    with pytest.raises(ValueError, match="divide"):
        ref.groupnorm_forward(x, 4, gain, bias)
    with pytest.raises(RuntimeError):
        F.group_norm(_t(x), 4, _t(gain), _t(bias))


def test_forward_leaves_inputs_unchanged(ref):
    x, gain, bias = _batch(34, (2, 4, 3))
    before = [x.copy(), gain.copy(), bias.copy()]
    ref.groupnorm_forward(x, 2, gain, bias, 0.1)
    for old, new in zip(before, (x, gain, bias), strict=True):
        assert np.array_equal(old, new)
