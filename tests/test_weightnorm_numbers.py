"""Every worked number in the weightnorm content, recomputed; its numeric question, checked.

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

TOPIC = default_catalog().topic("weightnorm")
REF = load_reference("weightnorm")
SEEDS = st.integers(min_value=0, max_value=2**31)


def wn(x, v, g, b):
    return REF.weightnorm_forward(np.array(x, float), np.array(v, float), np.array(g, float),
                                  np.array(b, float))


# The catalogue's two small inputs (errata.md §4).
X1, V1 = [[1.0, 0.0]], [[1.0, 0.0], [1.0, 1.0]]
X2, V2, G2, B2 = [[1.0, 0.0]], [[2.0, 0.0]], [3.0], [1.0]
# The content's own example: v = [3, 4], g = 2, b = -1, x = [1, 2] (and a second row [0, 1]).
V = np.array([3.0, 4.0])
VM = np.array([[3.0, 4.0], [0.0, 1.0]])
X = np.array([1.0, 2.0])
G, B = 2.0, -1.0


def _unit(v_row, x, g=G, b=B):
    return float(wn([x], [v_row], [g], [b])[0, 0])


VERIFIED = {
    # errata.md §4, weightnorm_forward's catalogue (values quoted there).
    "right output, two units": (wn(X1, V1, [1, 1], [0, 0])[0], "[1.0000, 0.7071]"),
    "column norms": (np.array(X1) @ (np.array(V1) / np.linalg.norm(V1, axis=0)).T,
                     "[[0.7071, 0.7071]]"),
    "Frobenius norm": (np.array(X1) @ (np.array(V1) / np.linalg.norm(V1)).T,
                       "[[0.5774, 0.5774]]"),
    "no normalization": (np.array(X1) @ np.array(V1).T, "[[1.0000, 1.0000]]"),
    "right output, one unit": (wn(X2, V2, G2, B2), "[[4.0000]]"),
    "squared norm": (3 * 2 / 4 + 1, "2.5"),
    "gain dropped": (2 / 2 + 1, "2"),
    "bias inside": (3 * (2 + 1) / 2, "4.5"),
    "centred v": (3 * (np.array([1.0, -1.0]) @ [1.0, 0.0]) / np.sqrt(2) + 1, "3.1213"),
    # The worked example v = [3, 4], g = 2, b = -1, x = [1, 2] (not in errata.md).
    "||v||": (np.linalg.norm(V), "5"),
    "w = g v / ||v||": (2 * V / np.linalg.norm(V), "[1.2, 1.6]"),
    "||w||": (np.linalg.norm(2 * V / np.linalg.norm(V)), "2"),
    "v / ||v||": (V / np.linalg.norm(V), "[0.6, 0.8]"),
    "v . x": (V @ X, "11"),
    "v . x / ||v||": (V @ X / np.linalg.norm(V), "2.2"),
    "y": (_unit(V, X), "3.4"),
    "y - b": (_unit(V, X) - B, "4.4"),
    "y for 10 v": (_unit(10 * V, X), "3.4"),
    "||10 v||": (np.linalg.norm(10 * V), "50"),
    "10 v . x": (10 * V @ X, "110"),
    "||-2 v||": (np.linalg.norm(-2 * V), "10"),
    "-2 v . x": (-2 * V @ X, "-22"),
    "y - b for -2 v": (_unit(-2 * V, X) - B, "-4.4"),
    "y for -2 v": (_unit(-2 * V, X), "-5.4"),
    "y for x = [2, 4]": (_unit(V, 2 * X), "7.8"),
    "y - b for x = [2, 4]": (_unit(V, 2 * X) - B, "8.8"),
    # wn_unit_output's explanation: unit 1 of [[3, 4], [0, 1]] and its slips.
    "y, unit 1": (float(wn([X], VM, [G, 7.0], [B, 0.0])[0, 0]), "3.4"),
    "divided by ||v||^2": (G * 11 / 25 + B, "-0.12"),
    "not divided": (G * 11 + B, "21"),
    "gain left out": (11 / 5 + B, "1.2"),
    "bias before dividing": (G * (11 + B) / 5, "4"),
    "||V||_F^2": (np.sum(VM**2), "26"),
    "whole-matrix norm": (G * 11 / np.linalg.norm(VM) + B, "3.3146"),
    "column norms of [[3, 4], [0, 1]]": (np.linalg.norm(VM, axis=0) ** 2, "[9, 17]"),
    "column-norm slip": (G * np.sum(VM[0] * X / np.linalg.norm(VM, axis=0)) + B, "4.8806"),
}


def _digits(expected: str) -> int:
    m = re.search(r"\.(\d+)", expected)
    return len(m.group(1)) if m else 0


@pytest.mark.parametrize("name", sorted(VERIFIED))
def test_worked_number(name):
    value, expected = VERIFIED[name]
    assert fmt(value, _digits(expected)) == expected


# errata.md §4: each mistake implementation on its catalogue input gives the
# mistaken output the catalogue (and the feedback) quotes.
MISTAKES = load_mistakes(TOPIC, "weightnorm_forward")
ONE = (np.array(X1), np.array(V1), np.ones(2), np.zeros(2))
TWO = (np.array(X2), np.array(V2), np.array(G2), np.array(B2))
CATALOGUE = {
    "norm-wrong-axis": (ONE, "[0.7071, 0.7071]"),
    "frobenius-norm": (ONE, "[0.5774, 0.5774]"),
    "no-normalization": (ONE, "[1, 1]"),
    "squared-norm": (TWO, "[2.5]"),
    "missing-gain": (TWO, "[2]"),
    "bias-inside": (TWO, "[4.5]"),
    "centers-weights": (TWO, "[3.1213]"),
}


@pytest.mark.parametrize("mistake", sorted(CATALOGUE))
def test_mistake_gives_the_quoted_output(mistake):
    args, expected = CATALOGUE[mistake]
    value = getattr(MISTAKES, mistake_function_name(mistake))(*args)
    assert fmt(np.ravel(value), _digits(expected)) == expected


def test_positive_rescaling_keeps_every_example():
    # The explanations' claim behind "y is still 3.4": any positive factor cancels.
    for factor in (0.1, 10.0, 1e6):
        assert math.isclose(_unit(factor * V, X), 3.4, rel_tol=1e-12)


# ---------------------------------------------------------------- the numeric question


def _dot(a, b):
    return math.fsum(p * q for p, q in zip(a, b))


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_unit_output_answer(seed):
    q = TOPIC.exercise("wn_unit_output")
    gen = generate(TOPIC, q, seed)
    d = gen.data
    v, x, g, b, i = d["v"], d["x"], d["g"], d["b"], d["i"]
    assert len(v) == d["h"] != d["d"] == len(v[0]) == len(x)
    row = v[i - 1]
    norm = math.sqrt(_dot(row, row))
    expected = g * _dot(row, x) / norm + b
    assert math.isclose(gen.answer[0], expected, rel_tol=1e-12, abs_tol=1e-12)
    # Each mistaken answer is the slip its id names, recomputed from the data.
    frobenius = math.sqrt(math.fsum(e * e for r in v for e in r))
    columns = [math.sqrt(math.fsum(r[j] ** 2 for r in v)) for j in range(len(x))]
    slips = {
        "squared-norm": g * _dot(row, x) / norm**2 + b,
        "no-normalization": g * _dot(row, x) + b,
        "frobenius-norm": g * _dot(row, x) / frobenius + b,
        "norm-wrong-axis": g * math.fsum(row[j] * x[j] / columns[j] for j in range(len(x))) + b,
        "missing-gain": _dot(row, x) / norm + b,
        "bias-inside": g * (_dot(row, x) + b) / norm,
    }
    assert set(gen.mistakes) == set(slips)
    for m, value in slips.items():
        assert math.isclose(gen.mistakes[m][0], value, rel_tol=1e-12, abs_tol=1e-12), m
    assert f"Unit {i} has gain" in gen.prompt and f"x = {x}" in gen.prompt


def test_every_quoted_number_is_verified():
    values = [v for v, _ in VERIFIED.values()]
    unknown = unverified(topic_text(TOPIC), values)
    assert not unknown, f"numbers in the weightnorm content that no test computes: {unknown}"
