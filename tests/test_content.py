"""The shipped content, exercise by exercise: like rustlings' `dev check`.

For every code exercise the reference passes and the blank stub scores 0,
under several grader seeds (the checks' random inputs). That every catalogued
mistake fails and is diagnosed as itself and only itself, under those seeds
too, is tested in tests/test_grader_seeds.py.
"""

from __future__ import annotations

import inspect
import math
import re

import pytest
from helpers import GRADER_SEEDS
from hypothesis import given, settings
from hypothesis import strategies as st

from normquiz.content import (
    ChoiceQuestion,
    NumericQuestion,
    default_catalog,
    load_mistakes,
    mistake_function_name,
)
from normquiz.grading import grade_code, new_sandbox
from normquiz.questions import generate
from normquiz.selfcheck import reference_source, stub_source, write_submission

# The ids that errata.md's table says every release must recognize.
REQUIRED_MISTAKES = {
    "layernorm_forward": {"wrong-axis", "whole-tensor", "unbiased-variance", "eps-outside-sqrt",
                          "divides-by-variance", "eps-ignored", "no-centering",
                          "missing-gain-bias", "gain-bias-misapplied", "mutates-input",
                          "unstable-variance", "per-sequence-statistics"},
    "layernorm_backward": {"constant-statistics", "missing-variance-path", "missing-mean-path",
                           "gain-not-in-dx", "batch-axis-means", "dgain-uses-x",
                           "param-grads-wrong-axis"},
    "layernorm_rnn_step": {"no-activation", "activation-before-norm", "transposed-weights"},
    "batchnorm_forward": {"wrong-axis", "whole-tensor", "unbiased-variance", "eps-outside-sqrt",
                          "divides-by-variance", "eps-ignored", "missing-gain-bias",
                          "gain-bias-misapplied", "mutates-input"},
    "batchnorm_update_running": {"biased-running-var", "momentum-swapped"},
    "batchnorm_inference": {"uses-batch-stats", "eps-outside-sqrt", "missing-gain-bias"},
    "weightnorm_forward": {"norm-wrong-axis", "frobenius-norm", "no-normalization",
                           "squared-norm", "missing-gain", "bias-inside", "centers-weights"},
    "groupnorm_forward": {"interleaved-groups", "mean-of-channel-variances", "instance-norm",
                          "batch-pooled", "gain-per-group", "unbiased-variance",
                          "eps-outside-sqrt"},
}

CATALOG = default_catalog()
TOPICS = CATALOG.topics()
CODE = [(t, e) for t in TOPICS for e in t.code_exercises]


def ids(items):
    return [":".join(getattr(x, "slug", getattr(x, "id", x)) for x in item) for item in items]


def test_the_six_topics_in_order():
    assert CATALOG.slugs == ["expectation", "batchnorm", "layernorm", "weightnorm", "invariance",
                             "groupnorm"]


@pytest.mark.parametrize("exercise_id, required", sorted(REQUIRED_MISTAKES.items()))
def test_every_catalogued_mistake_is_declared(exercise_id, required):
    _, exercise = CATALOG.find_exercise(exercise_id)
    assert required <= {m.id for m in exercise.mistakes}


@pytest.mark.parametrize("topic, exercise", CODE, ids=ids(CODE))
def test_mistake_module_matches_the_manifest(topic, exercise):
    module = load_mistakes(topic, exercise.id)
    declared = {mistake_function_name(m.id) for m in exercise.mistakes}
    defined = {n for n, f in vars(module).items()
               if inspect.isfunction(f) and f.__module__ == module.__name__
               and not n.startswith("_")}
    assert declared == defined
    assert len(module.PROBES) >= 1


@pytest.mark.parametrize("topic, exercise", CODE, ids=ids(CODE))
def test_stub_has_todos_and_the_contract(topic, exercise):
    source = stub_source(topic)
    assert "# TODO" in source
    assert f"def {exercise.function}(" in source
    reference = reference_source(topic)
    assert f"def {exercise.function}(" in reference


