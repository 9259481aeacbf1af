"""PyTorch as an independent oracle for the batchnorm reference solutions."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normquiz.content import load_reference

TOL = 1e-10  # float64 on both sides


@pytest.fixture(scope="module")
def ref():
    return load_reference("batchnorm")


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _params(rng, d):
    return rng.uniform(0.5, 2.0, size=d), rng.normal(0.0, 1.0, size=d)


def _torch_train(x, gain, bias, eps):
    return F.batch_norm(_t(x), None, None, _t(gain), _t(bias), training=True, eps=eps).numpy()


@pytest.mark.parametrize("eps", [1e-5, 0.25])
@pytest.mark.parametrize("shape", [(6, 4), (2, 3), (5, 1), (4, 4), (40, 7)])
def test_forward_matches_torch(ref, shape, eps):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(0.5, 2.0, size=shape)
    gain, bias = _params(rng, shape[1])
    got = ref.batchnorm_forward(x, gain, bias, eps)
    np.testing.assert_allclose(got, _torch_train(x, gain, bias, eps), rtol=0, atol=TOL)


def test_forward_notes_batch_constant_feature(ref):
    # The notes' batch, written there with one row per feature; rows are cases here.
    x = np.array([[1.0, 2, 3, 4], [2, 2, 2, 2], [5, 6, 7, 8]]).T
    gain, bias = np.array([1.5, 2.0, 0.5]), np.array([0.5, -1.0, 2.0])
    got = ref.batchnorm_forward(x, gain, bias, 0.001)
    np.testing.assert_allclose(got, _torch_train(x, gain, bias, 0.001), rtol=0, atol=TOL)
    np.testing.assert_allclose(got[:, 1], bias[1], rtol=0, atol=TOL)
    unit = ref.batchnorm_forward(x, np.ones(3), np.zeros(3), 0.001)
    np.testing.assert_allclose(unit[:, 0], [-1.3411, -0.4470, 0.4470, 1.3411], atol=5e-5)


def test_forward_batch_of_one_gives_the_bias(ref):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 5))
    gain, bias = _params(rng, 5)
    # torch refuses a training batch with one value per channel ...
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        _torch_train(x, gain, bias, 1e-5)
    # ... but a batch of two copies of the case has the same statistics
    # (each feature's mean is the case's value, its variance 0), so torch's
    # output for either copy is what BN gives a batch of one.
    twice = _torch_train(np.vstack([x, x]), gain, bias, 1e-5)
    got = ref.batchnorm_forward(x, gain, bias)
    np.testing.assert_allclose(got, twice[:1], rtol=0, atol=TOL)
    np.testing.assert_allclose(got, bias[None, :], rtol=0, atol=TOL)


def test_forward_large_offset(ref):
    # Values 1e8 + v with v a multiple of 1/8 and N = 8 are exact in float64,
    # and so is each feature's mean. BN ignores a shift common to a feature's
    # cases, so the exact answer is BN(v), which torch computes without any
    # cancellation.
    rng = np.random.default_rng(8)
    v = rng.integers(-16, 17, size=(8, 3)) / 8.0
    x = 1e8 + v
    assert np.array_equal(x - 1e8, v)
    gain, bias = _params(rng, 3)
    got = ref.batchnorm_forward(x, gain, bias)
    np.testing.assert_allclose(got, _torch_train(v, gain, bias, 1e-5), rtol=0, atol=TOL)


def _torch_running(running_mean, running_var, x, momentum):
    rm, rv = _t(running_mean), _t(running_var)
    F.batch_norm(_t(x), rm, rv, training=True, momentum=momentum, eps=1e-5)
    return rm.numpy(), rv.numpy()


@pytest.mark.parametrize("momentum", [0.1, 0.3, 1.0, 0.0])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4), (10, 2), (3, 3)])
def test_running_update_matches_torch(ref, shape, momentum):
    rng = np.random.default_rng(30 + sum(shape))
    x = rng.normal(1.0, 3.0, size=shape)
    running_mean = rng.normal(size=shape[1])
    running_var = rng.uniform(0.5, 3.0, size=shape[1])
    new_mean, new_var = ref.batchnorm_update_running(running_mean, running_var, x, momentum)
    expected_mean, expected_var = _torch_running(running_mean, running_var, x, momentum)
    np.testing.assert_allclose(new_mean, expected_mean, rtol=0, atol=TOL)
    np.testing.assert_allclose(new_var, expected_var, rtol=0, atol=TOL)


def test_running_update_default_momentum_and_errata_example(ref):
    # errata.md: x = [[0], [2]] from running mean 0 and variance 1 gives 0.1 and 1.1.
    x, rm, rv = np.array([[0.0], [2.0]]), np.zeros(1), np.ones(1)
    new_mean, new_var = ref.batchnorm_update_running(rm, rv, x)
    expected_mean, expected_var = _torch_running(rm, rv, x, 0.1)
    np.testing.assert_allclose(new_mean, expected_mean, rtol=0, atol=TOL)
    np.testing.assert_allclose(new_var, expected_var, rtol=0, atol=TOL)
    np.testing.assert_allclose([new_mean[0], new_var[0]], [0.1, 1.1], rtol=0, atol=TOL)


def test_running_update_refuses_a_batch_of_one_like_torch(ref):
    x = np.array([[1.0, 2.0]])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        _torch_running(np.zeros(2), np.ones(2), x, 0.1)
    with pytest.raises(ValueError):
        ref.batchnorm_update_running(np.zeros(2), np.ones(2), x)


def _torch_eval(x, gain, bias, running_mean, running_var, eps):
    return F.batch_norm(_t(x), _t(running_mean), _t(running_var), _t(gain), _t(bias),
                        training=False, eps=eps).numpy()


@pytest.mark.parametrize("eps", [1e-5, 0.25])
@pytest.mark.parametrize("shape", [(5, 3), (1, 4), (4, 4), (7, 1)])
def test_inference_matches_torch(ref, shape, eps):
    rng = np.random.default_rng(50 + sum(shape))
    x = rng.normal(1.0, 3.0, size=shape)
    gain, bias = _params(rng, shape[1])
    running_mean = rng.normal(0.0, 2.0, size=shape[1])
    running_var = rng.uniform(0.5, 4.0, size=shape[1])
    got = ref.batchnorm_inference(x, gain, bias, running_mean, running_var, eps)
    expected = _torch_eval(x, gain, bias, running_mean, running_var, eps)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_training_then_inference_matches_torch_module(ref):
    # A BatchNorm1d module trained on a few batches, then switched to eval():
    # the reference's update, forward and inference reproduce every step.
    rng = np.random.default_rng(70)
    d = 3
    module = torch.nn.BatchNorm1d(d, eps=1e-5, momentum=0.1).double()
    gain, bias = _params(rng, d)
    with torch.no_grad():
        module.weight.copy_(_t(gain))
        module.bias.copy_(_t(bias))
    running_mean, running_var = np.zeros(d), np.ones(d)  # torch's initial buffers
    module.train()
    for step in range(5):
        x = rng.normal(step, 1.0 + step, size=(4 + step, d))
        with torch.no_grad():
            y = module(_t(x)).numpy()
        np.testing.assert_allclose(ref.batchnorm_forward(x, gain, bias), y, rtol=0, atol=TOL)
        running_mean, running_var = ref.batchnorm_update_running(running_mean, running_var, x)
        np.testing.assert_allclose(running_mean, module.running_mean.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(running_var, module.running_var.numpy(), rtol=0, atol=TOL)
    module.eval()
    test = rng.normal(1.0, 2.0, size=(3, d))
    with torch.no_grad():
        expected = module(_t(test)).numpy()
    got = ref.batchnorm_inference(test, gain, bias, running_mean, running_var)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_functions_leave_inputs_unchanged(ref):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 3))
    gain, bias = _params(rng, 3)
    running_mean, running_var = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
    args = (x, gain, bias, running_mean, running_var)
    before = [a.copy() for a in args]
    ref.batchnorm_forward(x, gain, bias, 0.1)
    ref.batchnorm_update_running(running_mean, running_var, x, 0.1)
    ref.batchnorm_inference(x, gain, bias, running_mean, running_var, 0.1)
    for old, new in zip(before, args, strict=True):
        assert np.array_equal(old, new)
