"""Recognized mistakes in layernorm_backward, each written as a learner would.

Every function has the contract's signature and returns (dx, dgain, dbias).
PROBES holds small inputs on which the reference and all of these give
pairwise different results. VARIANTS holds other ways learners write the same
mistakes (each docstring tells the learner what their output matches),
PROPERTIES tests for mistakes whose outputs cannot match exactly, and CORRECT
other right ways to write the function.
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


# ---------------------------------------------------------------- other ways to write them


def _batch_axis_means_leading(dy, x, gain, eps=1e-5):
    """Your output matches a batch-norm backward pass over every axis but the last:
    statistics and means over the cases (and time steps)."""
    axes = tuple(range(x.ndim - 1))
    mu = x.mean(axis=axes, keepdims=True)
    s = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - mu) / s
    dx_hat = dy * gain
    dx = (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
          - x_hat * np.mean(dx_hat * x_hat, axis=axes, keepdims=True)) / s
    return dx, np.sum(dy * x_hat, axis=axes), np.sum(dy, axis=axes)


VARIANTS = {"batch-axis-means": [_batch_axis_means_leading]}


def _param_grads_not_summed_over_cases(value, expected, args, kwargs):
    """Your dgain and dbias keep an axis for the cases (or time steps): they are not
    summed over every leading axis, so their shape is not (H,)."""
    dx, dgain, dbias = value
    right_dx, right_dgain, right_dbias = expected
    if not np.allclose(dx, right_dx, rtol=1e-6, atol=1e-9):
        return False
    per_unit = param_grads_wrong_axis(*args, **kwargs)
    shown = False
    for got, right, summed_over_units in ((dgain, right_dgain, per_unit[1]),
                                          (dbias, right_dbias, per_unit[2])):
        got = np.asarray(got, dtype=float)
        if got.shape == right.shape:
            if not np.allclose(got, right, rtol=1e-6, atol=1e-9):
                return False
            continue
        shown = True
        if got.shape == summed_over_units.shape and np.allclose(got, summed_over_units,
                                                                rtol=1e-6, atol=1e-9):
            continue
        # (..., H) with more than H entries: a kept (1, H) from keepdims=True is not this
        if got.ndim < 2 or got.shape[-1] != right.shape[-1] or got.size == right.size:
            return False
        total = got.reshape(-1, got.shape[-1]).sum(axis=0)
        if not np.allclose(total, right, rtol=1e-6, atol=1e-9):
            return False
    return shown


PROPERTIES = {"param-grads-wrong-axis": [_param_grads_not_summed_over_cases]}


# ---------------------------------------------------------------- right, written otherwise


def _right_chain_rule(dy, x, gain, eps=1e-5):
    """Step by step back through the forward pass: x_hat, the variance, then the mean."""
    h = x.shape[-1]
    mu = np.mean(x, axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc**2, axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv
    dx_hat = dy * gain
    dvar = np.sum(dx_hat * xc, axis=-1, keepdims=True) * -0.5 * inv**3
    dmu = -np.sum(dx_hat * inv, axis=-1, keepdims=True) - 2.0 * dvar * np.mean(
        xc, axis=-1, keepdims=True)
    dx = dx_hat * inv + dvar * 2.0 * xc / h + dmu / h
    flat_dy, flat_hat = dy.reshape(-1, h), x_hat.reshape(-1, h)
    return dx, np.sum(flat_dy * flat_hat, axis=0), np.sum(flat_dy, axis=0)


def _right_compact(dy, x, gain, eps=1e-5):
    """The compact form: (H dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)) / (H s)."""
    h = x.shape[-1]
    s = np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)
    x_hat = (x - np.mean(x, axis=-1, keepdims=True)) / s
    g = dy * gain
    dx = (h * g - g.sum(axis=-1, keepdims=True)
          - x_hat * (g * x_hat).sum(axis=-1, keepdims=True)) / (h * s)
    lead = tuple(range(x.ndim - 1))
    return dx, (dy * x_hat).sum(axis=lead), dy.sum(axis=lead)


CORRECT = [_right_chain_rule, _right_compact]


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
