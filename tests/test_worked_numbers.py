"""Every worked number quoted in the layernorm content is recomputed here.

Each value below is computed from scratch (numpy, or the reference solution,
which the PyTorch oracle tests pin down), compared with errata.md's figure,
and then every 4-decimal number in the topic's manifests must be one of them:
a typo in an explanation fails this test.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import fmt, topic_text, unverified

from normquiz.content import default_catalog, load_reference

TOPIC = default_catalog().topic("layernorm")
REF = load_reference("layernorm")


def ln(a, eps=0.0, gain=1.0, bias=0.0):
    a = np.asarray(a, float)
    return gain * (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + eps) + bias


def bn(a, eps=0.0):
    a = np.asarray(a, float)
    return (a - a.mean(0)) / np.sqrt(a.var(0) + eps)


def _backward_single():
    x, dy = np.array([[-1.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]])
    dx, _, _ = REF.layernorm_backward(dy, x, np.ones(3), eps=0.0)
    xhat = ln(x)
    s = x.std()
    return {
        "correct dx": dx,
        "constant statistics": dy / s,
        "no variance path": (dy - dy.mean()) / s,
        "no mean path": (dy - xhat * np.mean(dy * xhat)) / s,
        "mean(dxhat * xhat)": np.mean(dy * xhat),
        "mean(dxhat)": dy.mean(),
        "xhat": xhat,
    }


def _backward_batch():
    x = np.array([[-1.0, 0.0, 1.0], [0.0, 1.0, 5.0]])
    gain, dy, eps = np.array([1.0, 2.0, 3.0]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]]), 0.1
    dx, dgain, dbias = REF.layernorm_backward(dy, x, gain, eps)
    xhat = ln(x, eps)
    s = np.sqrt(x.var(-1, keepdims=True) + eps)
    no_gain = (dy - dy.mean(-1, keepdims=True) - xhat * np.mean(dy * xhat, -1, keepdims=True)) / s
    return {"dx": dx, "dgain": dgain, "dbias": dbias, "dx without gain": no_gain,
            "dgain over features": np.sum(dy * xhat, axis=1), "dgain from x": np.sum(dy * x, 0),
            "BN-style dx": _bn_backward(dy, x, gain, eps)}


def _bn_backward(dy, x, gain, eps):
    xhat = bn(x, eps)
    s = np.sqrt(x.var(0) + eps)
    d = dy * gain
    return (d - d.mean(0) - xhat * np.mean(d * xhat, 0)) / s


SEED_MATRIX = np.array([[1, 2, 3, 4], [2, 2, 2, 2], [5, 6, 7, 8]], float)  # rows = features
STEPS = np.array([[1, 3, 5, 7], [2, 2, 6, 6], [0, 4, 4, 8]], float)  # rows = time steps

VERIFIED = {
    # The notes' BN example [4, 6, 8, 10] and LN example [1, 3, 5, 7] (errata 12-14, 22).
    "sigma of [4,6,8,10]": (np.std([4, 6, 8, 10]), "2.2361"),
    "sample std of [4,6,8,10]": (np.std([4, 6, 8, 10], ddof=1), "2.5820"),
    "xhat of [1,3,5,7]": (ln([1, 3, 5, 7]), "[-1.3416, -0.4472, 0.4472, 1.3416]"),
    "g=2, b=-1 on [4,6,8,10]": (ln([4, 6, 8, 10], 1e-5, 2, -1),
                                "[-3.6833, -1.8944, -0.1056, 1.6833]"),
    # [1, 2, 5] with eps = 0.001 (errata 29 and claim 19).
    "mu of [1,2,5]": (np.mean([1, 2, 5]), "2.6667"),
    "var of [1,2,5]": (np.var([1, 2, 5]), "2.8889"),
    "sigma of [1,2,5]": (np.std([1, 2, 5]), "1.6997"),
    "var + eps": (np.var([1, 2, 5]) + 0.001, "2.8899"),
    "sqrt(var + eps)": (np.sqrt(np.var([1, 2, 5]) + 0.001), "1.7000"),
    "xhat of [1,2,5]": (REF.layernorm_forward(np.array([1.0, 2, 5]), np.ones(3), np.zeros(3),
                                             0.001), "[-0.9804, -0.3922, 1.3726]"),
    "rounded mu and var": ((np.array([1, 2, 5]) - 2.67) / np.sqrt(2.89 + 0.001),
                           "[-0.9822, -0.3940, 1.3704]"),
    "std of xhat with eps": (np.std(ln([1, 2, 5], 0.001)), "0.99983"),
    # The BN view of the seed's 3 x 4 matrix: sample 1 is [1, 2, 5] (errata 28).
    "BN of sample 1": (bn(SEED_MATRIX.T, 0.001)[0], "[-1.3411, 0.0000, -1.3411]"),
    "BN of feature 1": (bn(SEED_MATRIX.T, 0.001)[:, 0], "[-1.3411, -0.4470, 0.4470, 1.3411]"),
    # Catalogue inputs for layernorm_forward.
    "ln [-2, 2], eps .25": (ln([-2, 2], 0.25), "[-0.9701, 0.9701]"),
    "eps outside sqrt": (np.array([-2, 2]) / (2 + 0.25), "[-0.8889, 0.8889]"),
    "divided by var + eps": (np.array([-2, 2]) / (4 + 0.25), "[-0.4706, 0.4706]"),
    "ddof=1 on [0, 2]": ((np.array([0, 2]) - 1) / np.std([0, 2], ddof=1), "[-0.7071, 0.7071]"),
    "ddof=1 var with eps .25": (2 / np.sqrt(8 + 0.25), "0.6963"),
    "whole tensor": (ln(np.array([0, 2, 10, 14.0])).reshape(2, 2),
                     "[[-1.1358, -0.7863], [0.6116, 1.3106]]"),
    "RMSNorm of [1, 5]": (np.array([1, 5]) / np.sqrt(np.mean(np.square([1, 5]))),
                          "[0.2774, 1.3868]"),
    "MAD of [1,3,5,7]": (np.mean(np.abs(np.array([1, 3, 5, 7]) - 4)), "2.0000"),
    "xhat of [1,2,3,4,5]": (ln([1, 2, 3, 4, 5]), "[-1.4142, -0.7071, 0.0000, 0.7071, 1.4142]"),
    # LN-RNN example: tanh of the [1, 3, 5, 7] output.
    "tanh of xhat": (np.tanh(ln([1, 3, 5, 7], 1e-5)), "[-0.8721, -0.4196, 0.4196, 0.8721]"),
    # ln_eq4_notation: (g / sigma^t) * (a^t - mu^t) with g = [1, 2, 1, 0.5].
    "g/sigma * (a - mu)": (np.array([1, 2, 1, 0.5]) * ln([1, 3, 5, 7]),
                           "[-1.3416, -0.8944, 0.4472, 0.6708]"),
    # ln_step_normalized: unit 2 at step 1 of [[1, 3, 5, 7], [2, 2, 6, 6], [0, 4, 4, 8]].
    "sigma over the whole sequence": (STEPS.std(), "2.3805"),
    "x_hat over the whole sequence": ((3 - STEPS.mean()) / STEPS.std(), "-0.4201"),
    "x_hat of the step": (ln(STEPS[0])[1], "-0.4472"),
    "sigma of unit 2 over time": (STEPS[:, 1].std(), "0.8165"),
    "x_hat of unit 2 over time": ((3 - STEPS[:, 1].mean()) / STEPS[:, 1].std(), "0.0000"),
    "x_hat with H - 1": ((3 - 4) / STEPS[0].std(ddof=1), "-0.3873"),
    # ln_batch_size_one: the notes' case [1, 2, 5] alone, eps = 0.001, gain 1, bias [0.5, -1, 2].
    "LN of a batch of one": (REF.layernorm_forward(np.array([[1.0, 2, 5]]), np.ones(3),
                                                   np.array([0.5, -1, 2]), 0.001)[0],
                             "[-0.4804, -1.3922, 3.3726]"),
    "BN of a batch of one": (bn(np.array([[1.0, 2, 5]]), 0.001)[0] + np.array([0.5, -1, 2]),
                             "[0.5000, -1.0000, 2.0000]"),
    # ln_authors quotes the paper's arXiv number (an identifier, not a computed figure).
    "arXiv number": (1607.06450, "1607.06450"),
}
BACKWARD_SINGLE = _backward_single()
BACKWARD_BATCH = _backward_batch()
ERRATA_BACKWARD = {
    "correct dx": "[[0.2041, -0.4082, 0.2041]]",
    "constant statistics": "[[1.2247, 0.0000, 0.0000]]",
    "no variance path": "[[0.8165, -0.4082, -0.4082]]",
    "no mean path": "[[0.6124, 0.0000, 0.6124]]",
    "dx": "[[0.2648, -0.3807, 0.1159], [-0.5520, 0.7164, -0.1644]]",
    "dgain": "[-1.1421, -0.4580, -1.3741]",
    "dbias": "[1.0000, 1.0000, -1.0000]",
    "dgain over features": "[-1.1421, -1.8321]",
    "dgain from x": "[-1.0000, 1.0000, -5.0000]",
    "BN-style dx": "[[0.2415, -0.4829, 0.0181], [-0.2415, 0.4829, -0.0181]]",
}


@pytest.mark.parametrize("name", sorted(VERIFIED))
def test_worked_number_matches_errata(name):
    value, expected = VERIFIED[name]
    digits = len(re.search(r"\.(\d+)", expected).group(1))
    assert fmt(value, digits) == expected


@pytest.mark.parametrize("name", sorted(ERRATA_BACKWARD))
def test_backward_numbers_match_errata(name):
    table = {**BACKWARD_SINGLE, **BACKWARD_BATCH}
    assert fmt(table[name]) == ERRATA_BACKWARD[name]


def test_no_backward_row_is_wrong():
    # errata: "row 2 becomes [-0.2562, 0.3299, -0.0737]" when the gain is left out of dx.
    assert fmt(BACKWARD_BATCH["dx without gain"][1]) == "[-0.2562, 0.3299, -0.0737]"


def test_every_quoted_number_is_verified():
    values = [v for v, _ in VERIFIED.values()] + list(BACKWARD_SINGLE.values()) + list(
        BACKWARD_BATCH.values())
    unknown = unverified(topic_text(TOPIC), values)
    assert not unknown, f"numbers in the layernorm content that no test computes: {unknown}"
