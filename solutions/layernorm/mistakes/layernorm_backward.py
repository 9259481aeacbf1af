"""Recognized mistakes in layernorm_backward, each written as a learner would.

Every function has the contract's signature and returns (dx, dgain, dbias).
PROBES holds small inputs on which the reference and all of these give
pairwise different results.
"""

import numpy as np


def _forward_parts(x, eps):
    mu = x.mean(axis=-1, keepdims=True)
    s = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return (x - mu) / s, s


def _param_grads(dy, x_hat):
    leading = tuple(range(dy.ndim - 1))
    return np.sum(dy * x_hat, axis=leading), np.sum(dy, axis=leading)


def constant_statistics(dy, x, gain, eps=1e-5):
    # Treats mu and s as constants: only the direct path through x - mu.
    x_hat, s = _forward_parts(x, eps)
    dx = dy * gain / s
    return (dx, *_param_grads(dy, x_hat))


def missing_variance_path(dy, x, gain, eps=1e-5):
    # Backpropagates through mu but not through the variance.
    x_hat, s = _forward_parts(x, eps)
    dx_hat = dy * gain
    dx = (dx_hat - dx_hat.mean(axis=-1, keepdims=True)) / s
    return (dx, *_param_grads(dy, x_hat))


def missing_mean_path(dy, x, gain, eps=1e-5):
    # Backpropagates through the variance but not through mu.
    x_hat, s = _forward_parts(x, eps)
    dx_hat = dy * gain
    dx = (dx_hat - x_hat * np.mean(dx_hat * x_hat, axis=-1, keepdims=True)) / s
    return (dx, *_param_grads(dy, x_hat))


def gain_not_in_dx(dy, x, gain, eps=1e-5):
    # Uses dy where the gradient with respect to x_hat (dy * gain) belongs.
    x_hat, s = _forward_parts(x, eps)
    dx = (
        dy - dy.mean(axis=-1, keepdims=True) - x_hat * np.mean(dy * x_hat, axis=-1, keepdims=True)
    ) / s
    return (dx, *_param_grads(dy, x_hat))


def batch_axis_means(dy, x, gain, eps=1e-5):
    # A batch-norm backward pass: statistics and means over axis 0 (the batch).
    mu = x.mean(axis=0, keepdims=True)
    s = np.sqrt(x.var(axis=0, keepdims=True) + eps)
    x_hat = (x - mu) / s
    dx_hat = dy * gain
    dx = (
        dx_hat
        - dx_hat.mean(axis=0, keepdims=True)
        - x_hat * np.mean(dx_hat * x_hat, axis=0, keepdims=True)
    ) / s
    return dx, np.sum(dy * x_hat, axis=0), np.sum(dy, axis=0)


def dgain_uses_x(dy, x, gain, eps=1e-5):
    # dx is right, but dgain multiplies dy by the raw input instead of x_hat.
    x_hat, s = _forward_parts(x, eps)
    dx_hat = dy * gain
    dx = (
        dx_hat
        - dx_hat.mean(axis=-1, keepdims=True)
        - x_hat * np.mean(dx_hat * x_hat, axis=-1, keepdims=True)
    ) / s
    leading = tuple(range(dy.ndim - 1))
    return dx, np.sum(dy * x, axis=leading), np.sum(dy, axis=leading)


def param_grads_wrong_axis(dy, x, gain, eps=1e-5):
    # dx is right, but dgain and dbias are summed over the units (last axis),
    # so they get one entry per case instead of one per unit.
    x_hat, s = _forward_parts(x, eps)
    dx_hat = dy * gain
    dx = (
        dx_hat
        - dx_hat.mean(axis=-1, keepdims=True)
        - x_hat * np.mean(dx_hat * x_hat, axis=-1, keepdims=True)
    ) / s
    return dx, np.sum(dy * x_hat, axis=-1), np.sum(dy, axis=-1)


# H >= 3 throughout: with H = 2 and eps = 0 the output is always +-1 and its
# gradient is identically 0. N != H, so per-case sums have the wrong shape.
PROBES = [
    # The errata's batch case: gain differs per unit, a large eps.
    (
        (
            np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]]),
            np.array([[-1.0, 0.0, 1.0], [0.0, 1.0, 5.0]]),
            np.array([1.0, 2.0, 3.0]),
        ),
        {"eps": 0.1},
    ),
    # A sequence batch (N=2, T=2, H=3).
    (
        (
            np.array([[[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]], [[-1.0, 0.0, 2.0], [2.0, 1.0, -1.0]]]),
            np.array([[[0.0, 3.0, 9.0], [2.0, -4.0, 5.0]], [[7.0, 1.0, -2.0], [10.0, 20.0, 0.0]]]),
            np.array([1.5, -1.0, 0.5]),
        ),
        {"eps": 0.25},
    ),
]
