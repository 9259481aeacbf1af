"""Weight normalization (Salimans & Kingma, 2016) in numpy, as the layer norm paper uses it.

Fill in the function below, replacing each `...` marked `# TODO`, then grade
your work from this folder:

    normquiz grade                     # all exercises of the topic
    normquiz grade weightnorm_forward  # one exercise
    normquiz hint weightnorm_forward   # the next hint, one at a time

Arrays are float64. Your function must not modify its inputs.
"""

import numpy as np


def weightnorm_forward(x, v, g, b):
    """A weight-normalized linear layer: the summed inputs plus the bias.

    Weight normalization normalizes the weights, never the data. Row i of `v`
    holds unit i's incoming weights, and the unit's effective weight vector is
    that row rescaled to length |g_i|:

        W_i = g_i * v_i / ||v_i||        (||v_i||: Euclidean norm of row i)
        y   = x @ W.T + b

    In the layer norm paper's shared form h_i = f(g_i / sigma_i * (a_i - mu_i) + b_i)
    (Eq. 5) this is mu_i = 0 and sigma_i = ||v_i||. No statistic of `x` is
    computed, and no eps is needed.

    Args:
        x: inputs, shape (N, D): one training case per row.
        v: weight directions, shape (H, D): one row per output unit.
        g: per-unit gain, shape (H,).
        b: per-unit bias, shape (H,).

    Returns:
        y: shape (N, H), one row per case and one column per unit. No input
        is modified.
    """
    norms = ...  # TODO: the length of each unit's incoming weight vector, one per row of v
    W = ...  # TODO: divide each row of v by its own norm, then scale row i by g_i
    y = ...  # TODO: the summed inputs x @ W.T, then add the bias
    raise NotImplementedError("weightnorm_forward")  # TODO: return y instead
