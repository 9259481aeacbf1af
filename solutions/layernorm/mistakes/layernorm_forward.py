"""Recognized mistakes in layernorm_forward, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results. VARIANTS holds
other ways learners write the same mistakes (each docstring tells the learner
what their output matches), and CORRECT other right ways to write the function.
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


# ---------------------------------------------------------------- other ways to write them


def _wrong_axis_leading(x, gain, bias, eps=1e-5):
    """Your output matches statistics over every axis but the last: batch norm's
    statistics for a batch of sequences, one mean per unit over the cases and steps."""
    axes = tuple(range(x.ndim - 1))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def _wrong_axis_second_last(x, gain, bias, eps=1e-5):
    """Your output matches statistics over axis -2: down the columns of a batch, and
    over the time steps of a sequence."""
    mu = x.mean(axis=-2, keepdims=True)
    var = x.var(axis=-2, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def _no_centering_std(x, gain, bias, eps=1e-5):
    """Your output matches x / √(σ² + ε): the variance is taken around the mean, but
    the mean is never subtracted from x itself."""
    var = x.var(axis=-1, keepdims=True)
    return gain * x / np.sqrt(var + eps) + bias


def _divides_by_variance_no_eps(x, gain, bias, eps=1e-5):
    """Your output matches (x − μ) / σ²: divided by the variance itself."""
    mu = x.mean(axis=-1, keepdims=True)
    return gain * (x - mu) / x.var(axis=-1, keepdims=True) + bias


def _affine_before_normalizing(x, gain, bias, eps=1e-5):
    """Your output matches the normalization of g ⊙ x + b: the gain and bias come
    before the normalization, which then removes most of their effect."""
    a = gain * x + bias
    mu = a.mean(axis=-1, keepdims=True)
    return (a - mu) / np.sqrt(a.var(axis=-1, keepdims=True) + eps)


def _gain_bias_swapped(x, gain, bias, eps=1e-5):
    """Your output matches b ⊙ x̂ + g: the gain and the bias swapped."""
    mu = x.mean(axis=-1, keepdims=True)
    return bias * (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) + gain


def _gain_bias_per_case(x, gain, bias, eps=1e-5):
    """Your output matches gain[:, None] * x̂ + bias[:, None]: one gain and one bias
    per case (row), broadcast along the batch axis, instead of one per unit."""
    mu = x.mean(axis=-1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return gain[:, None] * x_hat + bias[:, None]


def _gain_per_case(x, gain, bias, eps=1e-5):
    """Your output matches gain[:, None] * x̂ + b: the gain broadcast along the batch
    axis, one per case (row) instead of one per unit."""
    mu = x.mean(axis=-1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return gain[:, None] * x_hat + bias


def _bias_per_case(x, gain, bias, eps=1e-5):
    """Your output matches g ⊙ x̂ + bias[:, None]: the bias broadcast along the batch
    axis, one per case (row) instead of one per unit."""
    mu = x.mean(axis=-1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return gain * x_hat + bias[:, None]


def _bias_inside_division(x, gain, bias, eps=1e-5):
    """Your output matches (g ⊙ (x − μ) + b) / √(σ² + ε): the bias is added inside the
    scaling and divided by σ with the rest."""
    mu = x.mean(axis=-1, keepdims=True)
    return (gain * (x - mu) + bias) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


def _bias_before_normalizing(x, gain, bias, eps=1e-5):
    """Your output matches g ⊙ LN(x + b): the bias is added to x before the
    normalization, which then removes most of it."""
    a = x + bias
    mu = a.mean(axis=-1, keepdims=True)
    return gain * (a - mu) / np.sqrt(a.var(axis=-1, keepdims=True) + eps)


def _bias_before_centering(x, gain, bias, eps=1e-5):
    """Your output matches g ⊙ (x + b − μ) / √(σ² + ε): the bias is added to the
    centred values before the division."""
    mu = x.mean(axis=-1, keepdims=True)
    return gain * (x - mu + bias) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


VARIANTS = {
    "wrong-axis": [_wrong_axis_leading, _wrong_axis_second_last],
    "no-centering": [_no_centering_std],
    "divides-by-variance": [_divides_by_variance_no_eps],
    "missing-gain-bias": [_affine_before_normalizing],
    "gain-bias-misapplied": [_gain_bias_swapped, _gain_bias_per_case, _gain_per_case,
                             _bias_per_case, _bias_inside_division, _bias_before_centering,
                             _bias_before_normalizing],
}


def _layernorm(x, gain, bias, eps):
    mu = x.mean(axis=-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) + bias


def _eps_fixed(value, expected, args, kwargs):
    """Your output is the right one for a fixed ε of your own, whatever `eps` you are
    passed."""
    if "eps" not in kwargs and len(args) < 4:
        return False  # called with the default: another default is not this mistake
    x, gain, bias = args[:3]
    return any(np.allclose(value, _layernorm(x, gain, bias, c), rtol=1e-6, atol=1e-9)
               for c in (0.0, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2))


def _variance_lost_to_cancellation(value, expected, args, kwargs):
    """Your output is the right formula with a variance that is off by the rounding
    error of mean(x²) − mean(x)²: the one-pass variance."""
    x, gain, bias = args[:3]
    eps = kwargs.get("eps", args[3] if len(args) > 3 else 1e-5)
    y = np.asarray(value, dtype=float)
    if y.shape != x.shape:
        return False
    h = x.shape[-1]
    centred = (x - x.mean(axis=-1, keepdims=True)).reshape(-1, h)
    scaled = ((y - bias) / gain).reshape(-1, h)  # (x - mu) / sqrt(v + eps), v the learner's
    var = np.mean(centred**2, axis=1)
    slack = 8 * h * np.finfo(float).eps * np.mean(x.reshape(-1, h) ** 2, axis=1)
    for c, z, v, room in zip(centred, scaled, var, slack):
        if np.all(np.isnan(z)):  # sqrt of a negative variance
            if v + eps - room > 0:
                return False
            continue
        used = np.abs(c) > 1e-12 * np.max(np.abs(c))
        if np.isnan(z).any() or not np.all(np.abs(z[used]) > 0):
            return False
        s = c[used] / z[used]  # sqrt(v + eps), the same for every unit of a case
        if not np.allclose(s, s[0], rtol=1e-6) or s[0] <= 0 or abs(s[0] ** 2 - eps - v) > room:
            return False
    return True


PROPERTIES = {"eps-ignored": [_eps_fixed],
              "unstable-variance": [_variance_lost_to_cancellation]}


# ---------------------------------------------------------------- right, written otherwise


def _right_row_by_row(x, gain, bias, eps=1e-5):
    """One case at a time, for any number of leading axes."""
    rows = np.asarray(x, dtype=float).reshape(-1, x.shape[-1])
    out = np.empty_like(rows)
    for n, row in enumerate(rows):
        centred = row - row.sum() / row.size
        out[n] = gain * centred / np.sqrt(np.dot(centred, centred) / row.size + eps) + bias
    return out.reshape(x.shape)


def _right_from_std(x, gain, bias, eps=1e-5):
    """With numpy's std, squared back under the square root with eps."""
    std = np.std(x, axis=-1, keepdims=True)
    return gain * (x - np.mean(x, axis=-1, keepdims=True)) * (std**2 + eps) ** -0.5 + bias


CORRECT = [_right_row_by_row, _right_from_std]


# Every row's variance is far from 1, so the variance, the std and their
# eps-shifted forms never coincide; eps = 0.25 still moves the result visibly.
# The variances are also large (>= 46), so code that drops eps altogether
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
    # Square (N = H = 3): gain and bias broadcast along the batch axis
    # (gain[:, None]) run here, and only here.
    (
        (
            np.array([[-1.0, 0.0, 15.0], [10.0, -6.0, 6.0], [-5.0, 12.0, -2.0]]),
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
