"""Recognized mistakes in layernorm_rnn_step, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results.
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
