"""Recognized mistakes in layernorm_forward, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results.
"""

import numpy as np


def wrong_axis(x, gain, bias, eps=1e-5):
    # Batch norm's statistics: down the batch axis, one mean per unit.
    mu = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def whole_tensor(x, gain, bias, eps=1e-5):
    # One mean and one variance for the whole array.
    return gain * (x - x.mean()) / np.sqrt(x.var() + eps) + bias


def unbiased_variance(x, gain, bias, eps=1e-5):
    # ddof=1 divides by H - 1.
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, ddof=1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def eps_outside_sqrt(x, gain, bias, eps=1e-5):
    # eps added to the standard deviation instead of the variance.
    mu = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return gain * (x - mu) / (std + eps) + bias


def divides_by_variance(x, gain, bias, eps=1e-5):
    # The square root is missing.
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gain * (x - mu) / (var + eps) + bias


def eps_ignored(x, gain, bias, eps=1e-5):
    # The eps argument is never used: the default is hard-coded instead.
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + 1e-5) + bias


def no_centering(x, gain, bias, eps=1e-5):
    # RMSNorm: divides by the root mean square without subtracting the mean.
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return gain * x / np.sqrt(ms + eps) + bias


def missing_gain_bias(x, gain, bias, eps=1e-5):
    # Normalizes correctly but never applies the gain and bias.
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def gain_bias_misapplied(x, gain, bias, eps=1e-5):
    # The bias is added before the gain scales: g * (x_hat + b).
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gain * ((x - mu) / np.sqrt(var + eps) + bias)


def mutates_input(x, gain, bias, eps=1e-5):
    # Right output, but the in-place operations overwrite the caller's x.
    mu = x.mean(axis=-1, keepdims=True)
    x -= mu
    var = np.mean(x * x, axis=-1, keepdims=True)
    x /= np.sqrt(var + eps)
    return gain * x + bias


def unstable_variance(x, gain, bias, eps=1e-5):
    # One-pass variance E[x^2] - E[x]^2: cancels catastrophically on a large offset.
    mu = x.mean(axis=-1, keepdims=True)
    var = np.mean(x**2, axis=-1, keepdims=True) - mu**2
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def per_sequence_statistics(x, gain, bias, eps=1e-5):
    # Everything but the batch axis counts as "the sample": right for (N, H),
    # but an (N, T, H) sequence gets one mean and variance over all of T and H.
    axes = tuple(range(1, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


# Every row's variance is far from 1, so the variance, the std and their
# eps-shifted forms never coincide; eps = 0.25 still moves the result visibly.
# The variances are also large (>= 56), so code that drops eps altogether
# matches eps_ignored to within 1e-6.
PROBES = [
    # Non-square (N=2, H=3), gain and bias different per unit, a large eps.
    (
        (
            np.array([[2.0, 8.0, 20.0], [-12.0, 4.0, 14.0]]),
            np.array([2.0, 0.5, 1.5]),
            np.array([1.0, -3.0, 0.5]),
        ),
        {"eps": 0.25},
    ),
    # A sequence batch (N=2, T=2, H=3): statistics per case and time step.
    (
        (
            np.array(
                [[[0.0, 6.0, 18.0], [4.0, -8.0, 10.0]], [[14.0, 2.0, -4.0], [20.0, 40.0, 0.0]]]
            ),
            np.array([1.5, -1.0, 0.5]),
            np.array([0.0, 2.0, -1.0]),
        ),
        {"eps": 0.25},
    ),
    # Values on an offset of 1e9: E[x^2] - E[x]^2 rounds to exactly 0 in every
    # row, while the true variances are 100, 144 and 64.
    (
        (
            1e9 + np.array([[-8.0, 12.0], [26.0, 2.0], [-6.0, 10.0]]),
            np.array([2.0, 3.0]),
            np.array([-1.0, 1.0]),
        ),
        {"eps": 0.25},
    ),
]
