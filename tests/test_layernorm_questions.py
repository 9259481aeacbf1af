"""The layernorm numeric questions: answers recomputed independently, for many seeds."""

from __future__ import annotations

import math
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import default_catalog
from normquiz.questions import generate, grade_numeric

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


@settings(max_examples=30, derandomize=True, deadline=None)
@given(seed=SEEDS)
def test_each_numeric_mistake_is_diagnosed_as_itself(seed):
    for q in TOPIC.questions:
        if q.kind != "numeric":
            continue
        g = generate(TOPIC, q, seed)
        right = grade_numeric(q, g, g.answer[0] if g.scalar else g.answer)
        assert right.status == "passed" and right.score == q.points
        for mistake, value in g.mistakes.items():
            result = grade_numeric(q, g, value[0] if g.scalar else value)
            assert result.status == "failed" and result.mistakes == [mistake]
