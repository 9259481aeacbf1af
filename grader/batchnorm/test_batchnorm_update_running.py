"""Hidden checks for batchnorm_update_running."""

import numpy as np
import pytest

from normquiz.checks import expect_inputs_unchanged, expect_match

NAME = "batchnorm_update_running"
PARTS = ("new_mean", "new_var")


def _running(rng, d):
    # Running statistics far from any batch's, so mixing up old and new shows.
    return rng.normal(0.0, 1.0, size=d), rng.uniform(0.5, 3.0, size=d)


@pytest.mark.points(2)
def test_random_batch(submission, reference, rng):
    """A random batch of 5 cases with 3 features, the default momentum 0.1"""
    running_mean, running_var = _running(rng, 3)
    x = rng.normal(2.0, 3.0, size=(5, 3))
    expect_match(submission, reference, NAME, running_mean, running_var, x, names=PARTS)


@pytest.mark.points(1)
def test_two_cases(submission, reference):
    """Two cases, x = [[0], [2]], from running mean 0 and variance 1"""
    expect_match(submission, reference, NAME, np.array([0.0]), np.array([1.0]),
                 np.array([[0.0], [2.0]]), names=PARTS)


@pytest.mark.points(1)
def test_other_momentum(submission, reference, rng):
    """momentum = 0.3 on a batch of 4 cases with 2 features"""
    running_mean, running_var = _running(rng, 2)
    x = rng.normal(-1.0, 2.0, size=(4, 2))
    expect_match(submission, reference, NAME, running_mean, running_var, x, momentum=0.3,
                 names=PARTS)


@pytest.mark.points(1)
def test_momentum_one(submission, reference, rng):
    """momentum = 1: the new running statistics are the batch's (variance with N - 1)"""
    running_mean, running_var = _running(rng, 4)
    x = rng.normal(0.0, 1.0, size=(3, 4))
    expect_match(submission, reference, NAME, running_mean, running_var, x, momentum=1.0,
                 names=PARTS)


@pytest.mark.points(1)
def test_constant_feature(submission, reference, rng):
    """A feature that is constant over the batch (its batch variance is 0)"""
    running_mean, running_var = _running(rng, 3)
    x = rng.normal(0.0, 1.0, size=(4, 3))
    x[:, 2] = 1.5
    expect_match(submission, reference, NAME, running_mean, running_var, x, names=PARTS)


@pytest.mark.points(1)
def test_inputs_unchanged(submission, reference, rng):
    """Right statistics, with running_mean, running_var and x left unchanged"""
    running_mean, running_var = _running(rng, 3)
    x = rng.normal(0.0, 2.0, size=(4, 3))
    expect_inputs_unchanged(submission, reference, NAME, running_mean, running_var, x, 0.1)
