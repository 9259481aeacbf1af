"""Diagnosis of learner code written independently of the mistakes files.

Each function below is written the way some learner would write it: loops,
other axes, other formulas, other names. None is copied from
solutions/*/mistakes/. They are run in this process through the same stand-in
for the sandbox that `normquiz check` uses for trusted code, and graded by the
real graders. The bar (issue 10): no right function fails or is diagnosed, no
bug passes, no mistake is named wrongly, and at least 98% of the catalogued
mistakes are named.
"""

from __future__ import annotations

import ast
import inspect
import re

import numpy as np
import pytest

from normquiz.checks import common_offset, format_call, inline_array, show_pair
from normquiz.content import default_catalog, load_mistakes, load_reference
from normquiz.diagnosis import (
    _run_trusted,
    _same_value,
    diagnose,
    diagnosis_lines,
    implementations,
)
from normquiz.grading import grade_code
from normquiz.selfcheck import (
    grade_trusted,
    reference_source,
    trusted_submission,
    write_submission,
)

CATALOG = default_catalog()
SEEDS = (11, 2**31 + 5)  # grader seeds: the checks' random inputs


def exercise_of(exercise_id):
    return CATALOG.find_exercise(exercise_id)


def diagnosed(exercise_id, func):
    topic, exercise = exercise_of(exercise_id)
    return diagnose(topic, exercise, trusted_submission(exercise.function, func),
                    load_reference(topic))


# ================================================================ learners' code
# ---------------------------------------------------------------- layernorm_forward


def ln_columns_loop(x, gain, bias, eps=1e-5):
    n, h = x.shape
    y = np.zeros((n, h))
    for j in range(h):
        col = x[:, j]
        m = col.mean()
        v = ((col - m) ** 2).mean()
        y[:, j] = gain[j] * (col - m) / np.sqrt(v + eps) + bias[j]
    return y


def ln_axis0_std(x, gain, bias, eps=1e-5):
    m = np.mean(x, 0)
    s = np.std(x, 0)
    return gain * (x - m) / np.sqrt(s**2 + eps) + bias


def ln_transposed_rows(x, gain, bias, eps=1e-5):
    t = x.T
    centred = t - t.mean(axis=-1, keepdims=True)
    xh = centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps)
    return gain * xh.T + bias


def ln_whole_mean(x, gain, bias, eps=1e-5):
    mu, var = np.mean(x), np.var(x)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def ln_whole_flat(x, gain, bias, eps=1e-5):
    flat = x.ravel()
    mu = flat.sum() / flat.size
    var = ((flat - mu) ** 2).sum() / flat.size
    return (gain * (flat.reshape(x.shape) - mu) / (var + eps) ** 0.5) + bias


def ln_ddof(x, gain, bias, eps=1e-5):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, ddof=1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def ln_sample_var_by_hand(x, gain, bias, eps=1e-5):
    h = x.shape[-1]
    mu = x.sum(axis=-1, keepdims=True) / h
    var = ((x - mu) ** 2).sum(axis=-1, keepdims=True) / (h - 1)
    return gain * ((x - mu) / np.sqrt(var + eps)) + bias


def ln_std_plus_eps(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + eps) + bias


def ln_std_plus_eps_rows(x, gain, bias, eps=1e-5):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        r = x[i]
        out[i] = gain * (r - r.mean()) / (np.sqrt(r.var()) + eps) + bias
    return out


def ln_over_variance(x, gain, bias, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return gain * (x - mean) / (variance + eps) + bias


def ln_over_plain_variance(x, gain, bias, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return gain * (x - mean) / x.var(axis=-1, keepdims=True) + bias


def ln_no_eps(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True)) + bias


def ln_fixed_eps(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5) + bias


def ln_std_no_eps(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True) + bias


def ln_rms(x, gain, bias, eps=1e-5):
    rms = np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + eps)
    return gain * (x / rms) + bias


def ln_forgot_subtract(x, gain, bias, eps=1e-5):
    var = np.var(x, axis=-1, keepdims=True)
    return gain * x / np.sqrt(var + eps) + bias


def ln_no_affine(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


def ln_affine_computed_not_returned(x, gain, bias, eps=1e-5):
    x_hat = (x - np.mean(x, -1, keepdims=True)) / np.sqrt(np.var(x, -1, keepdims=True) + eps)
    y = gain * x_hat + bias  # noqa: F841
    return x_hat


def ln_affine_first(x, gain, bias, eps=1e-5):
    z = x * gain + bias
    return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + eps)


def _xhat(x, eps):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)


def ln_swapped(x, gain, bias, eps=1e-5):
    return bias * _xhat(x, eps) + gain


def ln_per_case_broadcast(x, gain, bias, eps=1e-5):
    return gain[:, None] * _xhat(x, eps) + bias[:, None]


def ln_bias_then_gain(x, gain, bias, eps=1e-5):
    return (_xhat(x, eps) + bias) * gain


def ln_gain_column(x, gain, bias, eps=1e-5):
    return gain.reshape(-1, 1) * _xhat(x, eps) + bias


def ln_in_place(x, gain, bias, eps=1e-5):
    x -= x.mean(axis=-1, keepdims=True)
    x /= np.sqrt((x**2).mean(axis=-1, keepdims=True) + eps)
    return gain * x + bias


