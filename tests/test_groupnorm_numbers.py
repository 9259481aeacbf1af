"""Every worked number in the groupnorm content, recomputed; its numeric question, checked.

The worked numbers are computed from scratch (numpy, or the reference
solution, which the PyTorch oracle tests pin down) and compared with the
value errata.md gives, or, where errata.md has none, with the value the
content quotes. Every 4-decimal number in the topic's manifests must be one of
them, so a typo in an explanation fails here. The numeric question's answers
and mistaken answers are recomputed independently for many seeds.
"""

from __future__ import annotations

import math
import re
import statistics

import numpy as np
import pytest
from helpers import fmt, topic_text, unverified
from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import (
    default_catalog,
    load_mistakes,
    load_reference,
    mistake_function_name,
)
from normquiz.questions import generate

TOPIC = default_catalog().topic("groupnorm")
REF = load_reference("groupnorm")
SEEDS = st.integers(min_value=0, max_value=2**31)


def gn(x, groups, gain=None, eps=0.0):
    x = np.array(x, float)
    c = x.shape[1]
    gain = np.ones(c) if gain is None else np.array(gain, float)
    return REF.groupnorm_forward(x, groups, gain, np.zeros(c), eps)


FOUR = np.array([0.0, 2.0, 10.0, 14.0]).reshape(1, 4, 1)  # one sample, 4 channels, 1 position
SQUARE = np.array([[0.0, 2.0], [4.0, 6.0]]).reshape(1, 2, 2)  # one sample, 2 channels x 2
VALUES = np.array([0.0, 2.0, 4.0, 6.0])  # SQUARE's four values


def _mean_of_channel_variances(x):
    # The group mean, but the average of the channels' own variances.
    return (x - x.mean()) / np.sqrt(x.var(axis=-1).mean())


