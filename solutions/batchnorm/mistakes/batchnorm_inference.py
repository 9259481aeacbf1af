"""Recognized mistakes in batchnorm_inference, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results. VARIANTS holds
other ways learners write the same mistakes (each docstring tells the learner
what their output matches), and CORRECT other right ways to write the function.
"""

import numpy as np


def uses_batch_stats(x, gain, bias, running_mean, running_var, eps=1e-5):
    # Training-mode statistics at inference: the running ones are ignored.
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def eps_outside_sqrt(x, gain, bias, running_mean, running_var, eps=1e-5):
    # eps added to the running standard deviation instead of the variance.
    return gain * (x - running_mean) / (np.sqrt(running_var) + eps) + bias


def missing_gain_bias(x, gain, bias, running_mean, running_var, eps=1e-5):
    # Normalizes with the running statistics but never applies gain and bias.
    return (x - running_mean) / np.sqrt(running_var + eps)


def mutates_input(x, gain, bias, running_mean, running_var, eps=1e-5):
    # Right output, but the in-place operations overwrite the caller's x.
    x -= running_mean
    x /= np.sqrt(running_var + eps)
    return gain * x + bias


def _right_folded(x, gain, bias, running_mean, running_var, eps=1e-5):
    """The scale and shift folded into one multiply-add, as deployed layers do."""
    scale = gain / np.sqrt(running_var + eps)
    return x * scale + (bias - running_mean * scale)


CORRECT = [_right_folded]


PROBES = [
    # N = 3 cases, D = 2 features; the running statistics are far from the
    # batch's own, the gain and bias differ per feature, and eps is large.
    (
        (
            np.array([[2.0, -1.0], [6.0, 3.0], [7.0, 1.0]]),
            np.array([2.0, 0.5]),
            np.array([1.0, -3.0]),
            np.array([4.0, 0.5]),
            np.array([9.0, 2.25]),
        ),
        {"eps": 0.25},
    ),
]
