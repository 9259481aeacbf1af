"""Hidden checks for groupnorm_forward."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match
from normquiz.sandbox import LearnerError

NAME = "groupnorm_forward"


def _batch(rng, shape):
    # Every channel on its own offset and scale, so the channels of a group
    # differ in mean (pooling them is not the same as averaging their
    # variances) and a different gain and bias per channel.
    c = shape[1]
    spatial = (1,) * (len(shape) - 2)
    offsets = rng.normal(0.0, 3.0, size=(1, c) + spatial)
    scales = rng.uniform(0.5, 3.0, size=(1, c) + spatial)
    x = offsets + scales * rng.normal(0.0, 1.0, size=shape)
    gain = rng.uniform(0.5, 2.0, size=c)
    bias = rng.normal(0.0, 1.0, size=c)
    return x, gain, bias


@pytest.mark.points(2)
def test_random_sequence_batch(submission, reference, rng):
    """(N, C, L) = (3, 6, 5) with 3 groups of 2 channels"""
    x, gain, bias = _batch(rng, (3, 6, 5))
    expect_match(submission, reference, NAME, x, 3, gain, bias)


@pytest.mark.points(2)
def test_random_image_batch(submission, reference, rng):
    """(N, C, height, width) = (2, 6, 3, 4) with 2 groups of 3 channels"""
    x, gain, bias = _batch(rng, (2, 6, 3, 4))
    expect_match(submission, reference, NAME, x, 2, gain, bias)


@pytest.mark.points(1)
def test_one_group(submission, reference, rng):
    """num_groups = 1: one group holding every channel (layer norm over (C, L))"""
    x, gain, bias = _batch(rng, (3, 4, 5))
    expect_match(submission, reference, NAME, x, 1, gain, bias)


@pytest.mark.points(1)
def test_one_channel_per_group(submission, reference, rng):
    """num_groups = C: one channel per group (instance norm)"""
    x, gain, bias = _batch(rng, (2, 4, 3, 2))
    expect_match(submission, reference, NAME, x, 4, gain, bias)


@pytest.mark.points(1)
def test_single_sample_with_constant_group(submission, reference, rng):
    """A single sample (N = 1) whose second group is constant"""
    x, gain, bias = _batch(rng, (1, 4, 6))
    x[0, 2:] = 1.5  # channels 2 and 3 form the second group
    y = expect_match(submission, reference, NAME, x, 2, gain, bias)
    got = np.asarray(y)[0, 2:, 0]
    assert np.allclose(got, bias[2:], rtol=1e-6, atol=1e-8), (
        f"{NAME}: every value of the second group (channels 2 and 3) is 1.5, so those channels "
        f"should output exactly their biases {np.round(bias[2:], 4).tolist()} at every position, "
        f"but at the first position they output {np.round(got, 4).tolist()}."
    )


@pytest.mark.points(1)
def test_large_eps(submission, reference, rng):
    """eps = 0.25, with a different gain and bias for each channel"""
    x, _, _ = _batch(rng, (2, 4, 3))
    gain = np.array([2.0, 0.5, 1.5, -1.0])
    bias = np.array([1.0, -2.0, 0.5, 0.0])
    expect_match(submission, reference, NAME, x, 2, gain, bias, eps=0.25)


@pytest.mark.points(1)
def test_channels_not_divisible(submission, reference, rng):
    """C = 6 channels cannot form num_groups = 4 groups: an error is raised"""
    x, gain, bias = _batch(rng, (2, 6, 2))
    # A valid call must work first, so the unfilled stub (which raises
    # NotImplementedError on every call) stops here and scores nothing.
    submission.call(NAME, x, 3, gain, bias)
    raised, returned = False, ""
    try:
        result = submission.call(NAME, x, 4, gain, bias)
    except LearnerError:  # any exception the learner's code raised will do
        raised = True
    else:
        shape = getattr(result.value, "shape", None)
        returned = f"an array of shape {shape}" if shape is not None else repr(result.value)[:80]
    assert raised, (
        f"{NAME}(x of shape (2, 6, 2), num_groups=4, ...) returned {returned} instead of "
        "raising an error. 6 channels cannot be split into 4 groups of equal size, so any "
        "result is wrong: check that C is divisible by num_groups and raise a ValueError "
        "that says so."
    )


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right output, with x, gain and bias left unchanged"""
    x, gain, bias = _batch(rng, (2, 4, 3))
    expect_inputs_unchanged(submission, reference, NAME, x, 2, gain, bias, 0.1)
