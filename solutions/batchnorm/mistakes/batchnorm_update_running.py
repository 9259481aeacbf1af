"""Recognized mistakes in batchnorm_update_running, each written as a learner would.

Every function has the contract's signature and returns (new_mean, new_var).
PROBES holds small inputs on which the reference and all of these give
pairwise different results. CORRECT holds other right ways to write the
function.
"""

import numpy as np


def biased_running_var(running_mean, running_var, x, momentum=0.1):
    # The running variance averages the 1/N batch variance, the one used to
    # normalize, instead of the unbiased 1/(N - 1) one.
    new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
    new_var = (1 - momentum) * running_var + momentum * x.var(axis=0)
    return new_mean, new_var


def momentum_swapped(running_mean, running_var, x, momentum=0.1):
    # Keras' convention: momentum is the weight of the OLD value.
    new_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
    new_var = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)
    return new_mean, new_var


def mutates_input(running_mean, running_var, x, momentum=0.1):
    # Right values, but updated in place like a framework's buffers: the
    # caller's running_mean and running_var are overwritten.
    running_mean *= 1 - momentum
    running_mean += momentum * x.mean(axis=0)
    running_var *= 1 - momentum
    running_var += momentum * x.var(axis=0, ddof=1)
    return running_mean, running_var


def _right_step_towards(running_mean, running_var, x, momentum=0.1):
    """Each estimate moves a fraction `momentum` of the way to the batch's statistic."""
    n = x.shape[0]
    batch_var = np.sum((x - x.mean(axis=0)) ** 2, axis=0) / (n - 1)
    return (running_mean + momentum * (x.mean(axis=0) - running_mean),
            running_var + momentum * (batch_var - running_var))


CORRECT = [_right_step_towards]


PROBES = [
    # N = 3 cases, D = 2 features; the default momentum 0.1. With N = 3 the
    # unbiased variance is 1.5 times the biased one.
    (
        (
            np.array([0.5, -1.0]),
            np.array([2.0, 0.5]),
            np.array([[1.0, 4.0], [3.0, -2.0], [8.0, 10.0]]),
        ),
        {},
    ),
    # Another momentum, passed by name.
    (
        (
            np.array([1.0, 0.0, -2.0]),
            np.array([1.0, 3.0, 0.25]),
            np.array([[0.0, 6.0, -1.0], [4.0, 0.0, 5.0]]),
        ),
        {"momentum": 0.3},
    ),
]
