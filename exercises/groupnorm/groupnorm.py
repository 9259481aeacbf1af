"""Group normalization (Wu & He, 2018) in numpy: beyond the layer norm paper.

Fill in the function below, replacing each `...` marked `# TODO`, then grade
your work from this folder:

    normquiz grade                    # all exercises of the topic
    normquiz grade groupnorm_forward  # one exercise
    normquiz hint groupnorm_forward   # the next hint, one at a time

Arrays are float64. Your function must not modify its inputs, and its output
has the shape of x.
"""

import numpy as np


def groupnorm_forward(x, num_groups, gain, bias, eps=1e-5):
    """Group-normalize a batch of feature maps.

    The C channels are split into num_groups groups of C / num_groups
    CONSECUTIVE channels: with C = 6 and num_groups = 3 the groups are
    channels {0, 1}, {2, 3} and {4, 5}. Each sample gets its own statistics
    for each group, taken over all values of that group's channels at every
    spatial position (dividing by their count, not count - 1):

        mu    = mean of the group's values in this sample
        var   = mean of (value - mu)**2 over the same values
        x_hat = (x - mu) / sqrt(var + eps)
        y     = gain[c] * x_hat + bias[c]      for a value in channel c

    The batch axis is never averaged over. num_groups = 1 is layer norm over
    (C, *spatial) with a per-channel gain and bias; num_groups = C is
    instance norm.

    Args:
        x: shape (N, C, *spatial), for example (N, C, L) or (N, C, height, width).
        num_groups: the number of groups G; C must be divisible by it.
        gain: per-channel gain, shape (C,).
        bias: per-channel bias, shape (C,).
        eps: added to the variance, inside the square root.

    Returns:
        y: the same shape as x. No input is modified.

    Raises:
        ValueError: if C is not divisible by num_groups.
    """
    # TODO: raise a ValueError with a clear message if C is not divisible by num_groups
    grouped = ...  # TODO: a view with one axis for the groups, consecutive channels together
    mu = ...  # TODO: one mean per sample and group, over the group's channels and positions
    var = ...  # TODO: the variance over the same values, dividing by their count
    x_hat = ...  # TODO: normalize, with eps inside the square root, then restore the shape of x
    y = ...  # TODO: per-channel gain and bias: reshape them so they line up with axis 1 of x
    raise NotImplementedError("groupnorm_forward")  # TODO: return y instead
