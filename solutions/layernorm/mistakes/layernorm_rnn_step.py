"""Recognized mistakes in layernorm_rnn_step, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results. VARIANTS holds
other ways learners write the same mistakes (each docstring tells the learner
what their output matches), and CORRECT other right ways to write the function.
"""

import numpy as np


def _layernorm(a, gain, bias, eps):
    mu = a.mean(axis=-1, keepdims=True)
    var = a.var(axis=-1, keepdims=True)
    return gain * (a - mu) / np.sqrt(var + eps) + bias


def no_activation(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    # Returns the normalized summed inputs; f = tanh is never applied.
    a_t = h_prev @ W_hh.T + x_t @ W_xh.T
    return _layernorm(a_t, gain, bias, eps)


def activation_before_norm(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    # Applies tanh to the summed inputs and normalizes its output.
    a_t = h_prev @ W_hh.T + x_t @ W_xh.T
    return _layernorm(np.tanh(a_t), gain, bias, eps)


def transposed_weights(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    # The paper's W_hh h + W_xh x turned into row form without transposing
    # the weights: silently wrong when D == H, a shape error otherwise.
    a_t = h_prev @ W_hh + x_t @ W_xh
    return np.tanh(_layernorm(a_t, gain, bias, eps))


def _hh_not_transposed(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    """Your output matches h_prev @ W_hh + x_t @ W_xh.T: W_hh is not transposed (the
    column form W_hhᵀ h instead of W_hh h)."""
    return np.tanh(_layernorm(h_prev @ W_hh + x_t @ W_xh.T, gain, bias, eps))


def _xh_not_transposed(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    """Your output matches h_prev @ W_hh.T + x_t @ W_xh: W_xh is not transposed."""
    return np.tanh(_layernorm(h_prev @ W_hh.T + x_t @ W_xh, gain, bias, eps))


VARIANTS = {"transposed-weights": [_hh_not_transposed, _xh_not_transposed]}


def _right_column_form(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    """The paper's column-vector form W_hh h + W_xh x, transposed back to rows."""
    a = (W_hh @ h_prev.T + W_xh @ x_t.T).T
    centred = a - a.mean(axis=1, keepdims=True)
    var = (centred**2).mean(axis=1, keepdims=True)
    return np.tanh(gain * centred / np.sqrt(var + eps) + bias)


def _right_einsum(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    """The summed inputs with einsum: unit i of case n sums row i of each matrix."""
    a = np.einsum("nh,ih->ni", h_prev, W_hh) + np.einsum("nd,id->ni", x_t, W_xh)
    return np.tanh(_layernorm(a, gain, bias, eps))


CORRECT = [_right_column_form, _right_einsum]


PROBES = [
    # Non-square everything: N=2, D=3, H=4; gain and bias differ per unit.
    (
        (
            np.array([[1.0, -1.0, 2.0], [0.5, 0.0, -1.0]]),
            np.array([[0.5, -0.5, 1.0, 0.0], [-1.0, 2.0, 0.0, 1.0]]),
            np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 0.0], [0.0, -2.0, 1.0], [1.0, 1.0, 1.0]]),
            np.array(
                [
                    [0.5, -1.0, 0.0, 2.0],
                    [1.0, 0.0, 0.5, -1.0],
                    [0.0, 1.5, -0.5, 0.0],
                    [-1.0, 0.0, 1.0, 0.5],
                ]
            ),
            np.array([1.5, 0.5, 2.0, 1.0]),
            np.array([0.1, -0.2, 0.3, 0.0]),
        ),
        {"eps": 0.25},
    ),
    # D == H == 2 and non-symmetric weights: the untransposed products still
    # run, so only their values tell them apart.
    (
        (
            np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]]),
            np.array([[0.5, -0.5], [1.0, 0.0], [-1.0, 2.0]]),
            np.array([[1.0, 2.0], [-1.0, 0.5]]),
            np.array([[0.5, -1.0], [2.0, 1.0]]),
            np.array([2.0, 0.5]),
            np.array([0.5, -0.5]),
        ),
        {"eps": 0.25},
    ),
]
