"""The layernorm numeric questions: answers recomputed independently, for many seeds."""

from __future__ import annotations

import math
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import default_catalog
from normquiz.questions import generate

TOPIC = default_catalog().topic("layernorm")
SEEDS = st.integers(min_value=0, max_value=2**31)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_sample_stats_answer(seed):
    q = TOPIC.exercise("ln_sample_stats")
    g = generate(TOPIC, q, seed)
    a, k = g.data["a"], g.data["k"]
    assert len(a) == g.data["n"] and len(a[0]) == g.data["h"] != g.data["n"]
    row = a[k - 1]
    expected = [statistics.fmean(row), statistics.pstdev(row)]
    assert all(math.isclose(x, y, rel_tol=1e-12) for x, y in zip(g.answer, expected))
    assert f"case {k}" in g.prompt and str(a[0][0]) in g.prompt


@settings(max_examples=80, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_normalized_value_answer(seed):
    q = TOPIC.exercise("ln_normalized_value")
    g = generate(TOPIC, q, seed)
    a, eps, j = g.data["a"], g.data["eps"], g.data["j"]
    expected = (a[j - 1] - statistics.fmean(a)) / math.sqrt(statistics.pvariance(a) + eps)
    assert math.isclose(g.answer[0], expected, rel_tol=1e-12, abs_tol=1e-12)
