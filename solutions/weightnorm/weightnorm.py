"""Reference solution for the weightnorm topic.

Weight normalization (Salimans & Kingma, 2016), in the form the layer norm
paper compares it with (§5.1, Eq. 5): each unit's incoming weight vector is
divided by its Euclidean norm and scaled by a gain, so mu = 0 and
sigma = ||w_i||_2. The data is never normalized.
"""

import numpy as np


def weightnorm_forward(
    x: np.ndarray, v: np.ndarray, g: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """y = x @ W.T + b with W_i = g_i * v_i / ||v_i||, one row of v per output unit."""
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    # One norm per unit: row i of v is unit i's incoming weights, so the sum
    # runs along axis 1, and keepdims gives shape (H, 1), which divides each
    # row by its own norm (never a column, and not the whole matrix).
    norms = np.sqrt(np.sum(v * v, axis=1, keepdims=True))
    # The gain restores a magnitude: every row of W has length |g_i|. No mean
    # is subtracted (mu = 0 in Eq. 5), and the division makes y independent of
    # the length of v_i (for a positive re-scaling; a negative one flips it).
    W = g[:, None] * (v / norms)
    # Rows of x are cases, so the paper's w_i^T x becomes x @ W.T; the bias is
    # added after the normalized product, as in f(a_i + b_i) (Eq. 1).
    return x @ W.T + b
