"""Batch normalization (the paper's Eq. 2) in numpy: training mode and inference.

Fill in the three functions below, replacing each `...` marked `# TODO`, then
grade your work from this folder:

    normquiz grade                            # all exercises of the topic
    normquiz grade batchnorm_forward          # one exercise
    normquiz hint batchnorm_forward           # the next hint, one at a time

Rows are training cases and columns are features (hidden units): x has shape
(N, D). Arrays are float64. Your functions must not modify their inputs, and
each output has the shape of the input it normalizes.
"""

import numpy as np


def batchnorm_forward(x, gain, bias, eps=1e-5):
    """Batch-normalize a mini-batch in training mode.

    Every feature (every column of x) gets its own mean and variance, taken
    down its column: over the N training cases of the mini-batch, axis 0.
    The variance divides by N, as Eq. 2's expectation does:

        mu    = (1/N) * sum_n x[n]               one value per feature, shape (D,)
        var   = (1/N) * sum_n (x[n] - mu)**2     shape (D,)
        x_hat = (x - mu) / sqrt(var + eps)
        y     = gain * x_hat + bias

    Args:
        x: summed inputs of a mini-batch, shape (N, D): N training cases
            (rows), D features (columns).
        gain: per-feature gain g, shape (D,).
        bias: per-feature bias b, shape (D,).
        eps: small constant added to the variance, inside the square root.

    Returns:
        y: the normalized, scaled and shifted batch, shape (N, D). x itself is
        left unchanged.
    """
    mu = ...  # TODO: the mean of each feature over the batch (axis 0), shape (D,)
    var = ...  # TODO: the variance of each feature over the batch, dividing by N (not N - 1)
    x_hat = ...  # TODO: subtract mu, then divide by the square root of (var + eps); no in-place ops
    y = ...  # TODO: scale x_hat by the gain, then add the bias
    raise NotImplementedError("batchnorm_forward")  # TODO: return y instead


def batchnorm_update_running(running_mean, running_var, x, momentum=0.1):
    """Update the running statistics that batch norm uses at inference.

    During training, every mini-batch moves the running estimates a step of
    size `momentum` towards its own statistics (PyTorch's convention):

        new_mean = (1 - momentum) * running_mean + momentum * batch_mean
        new_var  = (1 - momentum) * running_var  + momentum * batch_var

    batch_mean is each feature's mean over the N cases. batch_var is each
    feature's UNBIASED variance, dividing by N - 1, as PyTorch stores it (the
    training-mode forward pass itself normalizes with the 1/N variance).

    Args:
        running_mean: the current running means, shape (D,).
        running_var: the current running variances, shape (D,).
        x: a training mini-batch, shape (N, D), with N >= 2 (the unbiased
            variance needs at least two cases).
        momentum: the weight of the new batch, between 0 and 1.

    Returns:
        (new_mean, new_var): two new arrays of shape (D,). running_mean,
        running_var and x are left unchanged.
    """
    batch_mean = ...  # TODO: each feature's mean over the batch, shape (D,)
    batch_var = ...  # TODO: each feature's variance over the batch, dividing by N - 1
    new_mean = ...  # TODO: move running_mean a step of size momentum towards batch_mean
    new_var = ...  # TODO: likewise for running_var and batch_var; build new arrays, no in-place ops
    raise NotImplementedError("batchnorm_update_running")  # TODO: return new_mean, new_var


def batchnorm_inference(x, gain, bias, running_mean, running_var, eps=1e-5):
    """Batch norm at inference: normalize with the running statistics.

    The statistics no longer come from the batch: every feature uses the
    running mean and variance collected during training, so each feature is
    a fixed affine map of its input and every case is normalized on its own:

        y = gain * (x - running_mean) / sqrt(running_var + eps) + bias

    Args:
        x: inputs, shape (N, D); any N, including 1.
        gain: per-feature gain, shape (D,).
        bias: per-feature bias, shape (D,).
        running_mean: running mean of each feature, shape (D,).
        running_var: running variance of each feature, shape (D,).
        eps: added to the running variance, inside the square root.

    Returns:
        y: shape (N, D). No input is modified.
    """
    x_hat = ...  # TODO: normalize x with running_mean and running_var, not the batch's own
    y = ...  # TODO: scale by the gain, then add the bias
    raise NotImplementedError("batchnorm_inference")  # TODO: return y instead
