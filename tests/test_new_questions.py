"""The questions on the paper's parts the curriculum used to skip: their claims by experiment.

Each claim a new question makes that numbers can show is shown here: with numpy,
with the reference solutions, and with PyTorch as an independent oracle where
PyTorch has the operation (those tests skip on a machine without PyTorch and fail
under CI, like the other oracle tests' requirements). The worked numbers quoted
in the manifests are checked in tests/test_worked_numbers.py,
tests/test_batchnorm_numbers.py and tests/test_invariance_numbers.py.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from helpers import fmt, needs
from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import default_catalog, load_reference
from normquiz.questions import generate

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the oracle tests below say so, and fail under CI
    torch = None

CATALOG = default_catalog()
LAYERNORM = CATALOG.topic("layernorm")
LN = load_reference("layernorm")
SEEDS = st.integers(min_value=0, max_value=2**31)


def oracle():
    needs(torch is not None, "PyTorch (the tests' independent oracle)")
    return torch


def _t(a):
    return oracle().tensor(np.asarray(a, float), dtype=torch.float64)


def correct_text(question_id: str) -> str:
    q = CATALOG.find_exercise(question_id)[1]
    return " ".join(next(o for o in q.options if o.correct).text.split())


# ---------------------------------------------------------------- §3.1 and Eq. 4


def _unroll(x, W_xh, W_hh, gain, bias, eps=0.0):
    """h^1 ... h^T of the layer-normalized RNN, from h^0 = 0; x is (N, T, D)."""
    h = np.zeros((x.shape[0], W_hh.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = LN.layernorm_rnn_step(x[:, t], h, W_xh, W_hh, gain, bias, eps)
        states.append(h)
    return np.stack(states, axis=1)


def _rnn(seed=0, n=3, steps=30, d=4, h=5):
    rng = np.random.default_rng(seed)
    return (rng.normal(0.3, 1.0, size=(n, steps, d)), rng.normal(size=(h, d)),
            rng.normal(size=(h, h)) / np.sqrt(h), rng.uniform(0.5, 2.0, h), rng.normal(size=h))


def test_ln_rnn_needs_nothing_stored_per_step():
    # ln_rnn_sequence_length: every step, however late, is normalized from its own H
    # summed inputs, so a sequence gives the same states alone or in any batch, and a
    # step past every training length needs nothing that training would have stored.
    x, W_xh, W_hh, gain, bias = _rnn()
    together = _unroll(x, W_xh, W_hh, gain, bias, 1e-5)
    for i in range(x.shape[0]):
        alone = _unroll(x[i:i + 1], W_xh, W_hh, gain, bias, 1e-5)
        np.testing.assert_allclose(alone[0], together[i], rtol=0, atol=1e-12)
    assert np.all(np.isfinite(together[:, 25]))  # step 26 of 30


def test_ln_rnn_is_invariant_to_rescaling_all_summed_inputs():
    # §3.1: the normalization makes a step invariant to re-scaling all of its summed
    # inputs (eps = 0): doubling both weight matrices changes no hidden state.
    x, W_xh, W_hh, gain, bias = _rnn(1)
    np.testing.assert_allclose(_unroll(x, 2 * W_xh, 2 * W_hh, gain, bias),
                               _unroll(x, W_xh, W_hh, gain, bias), rtol=0, atol=1e-9)


def test_batch_statistics_differ_from_step_to_step():
    # Why batch norm would need statistics per time step: a unit's summed inputs over the
    # batch are distributed differently at the first step (h^0 = 0) and later ones.
    x, W_xh, W_hh, gain, bias = _rnn(2, n=400, steps=6)
    states = _unroll(x, W_xh, W_hh, gain, bias, 1e-5)
    h_prev = np.concatenate([np.zeros_like(states[:, :1]), states[:, :-1]], axis=1)
    a = h_prev @ W_hh.T + x @ W_xh.T  # (N, T, H) summed inputs
    per_step_mean, per_step_std = a.mean(axis=0), a.std(axis=0)  # (T, H)
    assert np.abs(per_step_mean[0] - per_step_mean[5]).max() > 0.1
    assert np.abs(per_step_std[0] - per_step_std[5]).max() > 0.1


def test_eq4_example_against_torch():
    # ln_eq4_notation: (g / sigma^t) * (a^t - mu^t) for a^t = [1, 3, 5, 7], g = [1, 2, 1, 0.5].
    a, g = np.array([[1.0, 3, 5, 7]]), np.array([1, 2, 1, 0.5])
    ours = LN.layernorm_forward(a, g, np.zeros(4), 0.0)
    assert fmt(ours[0]) == "[-1.3416, -0.8944, 0.4472, 0.6708]"
    oracle()
    np.testing.assert_allclose(ours, F.layer_norm(_t(a), (4,), _t(g), None, 0.0).numpy(),
                               rtol=0, atol=1e-12)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_step_normalized_answer_and_mistakes(seed):
    q = LAYERNORM.exercise("ln_step_normalized")
    g = generate(LAYERNORM, q, seed)
    a, k, j = g.data["a"], g.data["k"], g.data["j"]
    assert len(a) == g.data["t_steps"] != len(a[0]) == g.data["h"] and len(a[0]) >= 3
    value, step = a[k - 1][j - 1], a[k - 1]
    unit = [row[j - 1] for row in a]
    whole = [v for row in a for v in row]
    expected = {
        "answer": (value - statistics.fmean(step)) / statistics.pstdev(step),
        "per-sequence-statistics": (value - statistics.fmean(whole)) / statistics.pstdev(whole),
        "statistics-over-time": (value - statistics.fmean(unit)) / statistics.pstdev(unit),
        "unbiased-variance": (value - statistics.fmean(step)) / statistics.stdev(step),
    }
    got = {"answer": g.answer[0], **{m: v[0] for m, v in g.mistakes.items()}}
    assert set(got) == set(expected)
    for key, v in expected.items():
        assert math.isclose(got[key], v, rel_tol=1e-12, abs_tol=1e-12), key
    assert f"unit i = {j} at step t = {k}" in " ".join(g.prompt.split())


def test_step_normalized_worked_example_with_the_reference():
    steps = np.array([[1.0, 3, 5, 7], [2, 2, 6, 6], [0, 4, 4, 8]])
    per_step = LN.layernorm_forward(steps, np.ones(4), np.zeros(4), 0.0)
    assert fmt(per_step[0, 1]) == "-0.4472"  # unit 2 at step 1


# ---------------------------------------------------------------- H = 1, batch of one


@pytest.mark.parametrize("a", [7.0, -40.0, 0.0])
def test_one_unit_always_outputs_the_bias(a):
    # ln_single_unit: H = 1, g = 3, b = -2, eps = 1e-5.
    x = np.array([[a]])
    np.testing.assert_array_equal(LN.layernorm_forward(x, np.array([3.0]), np.array([-2.0])),
                                  [[-2.0]])
    assert correct_text("ln_single_unit").startswith("−2 both times")
    oracle()
    got = F.layer_norm(_t(x), (1,), _t([3.0]), _t([-2.0]), 1e-5).numpy()
    np.testing.assert_array_equal(got, [[-2.0]])


def test_one_unit_without_eps_is_nan():
    with np.errstate(invalid="ignore"):
        assert np.isnan(LN.layernorm_forward(np.array([[7.0]]), np.ones(1), np.zeros(1), 0.0))


def test_batch_of_one_example_against_torch():
    # ln_batch_size_one: the notes' case [1, 2, 5] alone, eps = 0.001, gain 1, bias [0.5, -1, 2].
    x, b = np.array([[1.0, 2, 5]]), np.array([0.5, -1, 2])
    oracle()
    ln = F.layer_norm(_t(x), (3,), None, _t(b), 0.001).numpy()
    assert fmt(ln[0]) == "[-0.4804, -1.3922, 3.3726]"
    bn = F.batch_norm(_t(np.vstack([x, x])), None, None, None, _t(b), training=True,
                      eps=0.001).numpy()  # two copies: the same statistics as one case
    np.testing.assert_allclose(bn[0], b, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- §5.2.2


def test_gain_gradient_ignores_the_scale_of_input_and_weights():
    # ln_gain_magnitude: in a layer-normalized layer dL/dg does not change when the input
    # or the weights are scaled by 10 (eps = 0); a plain unit's dL/dm grows tenfold.
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    gain, bias, dy = rng.uniform(0.5, 2, 5), rng.normal(size=5), rng.normal(size=(6, 5))

    def dgain(x, w):
        return LN.layernorm_backward(dy, x @ w.T, gain, 0.0)[1]

    np.testing.assert_allclose(dgain(10 * x, w), dgain(x, w), rtol=1e-12)
    np.testing.assert_allclose(dgain(x, 10 * w), dgain(x, w), rtol=1e-12)
    u, v = np.array([0.6, 0.8]), np.array([1.0, 2.0])  # the explanation's plain unit
    assert u @ v == pytest.approx(2.2) and u @ (10 * v) == pytest.approx(22.0)
    oracle()
    for scale in (1.0, 10.0):
        tg = _t(gain).requires_grad_()
        y = F.layer_norm(_t(scale * x) @ _t(w).T, (5,), tg, _t(bias), 0.0)
        (y * _t(dy)).sum().backward()
        np.testing.assert_allclose(tg.grad.numpy(), dgain(x, w), rtol=1e-10)
        m = _t([1.5]).requires_grad_()
        (m * (_t(scale * v) @ _t(u))).sum().backward()
        assert m.grad.item() == pytest.approx(2.2 * scale)


# ---------------------------------------------------------------- §6.7


def test_border_units_see_fewer_pixels():
    # ln_convnets: zero padding, a 3 x 3 filter of ones over an image of ones.
    image = np.ones((5, 5))
    padded = np.pad(image, 1)
    out = np.array([[padded[i:i + 3, j:j + 3].sum() for j in range(5)] for i in range(5)])
    assert (out[2, 2], out[0, 2], out[0, 0]) == (9, 6, 4)
    oracle()
    conv = F.conv2d(_t(image)[None, None], _t(np.ones((1, 1, 3, 3))), padding=1)[0, 0].numpy()
    np.testing.assert_array_equal(conv, out)


# ---------------------------------------------------------------- negative scale factors


def test_negative_scale_flips_bn_and_ln_in_torch():
    # inv_negative_scale: W' = -2W multiplies every summed input by -2.
    a = np.random.default_rng(6).normal(size=(6, 5))
    g, b = np.random.default_rng(7).uniform(0.5, 2, 5), np.random.default_rng(8).normal(size=5)
    ours = LN.layernorm_forward(-2 * a, g, b, 0.0) - b
    np.testing.assert_allclose(ours, -(LN.layernorm_forward(a, g, b, 0.0) - b), atol=1e-12)
    assert "flip" in correct_text("inv_negative_scale")
    oracle()
    # torch's training-mode batch norm refuses eps = 0; 1e-12 is far below these variances.
    for normalize in (lambda z: F.layer_norm(z, (5,), _t(g), _t(b), 0.0),
                      lambda z: F.batch_norm(z, None, None, _t(g), _t(b), training=True,
                                             eps=1e-12)):
        before, after = normalize(_t(a)).numpy(), normalize(_t(-2 * a)).numpy()
        np.testing.assert_allclose(after - b, -(before - b), rtol=0, atol=1e-9)
        assert np.abs(after - before).max() > 1.0


def test_negative_scale_example():
    y = LN.layernorm_forward(np.array([1.0, 3, 5, 7]), np.full(4, 2.0), np.full(4, -1.0), 0.0)
    y2 = LN.layernorm_forward(-2 * np.array([1.0, 3, 5, 7]), np.full(4, 2.0), np.full(4, -1.0),
                              0.0)
    assert fmt(y2) == "[1.6833, -0.1056, -1.8944, -3.6833]"
    np.testing.assert_allclose(y2, -1 - (y + 1), atol=1e-12)


# ---------------------------------------------------------------- §5.1: normalize after W


def test_normalizing_the_input_first_loses_the_weight_invariances():
    # inv_input_normalization, on random layers: the input-normalized layer changes under
    # both weight-matrix transformations; layer norm of the summed inputs does not.
    rng = np.random.default_rng(9)
    for _ in range(5):
        x, w, gamma = rng.normal(size=(8, 4)), rng.normal(size=(5, 4)), rng.normal(size=4)
        one, zero = np.ones(5), np.zeros(5)
        x_hat = LN.layernorm_forward(x, np.ones(4), np.zeros(4), 0.0)
        for w2 in (3.7 * w, w + gamma):
            assert np.abs(x_hat @ w2.T - x_hat @ w.T).max() > 1e-3
            np.testing.assert_allclose(LN.layernorm_forward(x @ w2.T, one, zero, 0.0),
                                       LN.layernorm_forward(x @ w.T, one, zero, 0.0),
                                       atol=1e-9)


# ---------------------------------------------------------------- facts stated as text


def test_authors_and_attributions():
    assert correct_text("ln_authors") == "Jimmy Lei Ba, Jamie Ryan Kiros and Geoffrey E. Hinton"
    assert "Ioffe & Szegedy introduced it in 2015" in correct_text("bn_attribution")
    assert "later work" in correct_text("bn_motivation")
    assert "covariate shift" in correct_text("bn_motivation")
    assert correct_text("ln_convnets").startswith("Better than no normalization, but batch norm")
    assert "Nothing about the size of the training set" in correct_text("ln_limited_data")