VERIFIED = {
    # errata.md §6, groupnorm_forward's catalogue (values quoted there).
    "consecutive groups": (gn(FOUR, 2).ravel(), "[-1, 1, -1, 1]"),
    "interleaved groups": (gn(FOUR[:, [0, 2, 1, 3]], 2).ravel()[[0, 2, 1, 3]], "[-1, -1, 1, 1]"),
    "gain per channel": (gn(np.array([-1.0, 1, -1, 1]).reshape(1, 4, 1), 2, [1, 2, 3, 4]).ravel(),
                         "[-1, 2, -3, 4]"),
    "gain per group": (np.array([-1, 1, -1, 1]) * np.array([1, 1, 2, 2]), "[-1, 1, -2, 2]"),
    "pooled group": (gn(SQUARE, 1).ravel(), "[-1.3416, -0.4472, 0.4472, 1.3416]"),
    "instance norm": (gn(SQUARE, 2).ravel(), "[-1, 1, -1, 1]"),
    "mean of channel variances": (_mean_of_channel_variances(SQUARE).ravel(), "[-3, -1, 1, 3]"),
    "per sample": (gn(np.array([[0.0, 2.0], [10.0, 20.0]]).reshape(2, 2, 1), 1).ravel(),
                   "[-1, 1, -1, 1]"),
    "pooled over the batch": ((np.array([0, 2, 10, 20]) - 8) / np.std([0, 2, 10, 20]),
                              "[-1.0160, -0.7620, 0.2540, 1.5240]"),
    "eps inside sqrt": (gn(np.array([-2.0, 2.0]).reshape(1, 2, 1), 1, eps=0.25).ravel(),
                        "[-0.9701, 0.9701]"),
    "eps outside sqrt": (np.array([-2, 2]) / (2 + 0.25), "[-0.8889, 0.8889]"),
    "G = 1 on [0, 2, 10, 14]": (gn(FOUR, 1).ravel(), "[-1.1358, -0.7863, 0.6116, 1.3106]"),
    # The group [0, 2, 4, 6] (errata.md quotes the same spread for [4, 6, 8, 10]).
    "mu": (VALUES.mean(), "3"),
    "squared deviations": ((VALUES - 3) ** 2, "[9, 1, 1, 9]"),
    "variance": (VALUES.var(), "5"),
    "sigma": (VALUES.std(), "2.2361"),
    "sample std": (VALUES.std(ddof=1), "2.5820"),
    "shifted notes example": (gn(np.array([4.0, 6, 8, 10]).reshape(1, 1, 4), 1).ravel(),
                              "[-1.3416, -0.4472, 0.4472, 1.3416]"),
    # Not in errata.md: computed here.
    "unbiased variance": (VALUES.var(ddof=1), "6.6667"),
    "unbiased output": ((VALUES - 3) / VALUES.std(ddof=1), "[-1.1619, -0.3873, 0.3873, 1.1619]"),
    "channel variances": (SQUARE[0].var(axis=1), "[1, 1]"),
    "groups of [0, 2, 10, 14]": ([np.mean([0, 2]), np.std([0, 2]), np.mean([10, 14]),
                                  np.std([10, 14])], "[1, 1, 12, 2]"),
    "interleaved group 0 of the question's example": (
        [np.mean([0, 2, 1, 1]), np.std([0, 2, 1, 1])], "[1.0000, 0.7071]"),
    "values per group, (N, 32, 16, 16) with G = 8": (32 // 8 * 16 * 16, "1024"),
}


def _digits(expected: str) -> int:
    m = re.search(r"\.(\d+)", expected)
    return len(m.group(1)) if m else 0


@pytest.mark.parametrize("name", sorted(VERIFIED))
def test_worked_number(name):
    value, expected = VERIFIED[name]
    assert fmt(value, _digits(expected)) == expected


# errata.md §6: each mistake implementation on its catalogue input gives the
# mistaken output the catalogue (and the feedback) quotes.
MISTAKES = load_mistakes(TOPIC, "groupnorm_forward")
CATALOGUE = {
    "interleaved-groups": ((FOUR, 2, np.ones(4), np.zeros(4)), 0.0, "[-1, -1, 1, 1]"),
    "mean-of-channel-variances": ((SQUARE, 1, np.ones(2), np.zeros(2)), 0.0, "[-3, -1, 1, 3]"),
    "instance-norm": ((SQUARE, 1, np.ones(2), np.zeros(2)), 0.0, "[-1, 1, -1, 1]"),
    "batch-pooled": ((np.array([[0.0, 2.0], [10.0, 20.0]]).reshape(2, 2, 1), 1, np.ones(2),
                      np.zeros(2)), 0.0, "[-1.0160, -0.7620, 0.2540, 1.5240]"),
    "gain-per-group": ((np.array([-1.0, 1, -1, 1]).reshape(1, 4, 1), 2,
                        np.array([1.0, 2, 3, 4]), np.zeros(4)), 0.0, "[-1, 1, -2, 2]"),
    "unbiased-variance": ((SQUARE, 1, np.ones(2), np.zeros(2)), 0.0,
                          "[-1.1619, -0.3873, 0.3873, 1.1619]"),
    "eps-outside-sqrt": ((np.array([-2.0, 2.0]).reshape(1, 2, 1), 1, np.ones(2), np.zeros(2)),
                         0.25, "[-0.8889, 0.8889]"),
}


@pytest.mark.parametrize("mistake", sorted(CATALOGUE))
def test_mistake_gives_the_quoted_output(mistake):
    args, eps, expected = CATALOGUE[mistake]
    value = getattr(MISTAKES, mistake_function_name(mistake))(*args, eps=eps)
    assert fmt(value.ravel(), _digits(expected)) == expected


def test_special_cases_of_the_examples():
    # G = 1 is layer norm over (C, *) and G = C is instance norm, on the quoted data.
    flat = SQUARE.reshape(1, -1)
    ln = (flat - flat.mean()) / flat.std()
    np.testing.assert_allclose(gn(SQUARE, 1).reshape(1, -1), ln, atol=1e-12)
    per_channel = (SQUARE - SQUARE.mean(-1, keepdims=True)) / SQUARE.std(-1, keepdims=True)
    np.testing.assert_allclose(gn(SQUARE, 2), per_channel, atol=1e-12)


# ---------------------------------------------------------------- the numeric question


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_group_stats_answer(seed):
    q = TOPIC.exercise("gn_group_stats")
    gen = generate(TOPIC, q, seed)
    d = gen.data
    samples = [d["x1"], d["x2"]]
    c, g, n, k, size = d["c"], d["g"], d["n"], d["k"], d["size"]
    assert size * g == c and 1 < g < c
    assert all(len(s) == c and all(len(r) == d["length"] for r in s) for s in samples)
    assert 0 <= n < 2 and 0 <= k < g  # samples, groups and channels are counted from 0
    channels = range(k * size, (k + 1) * size)  # consecutive channels
    values = [e for ch in channels for e in samples[n][ch]]
    expected = [statistics.fmean(values), statistics.pstdev(values)]
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
               for a, b in zip(gen.answer, expected))
    # Each mistaken answer is the slip its id names, recomputed from the data.
    mu = expected[0]
    every_gth = [e for ch in range(k, c, g) for e in samples[n][ch]]
    both = [e for s in samples for ch in channels for e in s[ch]]
    slips = {
        "sample-std": [mu, statistics.stdev(values)],
        "variance-not-std": [mu, statistics.pvariance(values)],
        "interleaved-groups": [statistics.fmean(every_gth), statistics.pstdev(every_gth)],
        "mean-of-channel-variances": [
            mu, math.sqrt(statistics.fmean(statistics.pvariance(samples[n][ch])
                                           for ch in channels))],
        "batch-pooled": [statistics.fmean(both), statistics.pstdev(both)],
    }
    assert set(gen.mistakes) == set(slips)
    for m, value in slips.items():
        assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
                   for a, b in zip(gen.mistakes[m], value)), m
    assert f"group {k} of sample {n}" in gen.prompt.replace("\n  ", " ").replace("\n", " ")


def test_every_quoted_number_is_verified():
    values = [v for v, _ in VERIFIED.values()]
    unknown = unverified(topic_text(TOPIC), values)
    assert not unknown, f"numbers in the groupnorm content that no test computes: {unknown}"
