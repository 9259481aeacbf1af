"""PyTorch as an independent oracle for the layernorm reference solutions."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normquiz.content import load_reference

TOL = 1e-10  # float64 on both sides


@pytest.fixture(scope="module")
def ref():
    return load_reference("layernorm")


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _params(rng, h):
    return rng.uniform(0.5, 2.0, size=h), rng.normal(0.0, 1.0, size=h)


def _torch_forward(x, gain, bias, eps):
    return F.layer_norm(_t(x), (x.shape[-1],), _t(gain), _t(bias), eps).numpy()


@pytest.mark.parametrize("eps", [1e-5, 0.25])
@pytest.mark.parametrize("shape", [(4, 6), (1, 7), (5, 1), (2, 3, 5), (2, 2, 3, 4)])
def test_forward_matches_torch(ref, shape, eps):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(0.5, 2.0, size=shape)
    gain, bias = _params(rng, shape[-1])
    got = ref.layernorm_forward(x, gain, bias, eps)
    np.testing.assert_allclose(got, _torch_forward(x, gain, bias, eps), rtol=0, atol=TOL)


def test_forward_constant_case_gives_bias(ref):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 4))
    x[1] = 2.5
    gain, bias = _params(rng, 4)
    got = ref.layernorm_forward(x, gain, bias)
    np.testing.assert_allclose(got, _torch_forward(x, gain, bias, 1e-5), rtol=0, atol=TOL)
    np.testing.assert_allclose(got[1], bias, rtol=0, atol=TOL)


def test_forward_large_offset(ref):
    # Values 1e8 + v with v a multiple of 1/8 and H = 8 are exact in float64,
    # and so is their mean. LN ignores a common shift, so the exact answer is
    # LN(v), which torch computes without any cancellation. (torch's own
    # result on the offset input is off by about 1e-9; the reference's
    # two-pass variance is not.)
    rng = np.random.default_rng(8)
    v = rng.integers(-16, 17, size=(3, 8)) / 8.0
    x = 1e8 + v
    assert np.array_equal(x - 1e8, v)
    gain, bias = _params(rng, 8)
    got = ref.layernorm_forward(x, gain, bias)
    np.testing.assert_allclose(got, _torch_forward(v, gain, bias, 1e-5), rtol=0, atol=TOL)


def test_forward_leaves_inputs_unchanged(ref):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 4))
    gain, bias = _params(rng, 4)
    before = [x.copy(), gain.copy(), bias.copy()]
    ref.layernorm_forward(x, gain, bias, 0.1)
    for old, new in zip(before, (x, gain, bias), strict=True):
        assert np.array_equal(old, new)


@pytest.mark.parametrize("eps", [1e-5, 0.1])
@pytest.mark.parametrize("shape", [(4, 6), (1, 5), (2, 3, 4)])
def test_backward_matches_autograd(ref, shape, eps):
    rng = np.random.default_rng(10 + sum(shape))
    x = rng.normal(0.5, 2.0, size=shape)
    dy = rng.normal(size=shape)
    gain, bias = _params(rng, shape[-1])
    tx, tg, tb = (_t(a).requires_grad_() for a in (x, gain, bias))
    y = F.layer_norm(tx, (shape[-1],), tg, tb, eps)
    (y * _t(dy)).sum().backward()
    dx, dgain, dbias = ref.layernorm_backward(dy, x, gain, eps)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dgain, tg.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dbias, tb.grad.numpy(), rtol=0, atol=TOL)


def test_backward_errata_batch_case(ref):
    # The worked example in errata.md and in the exercise's explanation.
    x = np.array([[-1.0, 0.0, 1.0], [0.0, 1.0, 5.0]])
    dy = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
    gain = np.array([1.0, 2.0, 3.0])
    dx, dgain, dbias = ref.layernorm_backward(dy, x, gain, 0.1)
    tx, tg = _t(x).requires_grad_(), _t(gain).requires_grad_()
    (F.layer_norm(tx, (3,), tg, None, 0.1) * _t(dy)).sum().backward()
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dgain, tg.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(
        dx, [[0.2648, -0.3807, 0.1159], [-0.5520, 0.7164, -0.1644]], rtol=0, atol=5e-5
    )
    np.testing.assert_allclose(dgain, [-1.1421, -0.4580, -1.3741], rtol=0, atol=5e-5)
    np.testing.assert_allclose(dbias, [1.0, 1.0, -1.0], rtol=0, atol=TOL)


@pytest.mark.parametrize(("n", "d", "h"), [(3, 4, 5), (1, 2, 4), (2, 3, 3)])
def test_rnn_step_matches_torch(ref, n, d, h):
    rng = np.random.default_rng(20 + n + d + h)
    x_t = rng.normal(size=(n, d))
    h_prev = np.tanh(rng.normal(size=(n, h)))
    W_xh = rng.normal(size=(h, d))
    W_hh = rng.normal(size=(h, h))
    gain, bias = _params(rng, h)
    # torch's RNN convention: rows are cases, a = h W_hh^T + x W_xh^T.
    a = _t(h_prev) @ _t(W_hh).T + _t(x_t) @ _t(W_xh).T
    expected = torch.tanh(F.layer_norm(a, (h,), _t(gain), _t(bias), 0.25)).numpy()
    got = ref.layernorm_rnn_step(x_t, h_prev, W_xh, W_hh, gain, bias, 0.25)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
