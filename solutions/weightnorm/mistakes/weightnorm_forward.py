"""Recognized mistakes in weightnorm_forward, each written as a learner would.

Every function has the contract's signature. PROBES holds small inputs on which
the reference and all of these give pairwise different results. VARIANTS holds
other ways learners write the same mistakes (each docstring tells the learner
what their output matches), and CORRECT other right ways to write the function.
"""

import numpy as np


def norm_wrong_axis(x, v, g, b):
    # axis=0: one norm per input column, shared by all units, instead of one
    # per unit (row). Broadcasting (H, D) / (1, D) never complains.
    norms = np.linalg.norm(v, axis=0, keepdims=True)
    W = g[:, None] * v / norms
    return x @ W.T + b


def frobenius_norm(x, v, g, b):
    # np.linalg.norm without an axis: the norm of the whole matrix.
    W = g[:, None] * v / np.linalg.norm(v)
    return x @ W.T + b


def no_normalization(x, v, g, b):
    # The gain scales v, but v is never divided by its norm.
    W = g[:, None] * v
    return x @ W.T + b


def squared_norm(x, v, g, b):
    # Divides by the squared norm, sum(v_i ** 2), forgetting the square root.
    sq = np.sum(v**2, axis=1, keepdims=True)
    W = g[:, None] * v / sq
    return x @ W.T + b


def missing_gain(x, v, g, b):
    # Unit-length rows, but the gain is never applied.
    W = v / np.linalg.norm(v, axis=1, keepdims=True)
    return x @ W.T + b


def bias_inside(x, v, g, b):
    # The bias is added to the raw product and then normalized with it:
    # g * (v_i . x + b_i) / ||v_i||.
    norms = np.linalg.norm(v, axis=1)
    return g * (x @ v.T + b) / norms


def centers_weights(x, v, g, b):
    # Subtracts each row's mean before normalizing (centred weight normalization),
    # so the direction of v_i changes.
    centered = v - v.mean(axis=1, keepdims=True)
    W = g[:, None] * centered / np.linalg.norm(centered, axis=1, keepdims=True)
    return x @ W.T + b


# ---------------------------------------------------------------- other ways to write them


def _row_norms_along_columns(x, v, g, b):
    """Your output matches v / np.linalg.norm(v, axis=1) without keepdims: the (H,) row
    norms line up with the columns of v, so column j is divided by the norm of row j."""
    W = g[:, None] * v / np.linalg.norm(v, axis=1)
    return x @ W.T + b


def _standardizes_weights(x, v, g, b):
    """Your output matches weight standardization: each row of v centred and divided by
    its standard deviation."""
    centred = v - v.mean(axis=1, keepdims=True)
    W = g[:, None] * centred / centred.std(axis=1, keepdims=True)
    return x @ W.T + b


VARIANTS = {"norm-wrong-axis": [_row_norms_along_columns],
            "centers-weights": [_standardizes_weights]}


# ---------------------------------------------------------------- right, written otherwise


def _right_unit_by_unit(x, v, g, b):
    """One unit (row of v) at a time."""
    y = np.empty((x.shape[0], v.shape[0]))
    for i, row in enumerate(v):
        y[:, i] = g[i] * (x @ row) / np.sqrt(np.dot(row, row)) + b[i]
    return y


def _right_einsum(x, v, g, b):
    """Normalize the summed inputs instead of the weights: the same numbers (Eq. 5)."""
    return np.einsum("nd,hd->nh", x, v) * (g / np.linalg.norm(v, axis=1)) + b


CORRECT = [_right_unit_by_unit, _right_einsum]


# No row of v has norm 1, no row has a zero mean, no column is zero and the
# gains are not 1 with biases not 0, so every mistake moves the output.
PROBES = [
    # Non-square: N = 2 cases, D = 3 inputs, H = 2 units.
    (
        (
            np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 3.0]]),
            np.array([[2.0, 1.0, 2.0], [1.0, -3.0, 0.5]]),
            np.array([1.5, -2.0]),
            np.array([0.5, 1.0]),
        ),
        {},
    ),
    # Square (H = D = 2): rows of very different lengths.
    (
        (
            np.array([[1.0, 0.0], [-2.0, 1.0], [0.5, 3.0]]),
            np.array([[3.0, 4.0], [1.0, 0.5]]),
            np.array([2.0, 0.5]),
            np.array([-1.0, 2.0]),
        ),
        {},
    ),
]
