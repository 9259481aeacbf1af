"""Layer normalization (Ba, Kiros & Hinton, 2016) in numpy.

Fill in the three functions below, replacing each `...` marked `# TODO`, then
grade your work from this folder:

    normquiz grade                     # all exercises of the topic
    normquiz grade layernorm_forward   # one exercise
    normquiz hint layernorm_forward    # the next hint, one at a time

Arrays are float64. Your functions must not modify their inputs, and each
output has the shape of the input it normalizes.
"""

import numpy as np


def layernorm_forward(x, gain, bias, eps=1e-5):
    """Layer-normalize the summed inputs of each training case.

    Every case (every position along the leading axes) gets its own mean and
    standard deviation, taken over its H units, the last axis (the paper's
    Eq. 3, which divides by H):

        mu    = (1/H) * sum_i x_i
        var   = (1/H) * sum_i (x_i - mu)**2
        x_hat = (x - mu) / sqrt(var + eps)
        y     = gain * x_hat + bias

    Args:
        x: summed inputs, shape (..., H), for example (N, H) or (N, T, H).
        gain: per-unit gain g, shape (H,).
        bias: per-unit bias b, shape (H,).
        eps: small constant added to the variance, inside the square root.

    Returns:
        y: the normalized, scaled and shifted inputs, shape (..., H), the
        same shape as x. x itself is left unchanged.
    """
    mu = ...  # TODO: the mean of each case over its H units (keep the axis, shape (..., 1))
    var = ...  # TODO: the variance over the same units, dividing by H (not H - 1)
    x_hat = ...  # TODO: subtract mu, then divide by the square root of (var + eps); no in-place ops
    y = ...  # TODO: scale x_hat by the gain, then add the bias
    raise NotImplementedError("layernorm_forward")  # TODO: return y instead


def layernorm_backward(dy, x, gain, eps=1e-5):
    """Backward pass of layernorm_forward.

    Given the upstream gradient dy of a loss L = sum(dy * y), where
    y = layernorm_forward(x, gain, bias, eps), return the gradients of L
    with respect to x, gain and bias. Deriving dx is the exercise: mu and
    the variance are computed from every summed input of a case (over the
    last axis, the H units, as in the paper's Eq. 3), so a change to one
    input reaches the output through x - mu, through mu and through the
    variance. The gain and bias are shared by every case, so their
    gradients collect the contributions of all cases.

    Args:
        dy: upstream gradient, the shape of x.
        x: the forward pass input, shape (..., H), for example (N, H).
        gain: per-unit gain, shape (H,).
        eps: the eps of the forward pass.

    Returns:
        (dx, dgain, dbias): dx with the shape of x; dgain and dbias with
        shape (H,). No input is modified.
    """
    x_hat = ...  # TODO: recompute the forward pass's normalized x (and keep s = sqrt(var + eps))
    dx_hat = ...  # TODO: the gradient with respect to x_hat
    dx = ...  # TODO: account for the paths through x - mu, through mu and through the variance
    dgain = ...  # TODO: sum over every axis except the last one
    dbias = ...  # TODO: likewise
    raise NotImplementedError("layernorm_backward")  # TODO: return dx, dgain, dbias


def layernorm_rnn_step(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    """One time step of a layer-normalized RNN (the paper's Eq. 4) with f = tanh.

    Rows are training cases, so the paper's a_t = W_hh h_{t-1} + W_xh x_t
    becomes products with the transposed weight matrices:

        a_t = h_prev @ W_hh.T + x_t @ W_xh.T
        h_t = tanh(gain * (a_t - mu_t) / sqrt(var_t + eps) + bias)

    mu_t and var_t are the statistics of each case's H summed inputs at this
    time step; the same gain and bias are used at every time step.

    Args:
        x_t: inputs at time t, shape (N, D).
        h_prev: hidden state at time t - 1, shape (N, H).
        W_xh: input-to-hidden weights, shape (H, D).
        W_hh: hidden-to-hidden weights, shape (H, H).
        gain: per-unit gain, shape (H,).
        bias: per-unit bias, shape (H,).
        eps: added to the variance, inside the square root.

    Returns:
        h_t: the new hidden state, shape (N, H). No input is modified.
    """
    a_t = ...  # TODO: the summed inputs of the H hidden units, shape (N, H)
    h_t = ...  # TODO: layer-normalize a_t (you may call layernorm_forward), then apply tanh
    raise NotImplementedError("layernorm_rnn_step")  # TODO: return h_t