def ln_out_argument(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    s = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    np.subtract(x, mu, out=x)
    np.divide(x, s, out=x)
    return x * gain + bias


def ln_slice_assign(x, gain, bias, eps=1e-5):
    x[...] = _xhat(x, eps)
    return gain * x + bias


def ln_one_pass(x, gain, bias, eps=1e-5):
    m = np.mean(x, axis=-1, keepdims=True)
    v = np.mean(x**2, axis=-1, keepdims=True) - m**2
    return gain * (x - m) / np.sqrt(v + eps) + bias


def ln_one_pass_sums(x, gain, bias, eps=1e-5):
    h = x.shape[-1]
    m = x.sum(-1, keepdims=True) / h
    v = (x * x).sum(-1, keepdims=True) / h - m * m
    return gain * (x - m) / np.sqrt(v + eps) + bias


def ln_flatten_sample(x, gain, bias, eps=1e-5):
    flat = x.reshape(x.shape[0], -1)
    mu = flat.mean(axis=1, keepdims=True)
    var = flat.var(axis=1, keepdims=True)
    return gain * ((flat - mu) / np.sqrt(var + eps)).reshape(x.shape) + bias


def ln_axes_1_2(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def ln_all_but_batch(x, gain, bias, eps=1e-5):
    axes = tuple(range(1, x.ndim))
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


# ---------------------------------------------------------------- batchnorm_forward


def bn_axis1(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def bn_rows_loop(x, gain, bias, eps=1e-5):
    y = np.empty_like(x)
    for n in range(x.shape[0]):
        row = x[n]
        y[n] = gain * (row - row.mean()) / np.sqrt(row.var() + eps) + bias
    return y


def bn_global(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean()) / np.sqrt(x.var() + eps) + bias


def bn_global_flat(x, gain, bias, eps=1e-5):
    f = x.flatten()
    return gain * (x - np.mean(f)) / np.sqrt(np.var(f) + eps) + bias


def bn_ddof(x, gain, bias, eps=1e-5):
    return gain * (x - np.mean(x, 0)) / np.sqrt(np.var(x, 0, ddof=1) + eps) + bias


def bn_n_minus_1(x, gain, bias, eps=1e-5):
    n = x.shape[0]
    mu = x.sum(0) / n
    return gain * (x - mu) / np.sqrt(((x - mu) ** 2).sum(0) / (n - 1) + eps) + bias


def bn_std_eps(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean(0)) / (x.std(0) + eps) + bias


def bn_std_eps_columns(x, gain, bias, eps=1e-5):
    out = np.zeros(x.shape)
    for d in range(x.shape[1]):
        c = x[:, d]
        out[:, d] = gain[d] * (c - c.mean()) / (c.std() + eps) + bias[d]
    return out


def bn_over_var(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean(0)) / (x.var(0) + eps) + bias


def bn_over_var_no_eps(x, gain, bias, eps=1e-5):
    mu = np.mean(x, axis=0)
    return gain * (x - mu) / np.mean((x - mu) ** 2, axis=0) + bias


def bn_no_eps(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean(0)) / x.std(0) + bias


def bn_hard_coded_eps(x, gain, bias, eps=1e-5):
    return gain * (x - x.mean(0)) / np.sqrt(x.var(0) + 0.00001) + bias


def bn_no_affine(x, gain, bias, eps=1e-5):
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps)


def bn_affine_first(x, gain, bias, eps=1e-5):
    a = gain * x + bias
    return (a - a.mean(0)) / np.sqrt(a.var(0) + eps)


def bn_swapped(x, gain, bias, eps=1e-5):
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * bias + gain


def bn_per_case(x, gain, bias, eps=1e-5):
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    return gain[:, np.newaxis] * x_hat + bias[:, np.newaxis]


def bn_bias_inside(x, gain, bias, eps=1e-5):
    return gain * ((x - x.mean(0)) / np.sqrt(x.var(0) + eps) + bias)


def bn_in_place(x, gain, bias, eps=1e-5):
    x -= x.mean(axis=0)
    x /= np.sqrt(x.var(axis=0) + eps)
    return gain * x + bias


def bn_slice_assign(x, gain, bias, eps=1e-5):
    x[:] = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    return x * gain + bias


# ---------------------------------------------------------------- batchnorm_inference


def inf_batch_stats(x, gain, bias, running_mean, running_var, eps=1e-5):
    return gain * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + bias


def inf_batch_std(x, gain, bias, running_mean, running_var, eps=1e-5):
    s = np.std(x, axis=0)
    return gain * (x - np.mean(x, axis=0)) / np.sqrt(s * s + eps) + bias


def inf_std_eps(x, gain, bias, running_mean, running_var, eps=1e-5):
    return gain * (x - running_mean) / (np.sqrt(running_var) + eps) + bias


def inf_pow_eps(x, gain, bias, running_mean, running_var, eps=1e-5):
    return (x - running_mean) / (running_var**0.5 + eps) * gain + bias


def inf_no_affine(x, gain, bias, running_mean, running_var, eps=1e-5):
    return (x - running_mean) / np.sqrt(running_var + eps)


def inf_no_affine_scale(x, gain, bias, running_mean, running_var, eps=1e-5):
    inv = 1.0 / np.sqrt(running_var + eps)
    return (x - running_mean) * inv


def inf_in_place(x, gain, bias, running_mean, running_var, eps=1e-5):
    x -= running_mean
    x /= np.sqrt(running_var + eps)
    x *= gain
    x += bias
    return x


# ---------------------------------------------------------------- batchnorm_update_running


def run_biased(running_mean, running_var, x, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * x.mean(0),
            (1 - momentum) * running_var + momentum * x.var(0))


def run_biased_by_hand(running_mean, running_var, x, momentum=0.1):
    m = np.mean(x, axis=0)
    v = np.mean((x - m) ** 2, axis=0)
    return running_mean * (1 - momentum) + m * momentum, running_var * (1 - momentum) + v * momentum


def run_swapped(running_mean, running_var, x, momentum=0.1):
    v = np.var(x, axis=0, ddof=1)
    return (momentum * running_mean + (1 - momentum) * x.mean(axis=0),
            momentum * running_var + (1 - momentum) * v)


def run_swapped_lerp(running_mean, running_var, x, momentum=0.1):
    m, v = x.mean(0), x.var(0, ddof=1)
    return m + momentum * (running_mean - m), v + momentum * (running_var - v)


def run_in_place(running_mean, running_var, x, momentum=0.1):
    running_mean *= 1 - momentum
    running_mean += momentum * x.mean(0)
    running_var *= 1 - momentum
    running_var += momentum * x.var(0, ddof=1)
    return running_mean, running_var


def run_slice_assign(running_mean, running_var, x, momentum=0.1):
    running_mean[:] = (1 - momentum) * running_mean + momentum * np.mean(x, 0)
    running_var[:] = (1 - momentum) * running_var + momentum * np.var(x, 0, ddof=1)
    return running_mean, running_var


# ---------------------------------------------------------------- layernorm_backward


def _stats(x, eps):
    mu = x.mean(-1, keepdims=True)
    s = np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    return (x - mu) / s, s


def _lead(a):
    return a.reshape(-1, a.shape[-1]).sum(axis=0)


def bw_constant(dy, x, gain, eps=1e-5):
    xh, s = _stats(x, eps)
    return dy * gain / s, _lead(dy * xh), _lead(dy)


def bw_constant_chain(dy, x, gain, eps=1e-5):
    mu = np.mean(x, axis=-1, keepdims=True)
    inv = 1 / np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)
    dxhat = dy * gain
    dx = dxhat * inv  # the paths through mu and var are left out
    xh = (x - mu) * inv
    return dx, _lead(dy * xh), _lead(dy)


def bw_no_var_path(dy, x, gain, eps=1e-5):
    xh, s = _stats(x, eps)
    g = dy * gain
    return (g - g.mean(-1, keepdims=True)) / s, _lead(dy * xh), _lead(dy)


def bw_no_var_path_chain(dy, x, gain, eps=1e-5):
    h = x.shape[-1]
    mu = x.mean(-1, keepdims=True)
    inv = (x.var(-1, keepdims=True) + eps) ** -0.5
    dxhat = dy * gain
    dmu = -np.sum(dxhat * inv, axis=-1, keepdims=True)
    dx = dxhat * inv + dmu / h
    return dx, _lead(dy * (x - mu) * inv), _lead(dy)


def bw_no_mean_path(dy, x, gain, eps=1e-5):
    xh, s = _stats(x, eps)
    g = dy * gain
    return (g - xh * (g * xh).mean(-1, keepdims=True)) / s, _lead(dy * xh), _lead(dy)


def bw_no_mean_path_chain(dy, x, gain, eps=1e-5):
    h = x.shape[-1]
    xc = x - x.mean(-1, keepdims=True)
    var = (xc**2).mean(-1, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    dxhat = dy * gain
    dvar = np.sum(dxhat * xc, axis=-1, keepdims=True) * -0.5 * inv**3
    dx = dxhat * inv + dvar * 2 * xc / h
    return dx, _lead(dy * xc * inv), _lead(dy)


def bw_forgot_gain(dy, x, gain, eps=1e-5):
    xh, s = _stats(x, eps)
    dx = (dy - dy.mean(-1, keepdims=True) - xh * (dy * xh).mean(-1, keepdims=True)) / s
    return dx, _lead(dy * xh), _lead(dy)


def bw_forgot_gain_compact(dy, x, gain, eps=1e-5):
    h = x.shape[-1]
    xh, s = _stats(x, eps)
    dx = (h * dy - dy.sum(-1, keepdims=True) - xh * (dy * xh).sum(-1, keepdims=True)) / (h * s)
    return dx, _lead(dy * xh), _lead(dy)


def bw_batchnorm(dy, x, gain, eps=1e-5):
    n = x.shape[0]
    mu = x.mean(axis=0)
    inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xh = (x - mu) * inv
    dxh = dy * gain
    dx = inv / n * (n * dxh - dxh.sum(axis=0) - xh * (dxh * xh).sum(axis=0))
    return dx, (dy * xh).sum(axis=0), dy.sum(axis=0)


def bw_batchnorm_2d(dy, x, gain, eps=1e-5):
    n, _ = x.shape
    mu = np.sum(x, axis=0) / n
    xc = x - mu
    var = np.sum(xc**2, axis=0) / n
    inv = 1 / np.sqrt(var + eps)
    dxhat = dy * gain
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 * inv**3
    dmu = np.sum(-dxhat * inv, axis=0) + dvar * np.mean(-2 * xc, axis=0)
    dx = dxhat * inv + dvar * 2 * xc / n + dmu / n
    return dx, np.sum(dy * xc * inv, axis=0), np.sum(dy, axis=0)


def _right_dx(dy, x, gain, eps):
    xh, s = _stats(x, eps)
    g = dy * gain
    return (g - g.mean(-1, keepdims=True) - xh * (g * xh).mean(-1, keepdims=True)) / s, xh


def bw_dgain_raw(dy, x, gain, eps=1e-5):
    dx, _ = _right_dx(dy, x, gain, eps)
    return dx, _lead(dy * x), _lead(dy)


def bw_dgain_raw_axes(dy, x, gain, eps=1e-5):
    dx, _ = _right_dx(dy, x, gain, eps)
    axes = tuple(range(x.ndim - 1))
    return dx, np.sum(x * dy, axis=axes), np.sum(dy, axis=axes)


def bw_per_case(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, dy * xh, dy.copy()


def bw_sum_last(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, (dy * xh).sum(axis=-1), dy.sum(axis=-1)


def bw_sum_axis0(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, np.sum(dy * xh, axis=0), np.sum(dy, axis=0)


def bw_sum_axis1(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, np.sum(dy * xh, axis=1), np.sum(dy, axis=1)


# ---------------------------------------------------------------- layernorm_rnn_step


def _ln(a, gain, bias, eps):
    c = a - a.mean(axis=-1, keepdims=True)
    return gain * c / np.sqrt((c * c).mean(axis=-1, keepdims=True) + eps) + bias


def rnn_no_tanh(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return _ln(x_t @ W_xh.T + h_prev @ W_hh.T, gain, bias, eps)


def rnn_no_tanh_inline(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    a = np.dot(h_prev, W_hh.T) + np.dot(x_t, W_xh.T)
    mu, var = a.mean(1, keepdims=True), a.var(1, keepdims=True)
    return gain * (a - mu) / np.sqrt(var + eps) + bias


def rnn_tanh_first(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    h = np.tanh(x_t @ W_xh.T + h_prev @ W_hh.T)
    return _ln(h, gain, bias, eps)


def rnn_tanh_first_steps(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    a = np.dot(x_t, W_xh.T)
    a = a + np.dot(h_prev, W_hh.T)
    a = np.tanh(a)
    mu = a.mean(axis=1, keepdims=True)
    return gain * (a - mu) / np.sqrt(a.var(axis=1, keepdims=True) + eps) + bias


def rnn_untransposed(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return np.tanh(_ln(x_t @ W_xh + h_prev @ W_hh, gain, bias, eps))


def rnn_only_hh_untransposed(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return np.tanh(_ln(x_t @ W_xh.T + h_prev @ W_hh, gain, bias, eps))


def rnn_column_form_hh_transposed(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    a = (W_hh.T @ h_prev.T + W_xh @ x_t.T).T
    return np.tanh(_ln(a, gain, bias, eps))


def rnn_only_xh_untransposed(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return np.tanh(_ln(np.matmul(x_t, W_xh) + np.matmul(h_prev, W_hh.T), gain, bias, eps))


# ---------------------------------------------------------------- weightnorm_forward


def wn_column_norms(x, v, g, b):
    return x @ (g[:, None] * v / np.linalg.norm(v, axis=0)).T + b


def wn_column_norms_by_hand(x, v, g, b):
    n = np.sqrt((v**2).sum(axis=0, keepdims=True))
    return np.dot(x, (v / n).T) * g + b


def wn_frobenius(x, v, g, b):
    return x @ (g[:, None] * v / np.linalg.norm(v)).T + b


def wn_frobenius_by_hand(x, v, g, b):
    return (x @ v.T) / np.sqrt(np.sum(v * v)) * g + b


def wn_plain(x, v, g, b):
    return x @ (g[:, None] * v).T + b


def wn_plain_scaled(x, v, g, b):
    return (x @ v.T) * g + b


def wn_square_norm(x, v, g, b):
    return x @ (g[:, None] * v / np.sum(v**2, axis=1, keepdims=True)).T + b


def wn_norm_squared(x, v, g, b):
    return (x @ v.T) * g / np.linalg.norm(v, axis=1) ** 2 + b


def wn_no_gain(x, v, g, b):
    return x @ (v / np.linalg.norm(v, axis=1, keepdims=True)).T + b


def wn_no_gain_after(x, v, g, b):
    return (x @ v.T) / np.linalg.norm(v, axis=1) + b


def wn_bias_first(x, v, g, b):
    return g * (x @ v.T + b) / np.linalg.norm(v, axis=1)


def wn_bias_first_steps(x, v, g, b):
    a = x @ v.T + b
    a = a / np.sqrt((v**2).sum(1))
    return a * g


def wn_centred(x, v, g, b):
    c = v - v.mean(axis=1, keepdims=True)
    return x @ (g[:, None] * c / np.linalg.norm(c, axis=1, keepdims=True)).T + b


def wn_standardized(x, v, g, b):
    c = (v - v.mean(1, keepdims=True)) / v.std(1, keepdims=True)
    return (x @ c.T) * g + b


# ---------------------------------------------------------------- groupnorm_forward


def _gn_affine(y, gain, bias):
    shape = (1, -1) + (1,) * (y.ndim - 2)
    return y * gain.reshape(shape) + bias.reshape(shape)


def gn_interleaved(x, num_groups, gain, bias, eps=1e-5):
    n, c = x.shape[:2]
    r = x.reshape(n, c // num_groups, num_groups, -1)
    mu = r.mean(axis=(1, 3), keepdims=True)
    var = r.var(axis=(1, 3), keepdims=True)
    return _gn_affine(((r - mu) / np.sqrt(var + eps)).reshape(x.shape), gain, bias)


def gn_interleaved_modulo(x, num_groups, gain, bias, eps=1e-5):
    out = np.empty(x.shape)
    for k in range(num_groups):
        idx = np.arange(k, x.shape[1], num_groups)
        part = x[:, idx]
        axes = tuple(range(1, x.ndim))
        mu, var = part.mean(axis=axes, keepdims=True), part.var(axis=axes, keepdims=True)
        out[:, idx] = (part - mu) / np.sqrt(var + eps)
    return _gn_affine(out, gain, bias)


def gn_channel_variances(x, num_groups, gain, bias, eps=1e-5):
    n, c = x.shape[:2]
    r = x.reshape(n, num_groups, c // num_groups, -1)
    mu = r.mean(axis=(2, 3), keepdims=True)
    var = r.var(axis=3, keepdims=True).mean(axis=2, keepdims=True)
    return _gn_affine(((r - mu) / np.sqrt(var + eps)).reshape(x.shape), gain, bias)


def gn_channel_variances_loop(x, num_groups, gain, bias, eps=1e-5):
    n, c = x.shape[:2]
    size = c // num_groups
    flat = x.reshape(n, c, -1)
    out = np.empty(flat.shape)
    for i in range(n):
        for k in range(num_groups):
            block = flat[i, k * size:(k + 1) * size]
            var = np.mean([ch.var() for ch in block])
            out[i, k * size:(k + 1) * size] = (block - block.mean()) / np.sqrt(var + eps)
    return _gn_affine(out.reshape(x.shape), gain, bias)


def gn_per_channel(x, num_groups, gain, bias, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return _gn_affine((x - mu) / np.sqrt(var + eps), gain, bias)


def gn_per_channel_flat(x, num_groups, gain, bias, eps=1e-5):
    n, c = x.shape[:2]
    f = x.reshape(n, c, -1)
    y = (f - f.mean(-1, keepdims=True)) / np.sqrt(f.var(-1, keepdims=True) + eps)
    return _gn_affine(y.reshape(x.shape), gain, bias)


def gn_pooled(x, num_groups, gain, bias, eps=1e-5):
    n = x.shape[0]
    r = x.reshape(n, num_groups, -1)
    mu, var = r.mean(axis=(0, 2), keepdims=True), r.var(axis=(0, 2), keepdims=True)
    return _gn_affine(((r - mu) / np.sqrt(var + eps)).reshape(x.shape), gain, bias)


def gn_pooled_loop(x, num_groups, gain, bias, eps=1e-5):
    size = x.shape[1] // num_groups
    out = np.empty(x.shape)
    for k in range(num_groups):
        block = x[:, k * size:(k + 1) * size]
        out[:, k * size:(k + 1) * size] = (block - block.mean()) / np.sqrt(block.var() + eps)
    return _gn_affine(out, gain, bias)


def _gn_hat(x, g, eps):
    r = x.reshape(x.shape[0], g, -1)
    return ((r - r.mean(-1, keepdims=True)) / np.sqrt(r.var(-1, keepdims=True) + eps))


def gn_gain_first_entries(x, num_groups, gain, bias, eps=1e-5):
    y = gain[:num_groups, None] * _gn_hat(x, num_groups, eps) + bias[:num_groups, None]
    return y.reshape(x.shape)


def gn_gain_group_start(x, num_groups, gain, bias, eps=1e-5):
    step = x.shape[1] // num_groups
    y = _gn_hat(x, num_groups, eps) * gain[::step][:, None] + bias[::step][:, None]
    return y.reshape(x.shape)


def gn_ddof(x, num_groups, gain, bias, eps=1e-5):
    r = x.reshape(x.shape[0], num_groups, -1)
    var = r.var(axis=-1, ddof=1, keepdims=True)
    y = (r - r.mean(-1, keepdims=True)) / np.sqrt(var + eps)
    return _gn_affine(y.reshape(x.shape), gain, bias)


def gn_count_minus_one(x, num_groups, gain, bias, eps=1e-5):
    r = x.reshape(x.shape[0], num_groups, -1)
    m = r.shape[-1]
    mu = r.sum(-1, keepdims=True) / m
    var = ((r - mu) ** 2).sum(-1, keepdims=True) / (m - 1)
    return _gn_affine(((r - mu) / np.sqrt(var + eps)).reshape(x.shape), gain, bias)


def gn_std_eps(x, num_groups, gain, bias, eps=1e-5):
    r = x.reshape(x.shape[0], num_groups, -1)
    y = (r - r.mean(-1, keepdims=True)) / (r.std(-1, keepdims=True) + eps)
    return _gn_affine(y.reshape(x.shape), gain, bias)


def gn_std_eps_loop(x, num_groups, gain, bias, eps=1e-5):
    out = np.empty(x.shape)
    size = x.shape[1] // num_groups
    for i in range(x.shape[0]):
        for k in range(num_groups):
            blk = x[i, k * size:(k + 1) * size]
            out[i, k * size:(k + 1) * size] = (blk - blk.mean()) / (np.sqrt(blk.var()) + eps)
    return _gn_affine(out, gain, bias)


# The catalogued mistakes, each written several ways: (exercise, mistake) -> functions.
CATALOGUED = {
    ("layernorm_forward", "wrong-axis"): [ln_columns_loop, ln_axis0_std, ln_transposed_rows],
    ("layernorm_forward", "whole-tensor"): [ln_whole_mean, ln_whole_flat],
    ("layernorm_forward", "unbiased-variance"): [ln_ddof, ln_sample_var_by_hand],
    ("layernorm_forward", "eps-outside-sqrt"): [ln_std_plus_eps, ln_std_plus_eps_rows],
    ("layernorm_forward", "divides-by-variance"): [ln_over_variance, ln_over_plain_variance],
    ("layernorm_forward", "eps-ignored"): [ln_no_eps, ln_fixed_eps, ln_std_no_eps],
    ("layernorm_forward", "no-centering"): [ln_rms, ln_forgot_subtract],
    ("layernorm_forward", "missing-gain-bias"): [ln_no_affine, ln_affine_computed_not_returned,
                                                 ln_affine_first],
    ("layernorm_forward", "gain-bias-misapplied"): [ln_swapped, ln_per_case_broadcast,
                                                    ln_bias_then_gain, ln_gain_column],
    ("layernorm_forward", "mutates-input"): [ln_in_place, ln_out_argument, ln_slice_assign],
    ("layernorm_forward", "unstable-variance"): [ln_one_pass, ln_one_pass_sums],
    ("layernorm_forward", "per-sequence-statistics"): [ln_flatten_sample, ln_axes_1_2,
                                                       ln_all_but_batch],
    ("batchnorm_forward", "wrong-axis"): [bn_axis1, bn_rows_loop],
    ("batchnorm_forward", "whole-tensor"): [bn_global, bn_global_flat],
    ("batchnorm_forward", "unbiased-variance"): [bn_ddof, bn_n_minus_1],
    ("batchnorm_forward", "eps-outside-sqrt"): [bn_std_eps, bn_std_eps_columns],
    ("batchnorm_forward", "divides-by-variance"): [bn_over_var, bn_over_var_no_eps],
    ("batchnorm_forward", "eps-ignored"): [bn_no_eps, bn_hard_coded_eps],
    ("batchnorm_forward", "missing-gain-bias"): [bn_no_affine, bn_affine_first],
    ("batchnorm_forward", "gain-bias-misapplied"): [bn_swapped, bn_per_case, bn_bias_inside],
    ("batchnorm_forward", "mutates-input"): [bn_in_place, bn_slice_assign],
    ("batchnorm_inference", "uses-batch-stats"): [inf_batch_stats, inf_batch_std],
    ("batchnorm_inference", "eps-outside-sqrt"): [inf_std_eps, inf_pow_eps],
    ("batchnorm_inference", "missing-gain-bias"): [inf_no_affine, inf_no_affine_scale],
    ("batchnorm_inference", "mutates-input"): [inf_in_place],
    ("batchnorm_update_running", "biased-running-var"): [run_biased, run_biased_by_hand],
    ("batchnorm_update_running", "momentum-swapped"): [run_swapped, run_swapped_lerp],
    ("batchnorm_update_running", "mutates-input"): [run_in_place, run_slice_assign],
    ("layernorm_backward", "constant-statistics"): [bw_constant, bw_constant_chain],
    ("layernorm_backward", "missing-variance-path"): [bw_no_var_path, bw_no_var_path_chain],
    ("layernorm_backward", "missing-mean-path"): [bw_no_mean_path, bw_no_mean_path_chain],
    ("layernorm_backward", "gain-not-in-dx"): [bw_forgot_gain, bw_forgot_gain_compact],
    ("layernorm_backward", "batch-axis-means"): [bw_batchnorm, bw_batchnorm_2d],
    ("layernorm_backward", "dgain-uses-x"): [bw_dgain_raw, bw_dgain_raw_axes],
    ("layernorm_backward", "param-grads-wrong-axis"): [bw_per_case, bw_sum_last, bw_sum_axis0,
                                                       bw_sum_axis1],
    ("layernorm_rnn_step", "no-activation"): [rnn_no_tanh, rnn_no_tanh_inline],
    ("layernorm_rnn_step", "activation-before-norm"): [rnn_tanh_first, rnn_tanh_first_steps],
    ("layernorm_rnn_step", "transposed-weights"): [rnn_untransposed, rnn_only_hh_untransposed,
                                                   rnn_column_form_hh_transposed,
                                                   rnn_only_xh_untransposed],
    ("weightnorm_forward", "norm-wrong-axis"): [wn_column_norms, wn_column_norms_by_hand],
    ("weightnorm_forward", "frobenius-norm"): [wn_frobenius, wn_frobenius_by_hand],
    ("weightnorm_forward", "no-normalization"): [wn_plain, wn_plain_scaled],
    ("weightnorm_forward", "squared-norm"): [wn_square_norm, wn_norm_squared],
    ("weightnorm_forward", "missing-gain"): [wn_no_gain, wn_no_gain_after],
    ("weightnorm_forward", "bias-inside"): [wn_bias_first, wn_bias_first_steps],
    ("weightnorm_forward", "centers-weights"): [wn_centred, wn_standardized],
    ("groupnorm_forward", "interleaved-groups"): [gn_interleaved, gn_interleaved_modulo],
    ("groupnorm_forward", "mean-of-channel-variances"): [gn_channel_variances,
                                                         gn_channel_variances_loop],
    ("groupnorm_forward", "instance-norm"): [gn_per_channel, gn_per_channel_flat],
    ("groupnorm_forward", "batch-pooled"): [gn_pooled, gn_pooled_loop],
    ("groupnorm_forward", "gain-per-group"): [gn_gain_first_entries, gn_gain_group_start],
    ("groupnorm_forward", "unbiased-variance"): [gn_ddof, gn_count_minus_one],
    ("groupnorm_forward", "eps-outside-sqrt"): [gn_std_eps, gn_std_eps_loop],
}
CATALOGUED_CASES = [(e, m, f) for (e, m), fs in CATALOGUED.items() for f in fs]

# The issue's kinds of miss: each must be named, however it is written.
ISSUE_MISSES = [
    ("layernorm_forward", "gain-bias-misapplied", ln_swapped),
    ("batchnorm_forward", "gain-bias-misapplied", bn_swapped),
    ("layernorm_forward", "gain-bias-misapplied", ln_per_case_broadcast),
    ("batchnorm_forward", "gain-bias-misapplied", bn_per_case),
    ("layernorm_forward", "wrong-axis", ln_columns_loop),
    ("batchnorm_forward", "wrong-axis", bn_rows_loop),
    ("layernorm_rnn_step", "transposed-weights", rnn_only_hh_untransposed),
    ("layernorm_rnn_step", "transposed-weights", rnn_only_xh_untransposed),
    ("layernorm_rnn_step", "transposed-weights", rnn_column_form_hh_transposed),
    ("layernorm_backward", "param-grads-wrong-axis", bw_per_case),
    ("layernorm_backward", "param-grads-wrong-axis", bw_sum_axis0),
]


# ================================================================ bugs the catalogue does not name


def ln_no_return(x, gain, bias, eps=1e-5):
    y = gain * _xhat(x, eps) + bias  # noqa: F841


def bw_no_return(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    grads = (dx, _lead(dy * xh), _lead(dy))  # noqa: F841


def inf_updates_without_return(x, gain, bias, running_mean, running_var, eps=1e-5):
    x = (x - running_mean) / np.sqrt(running_var + eps) * gain + bias


def ln_with_cache(x, gain, bias, eps=1e-5):
    x_hat = _xhat(x, eps)
    return gain * x_hat + bias, (x_hat, gain, eps)


def bn_with_stats(x, gain, bias, eps=1e-5):
    mu, var = x.mean(0), x.var(0)
    return gain * (x - mu) / np.sqrt(var + eps) + bias, mu, var


def wn_with_weights(x, v, g, b):
    W = g[:, None] * v / np.linalg.norm(v, axis=1, keepdims=True)
    return x @ W.T + b, W


def bw_two_outputs(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, _lead(dy * xh)


def bw_dx_only(dy, x, gain, eps=1e-5):
    return _right_dx(dy, x, gain, eps)[0]


def wn_column_layout(x, v, g, b):
    W = g[:, None] * v / np.linalg.norm(v, axis=1, keepdims=True)
    return W @ x.T + b[:, None]


def rnn_transposed_state(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    a = (W_hh @ h_prev.T + W_xh @ x_t.T).T
    return np.tanh(_ln(a, gain, bias, eps)).T


def run_keepdims(running_mean, running_var, x, momentum=0.1):
    m = x.mean(axis=0, keepdims=True)
    v = x.var(axis=0, ddof=1, keepdims=True)
    return (1 - momentum) * running_mean + momentum * m, (1 - momentum) * running_var + momentum * v


def bw_keepdims(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, (dy * xh).sum(axis=0, keepdims=True), dy.sum(axis=0, keepdims=True)


def ln_two_axes_only(x, gain, bias, eps=1e-5):
    n, h = x.shape
    y = np.empty((n, h))
    for i in range(n):
        y[i] = gain * (x[i] - x[i].mean()) / np.sqrt(x[i].var() + eps) + bias
    return y


def ln_axis_one(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    return gain * (x - mu) / np.sqrt(x.var(axis=1, keepdims=True) + eps) + bias


def gn_three_axes_only(x, num_groups, gain, bias, eps=1e-5):
    n, c, length = x.shape
    r = x.reshape(n, num_groups, (c // num_groups) * length)
    y = (r - r.mean(2, keepdims=True)) / np.sqrt(r.var(2, keepdims=True) + eps)
    return y.reshape(n, c, length) * gain[None, :, None] + bias[None, :, None]


def ln_small_default_eps(x, gain, bias, eps=1e-8):
    return gain * _xhat(x, eps) + bias


def bn_large_default_eps(x, gain, bias, eps=1e-3):
    return gain * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + bias


def run_keras_default(running_mean, running_var, x, momentum=0.9):
    return ((1 - momentum) * running_mean + momentum * x.mean(0),
            (1 - momentum) * running_var + momentum * x.var(0, ddof=1))


def ln_no_bias(x, gain, bias, eps=1e-5):
    return gain * _xhat(x, eps)


def rnn_no_recurrence(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return np.tanh(_ln(x_t @ W_xh.T, gain, bias, eps))


def wn_no_bias(x, v, g, b):
    return x @ (g[:, None] * v / np.linalg.norm(v, axis=1, keepdims=True)).T


def bw_fixed_eps(dy, x, gain, eps=1e-5):
    return bw_right(dy, x, gain, 1e-5)


def rnn_std_no_eps(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    a = x_t @ W_xh.T + h_prev @ W_hh.T
    return np.tanh(gain * (a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True) + bias)


def gn_std_no_eps(x, num_groups, gain, bias, eps=1e-5):
    r = x.reshape(x.shape[0], num_groups, -1)
    y = (r - r.mean(-1, keepdims=True)) / r.std(-1, keepdims=True)
    return _gn_affine(y.reshape(x.shape), gain, bias)


def wn_forgot_square(x, v, g, b):
    return (x @ v.T) * g / np.sqrt(np.sum(v, axis=1)) + b


def bw_scales_dy_in_place(dy, x, gain, eps=1e-5):
    xh, s = _stats(x, eps)
    dbias = _lead(dy)
    dgain = _lead(dy * xh)
    dy *= gain
    dx = (dy - dy.mean(-1, keepdims=True) - xh * (dy * xh).mean(-1, keepdims=True)) / s
    return dx, dgain, dbias


def wn_normalizes_v_in_place(x, v, g, b):
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return x @ (g[:, None] * v).T + b


def gn_centres_in_place(x, num_groups, gain, bias, eps=1e-5):
    r = x.reshape(x.shape[0], num_groups, -1)  # a view of x
    r -= r.mean(-1, keepdims=True)
    y = r / np.sqrt((r**2).mean(-1, keepdims=True) + eps)
    return _gn_affine(y.reshape(x.shape), gain, bias)


def ln_no_eps_parameter(x, gain, bias):
    return gain * _xhat(x, 1e-5) + bias


def inf_no_eps_parameter(x, gain, bias, running_mean, running_var):
    return gain * (x - running_mean) / np.sqrt(running_var + 1e-5) + bias


def rnn_relu(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return np.maximum(0, _ln(x_t @ W_xh.T + h_prev @ W_hh.T, gain, bias, eps))


def rnn_sigmoid(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    return 1 / (1 + np.exp(-_ln(x_t @ W_xh.T + h_prev @ W_hh.T, gain, bias, eps)))


# Bugs outside the catalogue: cause id -> (exercise, function), two or more each.
UNCATALOGUED = {
    "returned-none": [("layernorm_forward", ln_no_return), ("layernorm_backward", bw_no_return),
                      ("batchnorm_inference", inf_updates_without_return)],
    "returned-tuple": [("layernorm_forward", ln_with_cache), ("batchnorm_forward", bn_with_stats),
                       ("weightnorm_forward", wn_with_weights)],
    "wrong-number-of-outputs": [("layernorm_backward", bw_two_outputs),
                                ("layernorm_backward", bw_dx_only)],
    "transposed-output": [("weightnorm_forward", wn_column_layout),
                          ("layernorm_rnn_step", rnn_transposed_state)],
    "wrong-shape": [("batchnorm_update_running", run_keepdims),
                    ("layernorm_backward", bw_keepdims)],
    "fails-with-more-axes": [("layernorm_forward", ln_two_axes_only),
                             ("layernorm_forward", ln_axis_one),
                             ("groupnorm_forward", gn_three_axes_only)],
    "default-differs": [("layernorm_forward", ln_small_default_eps),
                        ("batchnorm_forward", bn_large_default_eps),
                        ("batchnorm_update_running", run_keras_default)],
    "ignores-argument": [("layernorm_forward", ln_no_bias),
                         ("layernorm_rnn_step", rnn_no_recurrence),
                         ("weightnorm_forward", wn_no_bias), ("layernorm_backward", bw_fixed_eps)],
    "non-finite": [("layernorm_rnn_step", rnn_std_no_eps), ("groupnorm_forward", gn_std_no_eps),
                   ("weightnorm_forward", wn_forgot_square)],
    "modified-input": [("layernorm_backward", bw_scales_dy_in_place),
                       ("weightnorm_forward", wn_normalizes_v_in_place),
                       ("groupnorm_forward", gn_centres_in_place)],
    "signature": [("layernorm_forward", ln_no_eps_parameter),
                  ("batchnorm_inference", inf_no_eps_parameter)],
    "other-activation": [("layernorm_rnn_step", rnn_relu), ("layernorm_rnn_step", rnn_sigmoid)],
}
UNCATALOGUED_CASES = [(c, e, f) for c, cases in UNCATALOGUED.items() for e, f in cases]


# ================================================================ right, written otherwise


def ln_right_apply(x, gain, bias, eps=1e-5):
    def one(row):
        c = row - row.mean()
        return c / np.sqrt(c @ c / len(row) + eps)
    return gain * np.apply_along_axis(one, -1, x) + bias


def ln_right_einsum(x, gain, bias, eps=1e-5):
    h = x.shape[-1]
    c = x - np.einsum("...h->...", x)[..., None] / h
    var = np.einsum("...h,...h->...", c, c)[..., None] / h
    return np.multiply(gain, c / np.sqrt(var + eps)) + bias


def bn_right_loop(x, gain, bias, eps=1e-5):
    y = np.zeros_like(x, dtype=float)
    for j in range(x.shape[1]):
        m = x[:, j].mean()
        y[:, j] = gain[j] * (x[:, j] - m) / np.sqrt(((x[:, j] - m) ** 2).mean() + eps) + bias[j]
    return y


def inf_right(x, gain, bias, running_mean, running_var, eps=1e-5):
    return (x - running_mean) * (gain / np.sqrt(running_var + eps)) + bias


def run_right(running_mean, running_var, x, momentum=0.1):
    n = len(x)
    m = x.mean(axis=0)
    v = ((x - m) ** 2).sum(axis=0) / (n - 1)
    return running_mean * (1 - momentum) + m * momentum, running_var * (1 - momentum) + v * momentum


def bw_right(dy, x, gain, eps=1e-5):
    dx, xh = _right_dx(dy, x, gain, eps)
    return dx, _lead(dy * xh), _lead(dy)


def rnn_right(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5):
    a = np.hstack([x_t, h_prev]) @ np.hstack([W_xh, W_hh]).T
    return np.tanh(_ln(a, gain, bias, eps))


def wn_right(x, v, g, b):
    scale = g / np.sqrt(np.einsum("hd,hd->h", v, v))
    return (x @ v.T) * scale + b


def gn_right(x, num_groups, gain, bias, eps=1e-5):
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError("num_groups must divide C")
    r = x.reshape(n, num_groups, -1)
    c_r = r - r.mean(axis=-1, keepdims=True)
    y = (c_r / np.sqrt((c_r**2).mean(axis=-1, keepdims=True) + eps)).reshape(x.shape)
    return _gn_affine(y, gain, bias)


RIGHT = [("layernorm_forward", ln_right_apply), ("layernorm_forward", ln_right_einsum),
         ("batchnorm_forward", bn_right_loop), ("batchnorm_inference", inf_right),
         ("batchnorm_update_running", run_right), ("layernorm_backward", bw_right),
         ("layernorm_rnn_step", rnn_right), ("weightnorm_forward", wn_right),
         ("groupnorm_forward", gn_right)]


def ids(cases):
    return [f"{c[0]}:{c[1]}:{c[2].__name__}" if len(c) == 3 else f"{c[0]}:{c[1].__name__}"
            for c in cases]


# ================================================================ the bar


@pytest.mark.parametrize("exercise_id, func", RIGHT, ids=ids(RIGHT))
def test_right_functions_pass_and_are_diagnosed_as_nothing(exercise_id, func):
    topic, exercise = exercise_of(exercise_id)
    for seed, result in grade_trusted(topic, exercise, func, SEEDS):
        assert result.status == "passed", (seed, result.feedback)
    d = diagnosed(exercise_id, func)
    assert d.mistakes == [] and d.causes == [], (d.mistakes, d.causes)


@pytest.mark.parametrize("exercise_id, mistake_id, func", CATALOGUED_CASES,
                         ids=ids(CATALOGUED_CASES))
def test_a_catalogued_mistake_fails_and_is_never_named_wrongly(exercise_id, mistake_id, func):
    topic, exercise = exercise_of(exercise_id)
    for seed, result in grade_trusted(topic, exercise, func, SEEDS[:1]):
        assert result.status in ("failed", "error"), seed
        assert set(result.mistakes) <= {mistake_id}, result.mistakes


def test_at_least_98_percent_of_catalogued_mistakes_are_named():
    named = [(e, m, f.__name__) for e, m, f in CATALOGUED_CASES
             if diagnosed(e, f).mistakes == [m]]
    missed = sorted({(e, m, f.__name__) for e, m, f in CATALOGUED_CASES} - set(named))
    assert len(named) / len(CATALOGUED_CASES) >= 0.98, missed


@pytest.mark.parametrize("exercise_id, mistake_id, func", ISSUE_MISSES, ids=ids(ISSUE_MISSES))
def test_the_issues_kinds_of_miss_are_named(exercise_id, mistake_id, func):
    assert diagnosed(exercise_id, func).mistakes == [mistake_id]


@pytest.mark.parametrize("cause, exercise_id, func", UNCATALOGUED_CASES,
                         ids=ids(UNCATALOGUED_CASES))
def test_an_uncatalogued_bug_fails_and_gets_its_named_cause(cause, exercise_id, func):
    topic, exercise = exercise_of(exercise_id)
    for seed, result in grade_trusted(topic, exercise, func, SEEDS[:1]):
        assert result.status in ("failed", "error"), seed
    d = diagnosed(exercise_id, func)
    assert d.mistakes == [], d.mistakes
    assert cause in [c.id for c in d.causes], [c.id for c in d.causes]


def test_every_named_cause_has_two_variants():
    assert all(len(cases) >= 2 for cases in UNCATALOGUED.values())


# ================================================================ what the learner reads


def test_the_variant_and_the_level_are_told():
    _, exercise = exercise_of("layernorm_forward")
    swapped = diagnosed("layernorm_forward", ln_swapped)
    text = "\n".join(diagnosis_lines(exercise, swapped))
    assert "Diagnosis: Gain and bias applied the wrong way [gain-bias-misapplied]" in text
    assert "b ⊙ x̂ + g: the gain and the bias swapped" in text
    loop = diagnosed("layernorm_forward", ln_columns_loop)
    text = " ".join(" ".join(diagnosis_lines(exercise, loop)).split())
    assert "[wrong-axis]" in text
    assert "runs on: it raised an error on the input with x of shape (2, 2, 3)" in text


def test_a_cause_names_its_detail():
    _, exercise = exercise_of("layernorm_backward")
    d = diagnosed("layernorm_backward", bw_scales_dy_in_place)
    text = " ".join(" ".join(diagnosis_lines(exercise, d)).split())
    assert "Diagnosis: `dy` modified in place" in text
    assert diagnosed("layernorm_forward", ln_small_default_eps).causes[0].text.count(
        "as if eps = 1e-08") == 1
    ignored = diagnosed("weightnorm_forward", wn_no_bias).causes
    assert [c.title for c in ignored] == ["The output ignores `b`"]
    assert "b ⊙" not in ignored[0].text


def test_a_default_bug_is_shown_on_the_input_that_omits_it():
    example = diagnosed("layernorm_forward", ln_small_default_eps).example
    assert example.startswith("layernorm_forward(x=") and "eps=" not in example.splitlines()[0]


def test_the_wrong_axis_example_is_a_readable_small_input():
    example = diagnosed("layernorm_forward", ln_axis0_std).example
    assert example.splitlines()[0] == ("layernorm_forward(x=[[2, 8, 20], [-12, 4, 14]], "
                                       "gain=[2, 0.5, 1.5], bias=[1, -3, 0.5], eps=0.25)")


def test_a_large_offset_is_shown_as_offset_plus_small_part():
    assert inline_array(1e9 + np.array([[-8.0, 12.0], [26.0, 2.0]])) == "1e9 + [[-8, 12], [26, 2]]"
    example = diagnosed("layernorm_forward", ln_one_pass).example
    assert "x=1e9 + [[-8, 12], [26, 2], [-6, 10]]" in example
    assert "e+09" not in example


def _parse_inline(text: str) -> np.ndarray:
    """An array as `show_inline` prints it: a nested list, or offset + nested list."""
    offset, _, rest = text.rpartition(" + ")
    value = np.array(ast.literal_eval(rest.replace("nan", "None")), dtype=float)
    return float(offset) + value if offset else value


PROBE_CASES = [(t, e, n) for t in CATALOG.topics() for e in t.code_exercises if e.mistakes
               for n in range(len(load_mistakes(t, e.id).PROBES))]


@pytest.mark.parametrize("topic, exercise, n", PROBE_CASES,
                         ids=[f"{e.id}:{n}" for _, e, n in PROBE_CASES])
def test_a_probe_as_shown_reads_back_exactly(topic, exercise, n):
    args, kwargs = load_mistakes(topic, exercise.id).PROBES[n]
    reference = getattr(load_reference(topic), exercise.function)
    call = format_call(exercise.function, args, kwargs, reference, limit=24, exact=True)
    names = list(inspect.signature(reference).parameters)
    shown = dict(re.findall(r"(\w+)=(.*?)(?=, \w+=|\)$)", call))
    values = dict(zip(names, args)) | kwargs
    assert set(shown) == set(values)
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            back = _parse_inline(shown[name])
            assert back.shape == value.shape and np.array_equal(back, value), (name, shown[name])
            if common_offset(value) is None:
                assert "e+" not in shown[name] and "e-" not in shown[name], shown[name]
        else:
            assert float(shown[name]) == value


def _outputs_cases():
    cases = []
    for t, e, n in PROBE_CASES:
        module = load_mistakes(t, e.id)
        for m in e.mistakes:
            cases += [(t, e, n, f) for f in implementations(module, m.id)]
    return cases


def test_returned_and_expected_never_print_alike_when_they_differ():
    seen = 0
    for topic, exercise, n, func in _outputs_cases():
        args, kwargs = load_mistakes(topic, exercise.id).PROBES[n]
        ref = _run_trusted(getattr(load_reference(topic), exercise.function), list(args),
                           dict(kwargs))
        got = _run_trusted(func, list(args), dict(kwargs))
        if got.raised or ref.raised or _same_value(got.value, ref.value):
            continue
        seen += 1
        text_got, text_expected = show_pair(got.value, ref.value, 11)
        assert text_got != text_expected, (exercise.id, func.__name__, n, text_got)
    assert seen > 100


def test_show_pair_adds_digits_only_where_four_hide_a_difference():
    got, expected = show_pair(np.array([1.00001, 2.0]), np.array([1.0, 2.0]))
    assert got != expected and "1.00001" in got
    assert show_pair(np.array([0.5, 2.0]), np.array([1.0, 2.0])) == ("[0.5, 2. ]", "[1., 2.]")


# ================================================================ through the sandbox


def ln_typo_inside(x, gain, bias, eps=1e-5):
    mu = np.mean(x, axis=-1, keepdim=True)  # a TypeError inside, not a signature problem
    return gain * (x - mu) + bias


def test_a_type_error_inside_the_function_is_not_a_signature_problem():
    d = diagnosed("layernorm_forward", ln_typo_inside)
    assert d.mistakes == [] and d.causes == []


LEARNER = """

def layernorm_forward(x, gain, bias, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return bias * x_hat + gain


def layernorm_backward(dy, x, gain, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    s = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mu) / s
    lead = tuple(range(x.ndim - 1))
    dgain, dbias = np.sum(dy * x_hat, axis=lead), np.sum(dy, axis=lead)
    dy *= gain
    dx = (dy - dy.mean(-1, keepdims=True) - x_hat * (dy * x_hat).mean(-1, keepdims=True)) / s
    return dx, dgain, dbias


def layernorm_rnn_step(x_t, h_prev, W_xh, W_hh, gain, bias):
    a = x_t @ W_xh.T + h_prev @ W_hh.T
    return np.tanh((a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True) * gain + bias)
"""


def test_grading_through_the_sandbox_names_mistakes_and_causes(tmp_path):
    topic = CATALOG.topic("layernorm")
    module = write_submission(tmp_path, topic, reference_source(topic) + LEARNER)
    results = {r.id: r for r in grade_code(topic, module, topic.code_exercises, grader_seed=3)}

    forward = results["layernorm_forward"]
    assert forward.status == "failed" and forward.mistakes == ["gain-bias-misapplied"]
    assert "Your output matches b ⊙ x̂ + g: the gain and the bias swapped." in forward.feedback
    assert ("On a small input:\n  layernorm_forward(x=[[2, 8, 20], [-12, 4, 14]], "
            "gain=[2, 0.5, 1.5], bias=[1, -3, 0.5], eps=0.25)") in forward.feedback

    backward = results["layernorm_backward"]
    assert backward.status == "failed" and backward.mistakes == []
    assert "Diagnosis: `dy` modified in place" in backward.feedback
    assert backward.causes == ["modified-input"] and forward.causes == []
    assert backward.to_json()["causes"] == ["modified-input"]  # in --json too

    step = results["layernorm_rnn_step"]
    assert step.status == "failed" and step.mistakes == []  # eps passed by name fails
    assert "Diagnosis: A signature other than the contract's" in step.feedback
    assert "`layernorm_rnn_step(x_t, h_prev, W_xh, W_hh, gain, bias, eps=1e-5)`" in " ".join(
        step.feedback.split())


@pytest.mark.parametrize(("exercise_id", "func", "mistake"), [
    ("layernorm_forward", ln_axis0_std, "wrong-axis"),
    ("batchnorm_forward", bn_axis1, "wrong-axis"),
    ("groupnorm_forward", gn_interleaved, "interleaved-groups"),
])
def test_a_grouping_mistake_is_drawn_beside_the_right_grouping(exercise_id, func, mistake):
    topic, exercise = exercise_of(exercise_id)
    d = diagnosed(exercise_id, func)
    assert d.mistakes == [mistake]
    text = "\n".join(diagnosis_lines(exercise, d))
    assert "What your function grouped" in text and "What it should group" in text
    assert "\x1b[" not in text  # plain letters: feedback goes into JSON and reports too


def test_a_mistake_that_is_no_grouping_has_no_picture():
    topic, exercise = exercise_of("layernorm_forward")
    d = diagnosed("layernorm_forward", ln_one_pass)
    assert "What your function grouped" not in "\n".join(diagnosis_lines(exercise, d))
