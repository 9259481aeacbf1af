"""Recognized mistakes in batchnorm_forward, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results.
"""

import numpy as np


def wrong_axis(x, gain, bias, eps=1e-5):
    # Layer norm's statistics: across each row, one mean per training case.
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def whole_tensor(x, gain, bias, eps=1e-5):
    # One mean and one variance for the whole batch.
    return gain * (x - x.mean()) / np.sqrt(x.var() + eps) + bias


def unbiased_variance(x, gain, bias, eps=1e-5):
    # ddof=1 divides by N - 1.
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=1)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def eps_outside_sqrt(x, gain, bias, eps=1e-5):
    # eps added to the standard deviation instead of the variance.
    mu = x.mean(axis=0)
    std = x.std(axis=0)
    return gain * (x - mu) / (std + eps) + bias


def divides_by_variance(x, gain, bias, eps=1e-5):
    # The square root is missing: "gain * (input - mean) / variance".
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gain * (x - mu) / (var + eps) + bias


def eps_ignored(x, gain, bias, eps=1e-5):
    # The eps argument is never used: the default is hard-coded instead.
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gain * (x - mu) / np.sqrt(var + 1e-5) + bias


def missing_gain_bias(x, gain, bias, eps=1e-5):
    # Normalizes correctly but never applies the gain and bias.
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return (x - mu) / np.sqrt(var + eps)


def gain_bias_misapplied(x, gain, bias, eps=1e-5):
    # The bias is added before the gain scales: g * (x_hat + b).
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gain * ((x - mu) / np.sqrt(var + eps) + bias)


def mutates_input(x, gain, bias, eps=1e-5):
    # Right output, but the in-place operations overwrite the caller's x.
    x -= x.mean(axis=0)
    var = np.mean(x * x, axis=0)
    x /= np.sqrt(var + eps)
    return gain * x + bias


# No feature is constant and every variance is large (>= 56), so the variance,
# the std and their eps-shifted forms never coincide, eps = 0.25 still moves
# the result visibly, and code that drops eps altogether matches eps_ignored
# to within 1e-6.
PROBES = [
    # Non-square (N=3 cases, D=2 features), gain and bias different per
    # feature, a large eps.
    (
        (
            np.array([[2.0, -10.0], [8.0, 4.0], [20.0, 12.0]]),
            np.array([2.0, 0.5]),
            np.array([1.0, -3.0]),
        ),
        {"eps": 0.25},
    ),
    # Square (N = D = 3) with the default eps: wrong broadcasting stays silent
    # here, so the values alone must tell the mistakes apart.
    (
        (
            np.array([[0.0, 14.0, -6.0], [16.0, 2.0, 6.0], [-8.0, 26.0, 18.0]]),
            np.array([1.5, -1.0, 0.5]),
            np.array([0.0, 2.0, -1.0]),
        ),
        {},
    ),
]
