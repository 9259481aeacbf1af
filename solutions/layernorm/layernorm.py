"""Reference solutions for the layernorm topic.

Layer normalization (Ba, Kiros & Hinton, 2016): every training case gets its
own mean and standard deviation, taken over the H summed inputs of a layer
(Eq. 3), and the layer-normalized RNN recomputes them at every time step
(Eq. 4).
"""

import numpy as np


def _normalize(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (x_hat, s) for statistics over the last axis, s = sqrt(var + eps)."""
    mu = x.mean(axis=-1, keepdims=True)
    # Subtracting first makes a new array (x stays untouched) and keeps the
    # variance accurate: the one-pass E[x^2] - E[x]^2 cancels catastrophically
    # when the values sit on a large offset such as 1e8.
    centered = x - mu
    var = np.mean(centered * centered, axis=-1, keepdims=True)  # biased: 1/H, as in Eq. 3
    # eps goes inside the square root, so a constant row gives x_hat = 0, not 0/0.
    s = np.sqrt(var + eps)
    return centered / s, s


def layernorm_forward(
    x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Layer norm over the last axis: gain * (x - mu) / sqrt(var + eps) + bias."""
    x = np.asarray(x, dtype=np.float64)
    x_hat, _ = _normalize(x, eps)
    # gain and bias have shape (H,): one per unit, broadcast over every case.
    return np.asarray(gain, dtype=np.float64) * x_hat + np.asarray(bias, dtype=np.float64)


def layernorm_backward(
    dy: np.ndarray, x: np.ndarray, gain: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx, dgain, dbias) of sum(dy * layernorm_forward(x, gain, bias, eps))."""
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    x_hat, s = _normalize(x, eps)
    dx_hat = dy * np.asarray(gain, dtype=np.float64)
    # mu and s both depend on every x in the row: the first mean is the path
    # through mu, the second the path through the variance. Both run over the
    # H units of a row, like the forward statistics.
    dx = (
        dx_hat
        - dx_hat.mean(axis=-1, keepdims=True)
        - x_hat * np.mean(dx_hat * x_hat, axis=-1, keepdims=True)
    ) / s
    # gain and bias are shared by every case (and time step), so their
    # gradients sum over all leading axes and keep the shape (H,).
    leading = tuple(range(x.ndim - 1))
    dgain = np.sum(dy * x_hat, axis=leading)
    dbias = np.sum(dy, axis=leading)
    return dx, dgain, dbias


def layernorm_rnn_step(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    W_xh: np.ndarray,
    W_hh: np.ndarray,
    gain: np.ndarray,
    bias: np.ndarray,
    eps: float = 1e-5,
) -> np.ndarray:
    """One step of the layer-normalized RNN (Eq. 4) with f = tanh."""
    x_t = np.asarray(x_t, dtype=np.float64)
    h_prev = np.asarray(h_prev, dtype=np.float64)
    # Rows are cases, so the paper's W_hh h + W_xh x becomes products with the
    # transposed weights: (N, H) @ (H, H) and (N, D) @ (D, H).
    a_t = h_prev @ np.asarray(W_hh, dtype=np.float64).T + x_t @ np.asarray(W_xh, dtype=np.float64).T
    # Statistics of this time step only; the same gain and bias at every step.
    # The non-linearity comes last, after the gain and bias.
    return np.tanh(layernorm_forward(a_t, gain, bias, eps))
