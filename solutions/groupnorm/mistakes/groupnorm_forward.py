"""Recognized mistakes in groupnorm_forward, each written as a learner would.

Every function has the contract's signature and, apart from its mistake,
does what the reference does (including the divisibility check). PROBES holds
small inputs on which the reference and all of these give pairwise different
results. VARIANTS holds other ways learners write the same mistakes (each
docstring tells the learner what their output matches), and CORRECT other
right ways to write the function.
"""

import numpy as np


def _affine(x_hat, gain, bias):
    shape = (1, x_hat.shape[1]) + (1,) * (x_hat.ndim - 2)
    return gain.reshape(shape) * x_hat + bias.reshape(shape)


def _check(x, num_groups):
    if x.shape[1] % num_groups != 0:
        raise ValueError("C must be divisible by num_groups")


def interleaved_groups(x, num_groups, gain, bias, eps=1e-5):
    # Reshaped to (N, C/G, G, rest): group k collects channels k, k + G,
    # k + 2G, ... instead of G consecutive blocks.
    _check(x, num_groups)
    n, c = x.shape[:2]
    grouped = x.reshape(n, c // num_groups, num_groups, -1)
    mu = grouped.mean(axis=(1, 3), keepdims=True)
    var = grouped.var(axis=(1, 3), keepdims=True)
    x_hat = ((grouped - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _affine(x_hat, gain, bias)


def mean_of_channel_variances(x, num_groups, gain, bias, eps=1e-5):
    # The group mean is right, but the group variance is the average of the
    # per-channel variances: the spread between the channels' means is lost.
    _check(x, num_groups)
    n, c = x.shape[:2]
    grouped = x.reshape(n, num_groups, c // num_groups, -1)
    mu = grouped.mean(axis=(2, 3), keepdims=True)
    var = grouped.var(axis=3, keepdims=True).mean(axis=2, keepdims=True)
    x_hat = ((grouped - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _affine(x_hat, gain, bias)


def instance_norm(x, num_groups, gain, bias, eps=1e-5):
    # Statistics per sample and per channel: num_groups is ignored.
    _check(x, num_groups)
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    mu = flat.mean(axis=2, keepdims=True)
    var = flat.var(axis=2, keepdims=True)
    x_hat = ((flat - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _affine(x_hat, gain, bias)


def batch_pooled(x, num_groups, gain, bias, eps=1e-5):
    # Each group's statistics are pooled over every sample of the batch too.
    _check(x, num_groups)
    n = x.shape[0]
    grouped = x.reshape(n, num_groups, -1)
    mu = grouped.mean(axis=(0, 2), keepdims=True)
    var = grouped.var(axis=(0, 2), keepdims=True)
    x_hat = ((grouped - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _affine(x_hat, gain, bias)


def gain_per_group(x, num_groups, gain, bias, eps=1e-5):
    # One gain and one bias per group, read from the first G entries, instead
    # of one per channel.
    _check(x, num_groups)
    n = x.shape[0]
    grouped = x.reshape(n, num_groups, -1)
    mu = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    x_hat = (grouped - mu) / np.sqrt(var + eps)
    y = gain[:num_groups, None] * x_hat + bias[:num_groups, None]
    return y.reshape(x.shape)


def unbiased_variance(x, num_groups, gain, bias, eps=1e-5):
    # ddof=1 divides by the group's count minus 1.
    _check(x, num_groups)
    n = x.shape[0]
    grouped = x.reshape(n, num_groups, -1)
    mu = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, ddof=1, keepdims=True)
    x_hat = ((grouped - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _affine(x_hat, gain, bias)


def eps_outside_sqrt(x, num_groups, gain, bias, eps=1e-5):
    # eps added to the standard deviation instead of the variance.
    _check(x, num_groups)
    n = x.shape[0]
    grouped = x.reshape(n, num_groups, -1)
    mu = grouped.mean(axis=2, keepdims=True)
    std = grouped.std(axis=2, keepdims=True)
    x_hat = ((grouped - mu) / (std + eps)).reshape(x.shape)
    return _affine(x_hat, gain, bias)


# ---------------------------------------------------------------- other ways to write them


def _gain_of_first_channel(x, num_groups, gain, bias, eps=1e-5):
    """Your output matches one gain and bias per group, those of the group's first
    channel (gain[::C // G])."""
    _check(x, num_groups)
    n, c = x.shape[:2]
    grouped = x.reshape(n, num_groups, -1)
    mu = grouped.mean(axis=2, keepdims=True)
    x_hat = (grouped - mu) / np.sqrt(grouped.var(axis=2, keepdims=True) + eps)
    step = c // num_groups
    return (gain[::step, None] * x_hat + bias[::step, None]).reshape(x.shape)


VARIANTS = {"gain-per-group": [_gain_of_first_channel]}


# ---------------------------------------------------------------- right, written otherwise


def _right_group_by_group(x, num_groups, gain, bias, eps=1e-5):
    """One sample and one group of consecutive channels at a time."""
    _check(x, num_groups)
    out = np.empty(x.shape)
    size = x.shape[1] // num_groups
    for n in range(x.shape[0]):
        for k in range(num_groups):
            block = x[n, k * size:(k + 1) * size]
            out[n, k * size:(k + 1) * size] = (block - block.mean()) / np.sqrt(block.var() + eps)
    return _affine(out, gain, bias)


def _right_five_axes(x, num_groups, gain, bias, eps=1e-5):
    """Reshaped to (N, G, C/G, rest), statistics over the last two axes."""
    _check(x, num_groups)
    n, c = x.shape[:2]
    grouped = x.reshape(n, num_groups, c // num_groups, -1)
    mu = grouped.mean(axis=(2, 3), keepdims=True)
    var = ((grouped - mu) ** 2).mean(axis=(2, 3), keepdims=True)
    return _affine(((grouped - mu) / np.sqrt(var + eps)).reshape(x.shape), gain, bias)


CORRECT = [_right_group_by_group, _right_five_axes]


# Groups of two or three channels (so 1 < G < C), channel means that differ
# within each group, two samples on different scales, a different gain and
# bias for every channel, and eps = 0.25.
PROBES = [
    # The catalogue's smallest input: one sample, channels [0, 2, 10, 14], G = 2.
    ((np.array([[[0.0], [2.0], [10.0], [14.0]]]), 2, np.ones(4), np.zeros(4)), {"eps": 0.0}),
    # (N, C, L) = (2, 4, 3), G = 2.
    (
        (
            np.array(
                [
                    [[0.0, 2.0, 4.0], [10.0, 6.0, 14.0], [-3.0, 1.0, 2.0], [8.0, 5.0, 11.0]],
                    [[1.0, -1.0, 0.0], [3.0, 2.0, 7.0], [20.0, 26.0, 23.0], [0.0, 4.0, -2.0]],
                ]
            ),
            2,
            np.array([1.5, -0.5, 2.0, 0.75]),
            np.array([0.5, 1.0, -1.0, 2.0]),
        ),
        {"eps": 0.25},
    ),
    # (N, C, H, W) = (2, 6, 2, 1), G = 2: three channels per group.
    (
        (
            np.array(
                [
                    [[[1.0], [3.0]], [[7.0], [4.0]], [[0.0], [-2.0]],
                     [[5.0], [9.0]], [[2.0], [2.5]], [[12.0], [6.0]]],
                    [[[-4.0], [0.0]], [[1.0], [8.0]], [[3.0], [3.5]],
                     [[10.0], [15.0]], [[-1.0], [0.0]], [[4.0], [7.0]]],
                ]
            ),
            2,
            np.array([1.0, 2.0, -1.0, 0.5, 1.5, 3.0]),
            np.array([0.0, -2.0, 1.0, 0.5, -0.5, 2.0]),
        ),
        {"eps": 0.25},
    ),
]
