"""Hidden checks for batchnorm_inference."""

import numpy as np
import pytest

from normquiz.checks import expect_close, expect_inputs_unchanged, expect_match

NAME = "batchnorm_inference"


def _case(rng, n, d):
    # Running statistics far from the batch's own, and a different gain and
    # bias per feature.
    x = rng.normal(1.0, 3.0, size=(n, d))
    gain = rng.uniform(0.5, 2.0, size=d)
    bias = rng.normal(0.0, 1.0, size=d)
    running_mean = rng.normal(0.0, 2.0, size=d)
    running_var = rng.uniform(0.5, 4.0, size=d)
    return x, gain, bias, running_mean, running_var


@pytest.mark.points(2)
def test_random_batch(submission, reference, rng):
    """A random batch of 5 cases with 3 features"""
    expect_match(submission, reference, NAME, *_case(rng, 5, 3))


@pytest.mark.points(1)
def test_batch_of_one(submission, reference, rng):
    """A single case (N = 1): at inference it is normalized like any other"""
    expect_match(submission, reference, NAME, *_case(rng, 1, 4))


@pytest.mark.points(2)
def test_large_eps(submission, reference, rng):
    """eps = 0.25, with a different gain and bias for each feature"""
    expect_match(submission, reference, NAME, *_case(rng, 4, 3), eps=0.25)


@pytest.mark.points(1)
def test_cases_are_independent(submission, reference, rng):
    """A case's output does not depend on the other cases in the batch"""
    x, gain, bias, running_mean, running_var = _case(rng, 4, 3)
    alone = submission.call(NAME, x[:1], gain, bias, running_mean, running_var).value
    expected = reference.batchnorm_inference(x[:1], gain, bias, running_mean, running_var)
    expect_close(alone, expected, f"{NAME}(x[:1], gain, bias, running_mean, running_var), "
                 "case 1 of a batch of 4 on its own")
    call = f"{NAME}(x, gain, bias, running_mean, running_var) with x of shape {x.shape}"
    try:
        whole = np.asarray(submission.call(NAME, x, gain, bias, running_mean, running_var).value,
                           dtype=float)
    except (TypeError, ValueError):
        whole = None
    assert whole is not None and whole.shape == x.shape, (
        f"{call}\n  did not return a float array of shape {x.shape}."
    )
    assert np.allclose(whole[:1], np.asarray(alone, dtype=float)), (
        f"{call}\n  gave case 1 a different output in the batch than alone. At inference the "
        "statistics are the running ones, fixed after training, so each case is normalized "
        "on its own."
    )


@pytest.mark.points(1)
def test_matches_training_mode_on_its_own_statistics(submission, reference, rng):
    """Given the batch's own 1/N mean and variance, it equals training mode"""
    x = rng.normal(0.0, 2.0, size=(5, 3))
    gain, bias = rng.uniform(0.5, 2.0, size=3), rng.normal(0.0, 1.0, size=3)
    expect_match(submission, reference, NAME, x, gain, bias, x.mean(axis=0), x.var(axis=0),
                 eps=0.1)


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right output, with x, gain, bias and the running statistics left unchanged"""
    expect_inputs_unchanged(submission, reference, NAME, *_case(rng, 3, 4), 0.1)
