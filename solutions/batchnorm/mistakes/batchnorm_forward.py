"""Recognized mistakes in batchnorm_forward, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results. VARIANTS holds
other ways learners write the same mistakes (each docstring tells the learner
what their output matches), and CORRECT other right ways to write the function.
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


# ---------------------------------------------------------------- other ways to write them


def _divides_by_variance_no_eps(x, gain, bias, eps=1e-5):
    """Your output matches (x − μ) / σ²: divided by the variance itself."""
    return gain * (x - x.mean(axis=0)) / x.var(axis=0) + bias


def _affine_before_normalizing(x, gain, bias, eps=1e-5):
    """Your output matches the normalization of g·x + b: the gain and bias come before
    the normalization, which then removes their effect."""
    a = gain * x + bias
    return (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + eps)


def _gain_bias_swapped(x, gain, bias, eps=1e-5):
    """Your output matches b·x̂ + g: the gain and the bias swapped."""
    return bias * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + gain


def _gain_bias_per_case(x, gain, bias, eps=1e-5):
    """Your output matches gain[:, None] * x̂ + bias[:, None]: one gain and one bias
    per case (row), broadcast along the batch axis, instead of one per feature."""
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gain[:, None] * x_hat + bias[:, None]


def _gain_per_case(x, gain, bias, eps=1e-5):
    """Your output matches gain[:, None] * x̂ + b: the gain broadcast along the batch
    axis, one per case (row) instead of one per feature."""
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gain[:, None] * x_hat + bias


def _bias_per_case(x, gain, bias, eps=1e-5):
    """Your output matches g·x̂ + bias[:, None]: the bias broadcast along the batch
    axis, one per case (row) instead of one per feature."""
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gain * x_hat + bias[:, None]


def _bias_inside_division(x, gain, bias, eps=1e-5):
    """Your output matches (g·(x − μ) + b) / √(σ² + ε): the bias is added inside the
    scaling and divided by σ with the rest."""
    return (gain * (x - x.mean(axis=0)) + bias) / np.sqrt(x.var(axis=0) + eps)


def _bias_before_centering(x, gain, bias, eps=1e-5):
    """Your output matches g·(x + b − μ) / √(σ² + ε): the bias is added to the centred
    values before the division."""
    return gain * (x - x.mean(axis=0) + bias) / np.sqrt(x.var(axis=0) + eps)


VARIANTS = {
    "divides-by-variance": [_divides_by_variance_no_eps],
    "missing-gain-bias": [_affine_before_normalizing],
    "gain-bias-misapplied": [_gain_bias_swapped, _gain_bias_per_case, _gain_per_case,
                             _bias_per_case, _bias_inside_division, _bias_before_centering],
}


def _eps_fixed(value, expected, args, kwargs):
    """Your output is the right one for a fixed ε of your own, whatever `eps` you are
    passed."""
    if "eps" not in kwargs and len(args) < 4:
        return False  # called with the default: another default is not this mistake
    x, gain, bias = args[:3]
    mu, var = x.mean(axis=0), x.var(axis=0)
    return any(np.allclose(value, gain * (x - mu) / np.sqrt(var + c) + bias, rtol=1e-6,
                           atol=1e-9)
               for c in (0.0, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2))


PROPERTIES = {"eps-ignored": [_eps_fixed]}


# ---------------------------------------------------------------- right, written otherwise


def _right_column_by_column(x, gain, bias, eps=1e-5):
    """One feature at a time."""
    out = np.empty(x.shape)
    for d in range(x.shape[1]):
        column = x[:, d]
        centred = column - column.sum() / len(column)
        out[:, d] = gain[d] * centred / np.sqrt(np.mean(centred**2) + eps) + bias[d]
    return out


def _right_from_std(x, gain, bias, eps=1e-5):
    """With numpy's std, squared back under the square root with eps."""
    std = np.std(x, axis=0)
    return gain * (x - np.mean(x, axis=0)) / np.sqrt(std**2 + eps) + bias


CORRECT = [_right_column_by_column, _right_from_std]


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
