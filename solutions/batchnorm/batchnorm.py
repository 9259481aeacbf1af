"""Reference solutions for the batchnorm topic.

Batch normalization (the paper's Eq. 2): every feature (hidden unit) gets its
own mean and standard deviation, estimated over the training cases of the
mini-batch. At inference, running averages collected during training stand
in for the batch statistics (PyTorch's convention: momentum 0.1, unbiased
variance in the running estimate).
"""

import numpy as np


def _centered_and_sum_sq(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu, x - mu, sum of squared deviations), all down axis 0 (the batch)."""
    mu = x.mean(axis=0)
    # Subtracting first makes a new array (x stays untouched) and keeps the
    # variance accurate on a large offset, where E[x^2] - E[x]^2 cancels.
    centered = x - mu
    return mu, centered, np.sum(centered * centered, axis=0)


def batchnorm_forward(
    x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Training-mode batch norm of x (N, D): gain * (x - mu) / sqrt(var + eps) + bias."""
    x = np.asarray(x, dtype=np.float64)
    _, centered, sum_sq = _centered_and_sum_sq(x)
    var = sum_sq / x.shape[0]  # biased (1/N), as in Eq. 2 and PyTorch's forward pass
    # eps inside the square root: a constant feature (and every feature when
    # N = 1) has var = 0, and then x_hat = 0 / sqrt(eps) = 0 and y = bias.
    x_hat = centered / np.sqrt(var + eps)
    # gain and bias have shape (D,): one per feature, broadcast over the cases.
    return np.asarray(gain, dtype=np.float64) * x_hat + np.asarray(bias, dtype=np.float64)


def batchnorm_update_running(
    running_mean: np.ndarray, running_var: np.ndarray, x: np.ndarray, momentum: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """New running (mean, var): (1 - momentum) * old + momentum * batch statistic."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        # The unbiased variance divides by N - 1 = 0. PyTorch refuses such a
        # batch in training mode ("Expected more than 1 value per channel").
        raise ValueError(f"the running variance needs at least 2 training cases, got N = {n}")
    batch_mean, _, sum_sq = _centered_and_sum_sq(x)
    # PyTorch normalizes with the 1/N variance but stores the unbiased one
    # (1/(N - 1)) in its running estimate of the population variance.
    batch_var = sum_sq / (n - 1)
    # Fresh arrays: the caller's running statistics are not updated in place.
    new_mean = (1.0 - momentum) * np.asarray(running_mean, dtype=np.float64) + momentum * batch_mean
    new_var = (1.0 - momentum) * np.asarray(running_var, dtype=np.float64) + momentum * batch_var
    return new_mean, new_var


def batchnorm_inference(
    x: np.ndarray,
    gain: np.ndarray,
    bias: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> np.ndarray:
    """Inference-mode batch norm: the running statistics replace the batch's."""
    x = np.asarray(x, dtype=np.float64)
    # Nothing here depends on the other cases in x: every feature is the fixed
    # affine map gain / s * (x - running_mean) + bias, with s = sqrt(var + eps).
    s = np.sqrt(np.asarray(running_var, dtype=np.float64) + eps)
    x_hat = (x - np.asarray(running_mean, dtype=np.float64)) / s
    return np.asarray(gain, dtype=np.float64) * x_hat + np.asarray(bias, dtype=np.float64)