def grade_under_every_seed(topic, module):
    """(grader seed, results of all code exercises) for each of GRADER_SEEDS, in one worker."""
    sandbox = new_sandbox(topic, module)
    try:
        return [(seed, grade_code(topic, module, topic.code_exercises, sandbox=sandbox,
                                  grader_seed=seed)) for seed in GRADER_SEEDS]
    finally:
        sandbox.stop()


@pytest.mark.parametrize("topic", [t for t in TOPICS if t.code_exercises], ids=lambda t: t.slug)
def test_reference_passes_and_stub_scores_zero(topic, tmp_path):
    module = write_submission(tmp_path, topic, reference_source(topic))
    for seed, results in grade_under_every_seed(topic, module):
        for r in results:
            assert r.status == "passed", (seed, r.feedback)
            assert r.score == r.max_score
    module.write_text(stub_source(topic))
    for seed, results in grade_under_every_seed(topic, module):
        for r in results:
            assert r.status == "unanswered" and r.score == 0, (seed, r.feedback)


QUESTIONS = [(t, q) for t in TOPICS for q in t.questions]
NUMERIC = [(t, q) for t, q in QUESTIONS if isinstance(q, NumericQuestion)]


@pytest.mark.parametrize("topic, question", QUESTIONS, ids=ids(QUESTIONS))
def test_questions_are_complete(topic, question):
    assert question.hints and question.explanation
    if isinstance(question, ChoiceQuestion):
        assert all(o.feedback for o in question.options)


@pytest.mark.parametrize("topic, question", NUMERIC, ids=ids(NUMERIC))
@settings(max_examples=60, derandomize=True, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_numeric_mistakes_are_distinguishable(topic, question, seed):
    g = generate(topic, question, seed)
    assert g == generate(topic, question, seed)  # the same seed, the same question
    assert set(g.mistakes) == {m.id for m in question.mistakes}
    assert all(math.isfinite(a) for a in g.answer)
    values = [g.answer, *g.mistakes.values()]
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            gap = max(abs(x - y) for x, y in zip(a, b))
            assert gap > 10 * question.tolerance, (g.data, values)


DEMOS = [(t, e) for t in TOPICS for e in t.exercises if e.demonstration]


@pytest.mark.parametrize("topic, exercise", DEMOS, ids=ids(DEMOS))
def test_demonstrations_run(topic, exercise):
    from normquiz.questions import demonstrate

    assert demonstrate(topic, exercise).strip()


def test_plain_math_examples():
    from normquiz.questions import plain_math

    assert plain_math(r"the value $\hat{x}_j$ of unit j") == "the value x̂_j of unit j"
    assert plain_math(r"$\mu = \frac{1}{H} \sum_i a_i$") == "μ = 1/H Σ_i a_i"
    assert plain_math(r"$\sqrt{\sigma^2 + \epsilon}$") == "√(σ² + ε)"
    assert plain_math(r"$w_i^\top x$") == "w_iᵀ x"


ALL = [(t, e) for t in TOPICS for e in t.exercises]


@pytest.mark.parametrize("topic, exercise", ALL, ids=ids(ALL))
def test_terminal_text_has_no_latex_left(topic, exercise):
    from normquiz.questions import plain_math, prompt_for

    texts = [exercise.explanation, *exercise.hints, *(m.feedback for m in getattr(
        exercise, "mistakes", []))]
    texts += [o.feedback for o in getattr(exercise, "options", [])]
    texts.append(prompt_for(topic, exercise, 1, plain=True) if exercise.is_question else "")
    for text in texts:
        shown = plain_math(text)
        assert not re.search(r"\\[A-Za-z]+|\$[^$\s]", shown), shown


@pytest.mark.parametrize("topic, question", NUMERIC, ids=ids(NUMERIC))
@settings(max_examples=30, derandomize=True, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_numeric_mistakes_are_diagnosed_as_themselves(topic, question, seed):
    from normquiz.questions import grade_numeric

    g = generate(topic, question, seed)
    right = grade_numeric(question, g, g.answer[0] if g.scalar else g.answer)
    assert right.status == "passed" and right.score == question.points
    for mistake, value in g.mistakes.items():
        result = grade_numeric(question, g, value[0] if g.scalar else value)
        assert result.status == "failed" and result.mistakes == [mistake], (mistake, g.data)
        assert question.mistake(mistake).title in result.feedback
