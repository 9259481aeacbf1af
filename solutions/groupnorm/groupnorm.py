"""Reference solution for the groupnorm topic.

Group normalization (Wu & He, 2018), which is not in the layer norm paper:
each sample's C channels are split into G groups of C/G consecutive channels,
and every group gets its own mean and variance over its channels and all
spatial positions. G = 1 is layer norm over (C, *spatial) with a per-channel
affine; G = C is instance norm. The batch axis is never used.
"""

import operator

import numpy as np


def groupnorm_forward(
    x: np.ndarray, num_groups: int, gain: np.ndarray, bias: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Group norm of x (N, C, *spatial): statistics per sample and group, per-channel affine."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, C, *spatial); got shape {x.shape}")
    n, c = x.shape[:2]
    groups = operator.index(num_groups)
    if groups < 1 or c % groups != 0:
        raise ValueError(
            f"num_groups = {groups} does not divide the number of channels C = {c}: "
            "every group must hold the same number of consecutive channels"
        )
    # A C-order reshape to (N, G, rest) puts channels k*C/G ... (k+1)*C/G - 1,
    # with all their spatial positions, in row k: consecutive channels, and
    # one row of statistics per sample and group.
    grouped = x.reshape(n, groups, -1)
    mu = grouped.mean(axis=2, keepdims=True)
    # Two-pass variance over all values of the group at once (biased, 1/count):
    # it includes the spread between the channels' means, not only within them.
    centered = grouped - mu
    var = np.mean(centered * centered, axis=2, keepdims=True)
    x_hat = (centered / np.sqrt(var + eps)).reshape(x.shape)
    # gain and bias have one entry per channel; shape (1, C, 1, ...) lines
    # them up with axis 1 whatever the number of spatial axes.
    shape = (1, c) + (1,) * (x.ndim - 2)
    gain = np.asarray(gain, dtype=np.float64).reshape(shape)
    bias = np.asarray(bias, dtype=np.float64).reshape(shape)
    return gain * x_hat + bias
