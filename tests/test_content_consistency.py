"""Consistency of the content across topics: one meaning per mistake id, list answers
that give no part away, notation, wording, and the imprecisions issue 10 lists.

Each test names the rule it guards; the numbers behind the questions are
recomputed in the tests/test_*_numbers.py files and in tests/test_new_questions.py.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from normquiz.content import ChoiceQuestion, NumericQuestion, default_catalog
from normquiz.questions import generate, plain_math
from normquiz.selfcheck import stub_source

CATALOG = default_catalog()
TOPICS = CATALOG.topics()
EVERYTHING = [(t, e) for t in TOPICS for e in t.exercises]


def texts_of(exercise) -> list[str]:
    """Every text of a manifest a learner can see."""
    texts = [exercise.title, exercise.prompt, exercise.explanation, *exercise.hints]
    for m in getattr(exercise, "mistakes", []):
        texts += [m.title, m.feedback]
    for o in getattr(exercise, "options", []):
        texts += [o.text, o.feedback]
    return texts


# ---------------------------------------------------------------- item 4: one meaning per id

# The register of mistake ids: what each one means, and where it is used. The roster
# ranks mistakes across exercises by id, so an id must mean the same slip everywhere;
# a new use of an id (or a new id) is added here, next to its meaning, on purpose.
MEANINGS = {
    "activation-before-norm": ("the non-linearity applied before the normalization",
                               {"layernorm_rnn_step"}),
    "averaged-weighted-terms": ("the products p·a averaged instead of added",
                                {"exp_weighted_mean"}),
    "batch-axis-means": ("layer norm's backward pass with means over the batch axis",
                         {"layernorm_backward"}),
    "batch-is-the-distribution": ("the mini-batch taken for P(x) itself, its mean for μ_i",
                                  {"exp_what_is_p"}),
    "batch-pooled": ("group or instance statistics pooled over the samples of the batch",
                     {"gn_group_stats", "gn_instance_norm", "gn_one_group", "gn_small_batches",
                      "groupnorm_forward"}),
    "between-ln-and-bn": ("group norm placed between layer norm and batch norm",
                          {"gn_between", "gn_combining_bn_ln"}),
    "bias-dropped": ("the bias left out of the output", {"bn_output", "exp_std_after_gain"}),
    "bias-inside": ("weight norm's bias added before the division by the norm",
                    {"weightnorm_forward", "wn_unit_output"}),
    "biased-running-var": ("the running variance updated with the 1/N batch variance",
                           {"batchnorm_update_running"}),
    "centers-weights": ("each weight vector's mean subtracted (centred weight normalization)",
                        {"weightnorm_forward", "wn_shared_form"}),
    "constant-statistics": ("μ and σ treated as constants in the backward pass",
                            {"layernorm_backward"}),
    "deviations-not-squared": ("the deviations from the mean averaged without squaring",
                               {"exp_variance_meaning"}),
    "dgain-uses-x": ("dgain built from x instead of x̂", {"layernorm_backward"}),
    "divides-by-variance": ("normalized by dividing by the variance instead of σ",
                            {"batchnorm_forward", "bn_output", "exp_divide_by",
                             "layernorm_forward", "ln_normalized_value"}),
    "eps-ignored": ("ε left out of the normalization",
                    {"batchnorm_forward", "layernorm_forward", "ln_normalized_value",
                     "ln_single_unit"}),
    "eps-outside-sqrt": ("ε added to σ instead of to the variance",
                         {"batchnorm_forward", "batchnorm_inference", "bn_why_eps",
                          "exp_normalized_std", "groupnorm_forward", "layernorm_forward",
                          "ln_normalized_value"}),
    "expectation-is-sum": ("the expectation taken as a sum, not an average",
                           {"exp_batch_mean", "exp_expectation_meaning"}),
    "frobenius-norm": ("one norm for the whole weight matrix instead of one per unit",
                       {"weightnorm_forward", "wn_shared_form", "wn_unit_output"}),
    "gain-bias-misapplied": ("gain and bias swapped, broadcast per case, or the bias scaled",
                             {"batchnorm_forward", "layernorm_forward"}),
    "gain-not-in-dx": ("the gain left out of dx", {"layernorm_backward"}),
    "gain-per-group": ("one gain and bias per group instead of per channel",
                       {"groupnorm_forward"}),
    "instance-norm": ("statistics per channel where group norm pools a group",
                      {"gn_one_group", "groupnorm_forward"}),
    "interleaved-groups": ("every G-th channel grouped instead of consecutive channels",
                           {"gn_group_stats", "groupnorm_forward"}),
    "large-batch-averaging": ("BN's edge credited to averaging over large batches (notes)",
                              {"ln_convnets"}),
    "ln-data-recentering-invariant": ("layer norm taken to be invariant to data re-centering",
                                      {"inv_ln_data_shift", "inv_ln_dataset_recentering"}),
    "ln-limited-data": ("layer norm said to generalize better on little data (notes)",
                        {"ln_limited_data"}),
    "ln-recentering-not-invariant": ("layer norm taken not to be invariant to weight "
                                     "re-centering (the notes' cᵀ(x − 1) formula)",
                                     {"inv_ln_weight_recentering", "inv_ln_weight_scale_shift",
                                      "inv_ln_weight_shift"}),
    "mean-abs-deviation": ("the mean absolute deviation given for σ",
                           {"bn_feature_std", "exp_divide_by", "exp_unit_std",
                            "exp_variance_meaning", "ln_sample_stats"}),
    "mean-of-channel-variances": ("a group's variance as the mean of its channels' variances",
                                  {"gn_group_stats", "groupnorm_forward"}),
    "misnamed-author": ("the first author named 'Lei Bai' (notes)", {"ln_authors"}),
    "missing-gain": ("weight norm's gain left out", {"weightnorm_forward", "wn_unit_output"}),
    "missing-gain-bias": ("gain and bias not applied",
                          {"batchnorm_forward", "batchnorm_inference", "layernorm_forward"}),
    "missing-mean-path": ("the path through μ missing from dx", {"layernorm_backward"}),
    "missing-variance-path": ("the path through σ missing from dx", {"layernorm_backward"}),
    "momentum-swapped": ("the momentum used as the old value's weight",
                         {"batchnorm_update_running"}),
    "mutates-input": ("an input modified in place",
                      {"batchnorm_forward", "batchnorm_inference", "batchnorm_update_running",
                       "layernorm_forward"}),
    "negative-scale-cancels": ("a negative scale factor taken to cancel like a positive one",
                               {"inv_negative_scale", "wn_negative_scale"}),
    "no-activation": ("the non-linearity not applied", {"layernorm_rnn_step"}),
    "no-centering": ("no mean subtracted (RMSNorm)", {"layernorm_forward"}),
    "no-normalization": ("weight norm without the division by the norm",
                         {"weightnorm_forward", "wn_unit_output"}),
    "norm-wrong-axis": ("weight norms taken per column instead of per unit",
                        {"weightnorm_forward", "wn_unit_output"}),
    "normalizes-neuron-inputs": ("layer norm applied to one neuron's inputs (notes' image "
                                 "example)", {"ln_image_example"}),
    "normalizing-inputs-suffices": ("normalizing the input taken to give the weight "
                                    "invariances", {"inv_input_normalization"}),
    "param-grads-wrong-axis": ("dgain and dbias not summed over the leading axes",
                               {"layernorm_backward"}),
    "per-sequence-statistics": ("statistics over a whole sequence instead of per time step",
                                {"layernorm_forward", "ln_eq4_notation", "ln_no_batch_constraint",
                                 "ln_rnn_sequence_length", "ln_step_normalized"}),
    "rnn-varying-batch-size": ("'varying batch sizes' as the reason LN suits RNNs (notes)",
                               {"ln_rnn_sequence_length"}),
    "sample-std": ("a standard deviation given or measured with N − 1 where the 1/N one is "
                   "meant", {"bn_feature_std", "exp_normalized_std", "exp_std_after_normalizing",
                            "exp_std_with_eps", "exp_unit_std", "gn_group_stats",
                            "ln_sample_stats"}),
    "sample-variance": ("a variance given with N − 1 where the 1/N one is meant",
                        {"exp_unit_variance"}),
    "scale-does-not-matter": ("invariance of the output taken to make training independent of "
                              "the weights' scale", {"wn_effective_learning_rate"}),
    "smoother-landscape": ("a smoother loss landscape given as the paper's motivation for BN",
                           {"bn_motivation"}),
    "squared-norm": ("divided by the squared norm", {"weightnorm_forward", "wn_unit_output"}),
    "statistics-over-time": ("statistics of one unit over the time steps",
                             {"ln_step_normalized"}),
    "std-always-one": ("the normalized std taken to be exactly 1",
                       {"exp_constant_feature", "exp_normalized_std", "exp_std_after_gain",
                        "exp_std_after_normalizing"}),
    "std-not-variance": ("the standard deviation given for the variance", {"exp_unit_variance"}),
    "transposed-weights": ("the RNN's weight matrices not transposed for row vectors",
                           {"layernorm_rnn_step"}),
    "unbiased-variance": ("normalized with the N − 1 variance instead of the 1/N one",
                          {"batchnorm_forward", "bn_output", "exp_divide_by",
                           "exp_n_or_n_minus_1", "exp_std_measured_n_minus_1",
                           "groupnorm_forward", "inv_ln_data_shift", "inv_ln_weight_scale_shift",
                           "inv_ln_weight_shift", "layernorm_forward", "ln_normalized_value",
                           "ln_step_normalized"}),
    "unstable-variance": ("the one-pass variance E[x²] − E[x]²", {"layernorm_forward"}),
    "unweighted-mean": ("the values averaged without their probabilities",
                        {"exp_expectation_meaning", "exp_weighted_mean"}),
    "uses-batch-stats": ("batch statistics used at inference",
                         {"batchnorm_inference", "bn_train_vs_inference"}),
    "variance-not-std": ("the variance given where the standard deviation is asked",
                         {"bn_feature_std", "exp_normalized_std", "exp_std_after_gain",
                          "exp_unit_std", "gn_group_stats", "ln_sample_stats"}),
    "whole-tensor": ("one mean and variance for the whole array",
                     {"batchnorm_forward", "layernorm_forward", "ln_axis"}),
    "wn-dataset-rescaling-invariant": ("weight norm taken to be invariant to data re-scaling",
                                       {"inv_wn_dataset_rescaling"}),
    "wrong-axis": ("statistics over the other method's set: the batch for layer norm, the "
                   "units of a case for batch norm",
                   {"batchnorm_forward", "bn_batch_size_one", "bn_train_vs_inference",
                    "bn_what_is_px", "layernorm_forward", "ln_axis", "ln_eq4_notation",
                    "ln_image_example", "ln_no_difference", "ln_single_unit"}),
    "wrong-orientation": ("a row of the shown matrix where a column is meant, or the reverse",
                          {"bn_feature_std", "exp_batch_mean", "exp_unit_std",
                           "exp_unit_variance", "ln_sample_stats"}),
}


def mistake_uses() -> dict[str, set[str]]:
    uses: dict[str, set[str]] = defaultdict(set)
    for _, e in EVERYTHING:
        if isinstance(e, ChoiceQuestion):
            for o in e.options:
                if o.mistake:
                    uses[o.mistake].add(e.id)
        else:
            for m in e.mistakes:
                uses[m.id].add(e.id)
    return uses


def test_every_mistake_id_is_registered_with_one_meaning():
    uses = mistake_uses()
    unregistered = sorted(set(uses) - set(MEANINGS))
    assert not unregistered, f"mistake ids without a meaning in MEANINGS: {unregistered}"
    assert not sorted(set(MEANINGS) - set(uses)), "MEANINGS lists ids no exercise uses"
    for mistake_id, (_, where) in MEANINGS.items():
        assert uses[mistake_id] == where, (
            f"'{mistake_id}' ({MEANINGS[mistake_id][0]}) is used in {sorted(uses[mistake_id])}; "
            f"the register says {sorted(where)}")


def test_the_variance_slips_have_ids_of_their_own():
    # issue 10, item 4: an N - 1 variance is not 'sample-std', and dividing by the
    # variance is 'divides-by-variance' in the question as in layernorm_forward.
    q = CATALOG.find_exercise("exp_unit_variance")[1]
    assert "sample-variance" in {m.id for m in q.mistakes}
    assert "sample-std" not in {m.id for m in q.mistakes}
    q = CATALOG.find_exercise("ln_normalized_value")[1]
    assert {"divides-by-variance", "unbiased-variance"} <= {m.id for m in q.mistakes}
    assert not {"variance-not-std", "sample-std"} & {m.id for m in q.mistakes}


@pytest.mark.parametrize("topic, question", [
    (t, q) for t, q in EVERYTHING if isinstance(q, NumericQuestion)], ids=lambda x: getattr(
        x, "id", getattr(x, "slug", "")))
def test_numeric_ids_compute_what_they_mean(topic, question):
    """The std / variance ids, checked against the right answer of the same instance."""
    for seed in range(20):
        g = generate(topic, question, seed)
        if not g.scalar:
            continue
        right = g.answer[0]
        if "variance-not-std" in g.mistakes and "std" in question.answer_format:
            assert g.mistakes["variance-not-std"][0] == pytest.approx(right ** 2)
        if "std-not-variance" in g.mistakes:
            assert g.mistakes["std-not-variance"][0] == pytest.approx(np.sqrt(right))
        if "sample-variance" in g.mistakes:  # n / (n - 1) times the 1/N variance
            n = g.data["n"]
            assert g.mistakes["sample-variance"][0] == pytest.approx(right * n / (n - 1))
        if "sample-std" in g.mistakes and question.answer_format in ("sigma", "std of x_hat"):
            n = g.data["n"]
            assert g.mistakes["sample-std"][0] == pytest.approx(right * np.sqrt(n / (n - 1)))


# ---------------------------------------------------------------- item 9: list answers

LISTS = [(t, q) for t, q in EVERYTHING if isinstance(q, NumericQuestion)
         and q.answer_format.startswith("[")]
# Parts a mistake computes the right way by design: the μ of a [mu, sigma] answer whose
# slip is in σ. They must be exactly right (the same computation), never close by chance.
SHARED_BY_DESIGN = {
    ("ln_sample_stats", "sample-std"): {0}, ("ln_sample_stats", "variance-not-std"): {0},
    ("ln_sample_stats", "mean-abs-deviation"): {0},
    ("gn_group_stats", "sample-std"): {0}, ("gn_group_stats", "variance-not-std"): {0},
    ("gn_group_stats", "mean-of-channel-variances"): {0},
}


@pytest.mark.parametrize("topic, question", LISTS, ids=[q.id for _, q in LISTS])
def test_no_wrong_method_is_right_in_any_part(topic, question):
    gap = 10 * question.tolerance
    for seed in range(400):
        g = generate(topic, question, seed)
        for mistake, values in g.mistakes.items():
            shared = SHARED_BY_DESIGN.get((question.id, mistake), set())
            for i, (got, right) in enumerate(zip(values, g.answer)):
                if i in shared:
                    assert got == pytest.approx(right, abs=1e-12), (seed, mistake, i)
                else:
                    assert abs(got - right) > gap, (seed, mistake, i, g.data)


def test_every_list_question_is_checked():
    assert {q.id for _, q in LISTS} == {"bn_feature_std", "bn_output", "ln_sample_stats",
                                        "gn_group_stats", "inv_ln_weight_shift",
                                        "inv_ln_weight_scale_shift"}


# ---------------------------------------------------------------- item 8: Eq. 4 in a terminal


def test_braced_scripts_keep_their_extent():
    assert plain_math(r"$a^t = W_{hh} h^{t-1} + W_{xh} x^t$") == "a^t = W_hh h^(t-1) + W_xh x^t"
    assert plain_math(r"$\sum_{n=1}^{N} a_i^{(n)}$") == "Σ_(n=1)^N a_i^(n)"
    assert plain_math(r"$\sigma^{2}$ and $w_i^\top x$") == "σ² and w_iᵀ x"


def test_eq4_is_rendered_with_h_t_minus_1():
    rnn = CATALOG.find_exercise("layernorm_rnn_step")[1]
    for text in (rnn.prompt, rnn.explanation):
        shown = plain_math(text)
        assert "h^(t-1)" in shown and "h^t-1" not in shown
    eq4 = CATALOG.find_exercise("ln_eq4_notation")[1]
    assert "W_hh h^(t-1) + W_xh x^t" in plain_math(eq4.prompt)


# ---------------------------------------------------------------- the backward stub


def test_backward_stub_leaves_the_derivation_to_the_learner():
    topic, exercise = CATALOG.find_exercise("layernorm_backward")
    source = stub_source(topic)
    stub = source[source.index("def layernorm_backward"):source.index("def layernorm_rnn_step")]
    for formula in ("mean(dx_hat", "x_hat * mean", "dx    =", "sum of dy * x_hat"):
        assert formula not in stub, formula
    formula = "dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)"
    assert formula in " ".join(exercise.hints[-1].split())
    assert not any(formula in " ".join(h.split()) for h in exercise.hints[:-1])
    assert r"d\hat{x} - \mathrm{mean}(d\hat{x}) - \hat{x} \cdot" in exercise.explanation


def test_the_last_hint_gives_the_reference_gradient():
    # The formula the hint states, computed as written, against central differences.
    rng = np.random.default_rng(3)
    x, gain, dy, eps = rng.normal(size=(3, 5)), rng.uniform(0.5, 2, 5), rng.normal(size=(3, 5)), 0.1

    def loss(x):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return float(np.sum(dy * gain * (x - mu) / np.sqrt(var + eps)))

    s = np.sqrt(x.var(-1, keepdims=True) + eps)
    x_hat, dx_hat = (x - x.mean(-1, keepdims=True)) / s, dy * gain
    dx = (dx_hat - dx_hat.mean(-1, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(-1, keepdims=True)) / s
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = 1e-6
        numeric[idx] = (loss(x + step) - loss(x - step)) / 2e-6
    np.testing.assert_allclose(dx, numeric, atol=1e-6)


# ---------------------------------------------------------------- item 6: sentence case

_IDENTIFIERS = {"pandas", "numpy", "np", "torch", "ddof", "keepdims", "dgain", "dbias", "dx",
                "tanh", "softmax"}
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|cf)\.|§\d+(?:\.\d+)*\.?)$")


def lowercase_sentence_starts(text: str) -> list[str]:
    """Sentences (and paragraphs) that start with a lower-case word rather than a symbol."""
    text = re.sub(r'"[^"]*"|“[^”]*”', '""', text)  # quotations keep their own case
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if lines and all(line.startswith("    ") for line in lines):
            continue  # an indented code block
        flat = " ".join(paragraph.split())
        starts = [] if not flat or flat[0] in "-*`$|" else [0]
        starts += [m.end() for m in re.finditer(r"[.!?]\)?\s+(?=\S)", flat)
                   if not _ABBREVIATION.search(flat[:m.start() + 1])]
        for start in starts:
            rest = flat[start:]
            word = re.match(r"[^\W\d_]+", rest)
            if not word or not word.group(0)[0].islower() or word.group(0) in _IDENTIFIERS:
                continue
            if rest[len(word.group(0)):][:1] in tuple("_′(ᵀ'`^\u0302"):
                continue  # a symbol: a_i, x′, f(...), x̂
            if len(word.group(0)) == 1 and not re.match(r"a [a-z]", rest):
                continue  # a one-letter symbol, not the article "a"
            found.append(rest[:60])
    return found


@pytest.mark.parametrize("topic, exercise", EVERYTHING, ids=[e.id for _, e in EVERYTHING])
def test_sentences_start_with_a_capital(topic, exercise):
    bad = [hit for text in texts_of(exercise) for hit in lowercase_sentence_starts(text)]
    assert not bad, bad


def test_the_sentence_check_catches_what_it_should():
    assert lowercase_sentence_starts("It holds. the reference experiment: 4.26.")
    assert lowercase_sentence_starts("It holds.\n\na small example: W = 1.")
    assert not lowercase_sentence_starts("It holds. f is applied. a_i′ = a_i. pandas is 1.")
    assert not lowercase_sentence_starts('They ask "does it? or not?" Then.')


# ---------------------------------------------------------------- items 1, 2, 3, 5, 7, 10, 11


def test_bn_at_batch_size_one_outputs_the_bias_only_with_eps():
    # item 1: under the prompt's eps = 0 the output is 0/0 = NaN; it is b only with eps > 0.
    q = CATALOG.find_exercise("inv_bn_single_case_rescaling")[1]
    text = " ".join(q.explanation.split())
    assert "ε = 0" in q.prompt and "NaN" in text
    for sentence in re.split(r"(?<=\.) ", text):
        if "outputs the bias" in sentence:
            assert "ε > 0" in sentence, sentence
    a = np.array([[5.0, 7.0]])  # one case: every feature's variance is 0
    with np.errstate(invalid="ignore"):
        assert np.all(np.isnan((a - a.mean(0)) / a.std(0)))
    b = np.array([-1.0, 4.0])
    np.testing.assert_array_equal((a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5) + b, [b])


WEIGHT_NORM_TEXTS = [(t, e) for t, e in EVERYTHING
                     if t.slug == "weightnorm" or e.id.startswith("inv_wn_")]


@pytest.mark.parametrize("topic, exercise", WEIGHT_NORM_TEXTS,
                         ids=[e.id for _, e in WEIGHT_NORM_TEXTS])
def test_weight_norm_notation_is_v_and_w_equals_g_v_over_norm_v(topic, exercise):
    # item 2: v_i is the unnormalized vector, w_i = g_i v_i / ||v_i|| the effective weights,
    # so sigma_i = ||v_i||, never ||w_i|| (which is |g_i|).
    for text in texts_of(exercise):
        flat = plain_math(" ".join(text.split()))
        assert not re.search(r"σ(_i)?\s*=\s*‖w", flat), flat
        assert not re.search(r"/\s*‖w", flat), flat
        assert not re.search(r"a_i = w_i", flat), flat  # the summed input uses v_i


def test_sigma_is_the_norm_of_v_everywhere():
    for _, e in EVERYTHING:
        for text in texts_of(e):
            assert not re.search(r"σ(_i)?\s*=\s*‖w", plain_math(text)), (e.id, text)
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `weightnorm`"))
    assert "σ = ‖v‖" in row and "‖w‖" not in row


def test_centred_weight_normalization_is_named_right():
    # item 3: subtracting each row's mean before dividing by the norm is centred weight
    # normalization; weight standardization divides by the std and is not what is meant.
    for _, e in EVERYTHING:
        for text in texts_of(e):
            assert "standardization" not in text.lower(), e.id
    for _, e in EVERYTHING:
        feedback = [m.feedback for m in getattr(e, "mistakes", []) if m.id == "centers-weights"]
        feedback += [o.feedback for o in getattr(e, "options", [])
                     if o.mistake == "centers-weights"]
        for text in feedback:
            assert "centred weight normalization" in " ".join(text.split()), e.id


def test_the_shared_form_distractor_is_centred_weight_normalization():
    # The option computes (v - mean(v))^T x / ||v - mean(v)||, as it says it does.
    q = CATALOG.find_exercise("wn_shared_form")[1]
    option = next(o for o in q.options if o.mistake == "centers-weights")
    assert "v̄_i · Σ_j x_j" in option.text and "‖v_i − v̄_i‖₂" in option.text
    rng = np.random.default_rng(5)
    v, x = rng.normal(size=4), rng.normal(size=4)
    centred = v - v.mean()
    mu, sigma = v.mean() * x.sum(), np.linalg.norm(centred)
    assert (v @ x - mu) / sigma == pytest.approx(centred @ x / np.linalg.norm(centred))


def test_one_numbering_and_one_meaning_per_letter():
    # item 5: channels counted from 0 in the whole groupnorm topic (as in its code
    # exercise and grader); H is hidden units, never a height; D is inputs; gamma is
    # the re-centering vector, never a gain.
    gn = CATALOG.topic("groupnorm")
    assert "{0, 1}" in gn.exercise("groupnorm_forward").prompt
    assert "numbered from 0" in gn.exercise("gn_group_stats").prompt
    for seed in range(30):
        g = generate(gn, gn.exercise("gn_group_stats"), seed)
        assert 0 <= g.data["n"] <= 1 and 0 <= g.data["k"] < g.data["g"]
        assert "Sample 0:" in g.prompt and "Sample 1:" in g.prompt
    for _, e in EVERYTHING:
        for text in texts_of(e):
            flat = " ".join(text.split())
            assert not re.search(r"\(N, C, H, W\)|\(C, H, W\)|H·W|H × W", flat), e.id
            assert not re.search(r"D units|D = \{\{n\}\} hidden units|gain[^.]*shape \(D,\)",
                                 flat), e.id
            assert not re.search(r"gain γ|γ = 1 and bias", flat), e.id
    stub = stub_source(gn)
    assert "(N, C, H, W)" not in stub


def test_the_notes_formula_is_quoted_with_its_data():
    # item 7: [0, 0.7746, 1.5492] means nothing without the W, x and c that give it.
    for _, e in EVERYTHING:
        for text in texts_of(e):
            flat = " ".join(text.split())
            if "[0, 0.7746, 1.5492]" in flat:
                assert "W = [[1, 0], [0, 1], [1, 1]]" in flat and "x = [1, 2]" in flat, e.id
                assert re.search(r"(c|γ) = \[1, 1\]", flat), e.id


def test_batch_instance_normalization_mixes_outputs():
    # item 10: Switchable Normalization mixes statistics; Batch-Instance Normalization
    # mixes the normalized outputs through a learned gate.
    q = CATALOG.find_exercise("gn_combining_bn_ln")[1]
    flat = " ".join(" ".join(texts_of(q)).split())
    # What is said of each method: from its name to the end of the clause.
    said_of_bin = re.findall(r"Batch-Instance Normalization[^.;]*", flat)
    said_of_sn = re.findall(r"Switchable Normalization[^.;]*?(?=, and Batch-Instance|[.;])", flat)
    assert said_of_bin and said_of_sn
    for clause in said_of_bin:
        assert "output" in clause and "gate" in clause, clause
        assert "statistics" not in clause.replace("not statistics", ""), clause
    for clause in said_of_sn:
        assert "statistics" in clause or "means and variances" in clause, clause
    # The difference, in numbers: a gated mix of the two normalized outputs is not the
    # normalization with mixed statistics. x is (N, C, L); BN's statistics are per
    # channel over (N, L), IN's per sample and channel over L.
    x = np.random.default_rng(2).normal(size=(3, 2, 4)) * [[[1.0], [3.0]]]
    stats = {"bn": (x.mean((0, 2), keepdims=True), x.var((0, 2), keepdims=True)),
             "in": (x.mean(2, keepdims=True), x.var(2, keepdims=True))}
    rho = 0.3
    outputs_mixed = sum(w * (x - mu) / np.sqrt(var) for w, (mu, var) in
                        zip((rho, 1 - rho), stats.values()))  # Batch-Instance
    mu = rho * stats["bn"][0] + (1 - rho) * stats["in"][0]  # Switchable (BN and IN only)
    var = rho * stats["bn"][1] + (1 - rho) * stats["in"][1]
    assert np.abs(outputs_mixed - (x - mu) / np.sqrt(var)).max() > 0.01


def test_eps_keeps_the_division_finite_and_the_numerator_makes_x_hat_zero():
    # item 11.
    q = CATALOG.find_exercise("bn_why_eps")[1]
    right = next(o for o in q.options if o.correct)
    text = " ".join(right.text.split())
    assert "numerator" in text and not re.search(r"which makes x̂ = 0", text)
    a = np.array([2.0, 2, 2, 2])
    assert np.all(a - a.mean() == 0)
    assert np.sqrt(a.var() + 0.001) > 0


# ---------------------------------------------------------------- item 12: distinct questions


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, " ".join(a.lower().split()),
                                   " ".join(b.lower().split())).ratio()


def test_questions_have_distinct_titles_and_answers():
    titles = [e.title for _, e in EVERYTHING]
    assert len(titles) == len(set(titles))
    answers = [" ".join(next(o for o in q.options if o.correct).text.split())
               for _, q in EVERYTHING if isinstance(q, ChoiceQuestion)
               and not re.fullmatch(r"inv_(bn|wn|ln)_\w+", q.id)]  # Table 1 repeats its three
    assert len(answers) == len(set(answers))


def test_what_is_p_is_asked_once():
    # exp_what_is_p and bn_what_is_px used to be one question with the same four answers.
    a = CATALOG.find_exercise("exp_what_is_p")[1]
    b = CATALOG.find_exercise("bn_what_is_px")[1]
    assert max(_similarity(x.text, y.text) for x in a.options for y in b.options) < 0.5
    assert "[4, 6, 8, 10] and [5, 9, 9, 13]" in " ".join(a.prompt.split())


def _examples(text: str) -> set[str]:
    return set(re.findall(r"\[[^\[\]]*\d[^\[\]]*\]", " ".join(text.split())))


def test_the_batch_size_one_questions_use_different_examples():
    bn = CATALOG.find_exercise("bn_batch_size_one")[1]
    ln = CATALOG.find_exercise("ln_batch_size_one")[1]
    shared = _examples(" ".join(texts_of(bn))) & _examples(" ".join(texts_of(ln)))
    assert not shared, shared


# ---------------------------------------------------------------- the new questions exist

NEW = {
    # question: (topic, the mistake id its notes-based wrong option carries, or None)
    "ln_rnn_sequence_length": ("layernorm", "rnn-varying-batch-size"),
    "ln_eq4_notation": ("layernorm", None),
    "ln_step_normalized": ("layernorm", None),
    "ln_gain_magnitude": ("layernorm", None),
    "ln_convnets": ("layernorm", "large-batch-averaging"),
    "ln_limited_data": ("layernorm", "ln-limited-data"),
    "ln_image_example": ("layernorm", "normalizes-neuron-inputs"),
    "ln_single_unit": ("layernorm", None),
    "ln_authors": ("layernorm", "misnamed-author"),
    "bn_motivation": ("batchnorm", "smoother-landscape"),
    "bn_attribution": ("batchnorm", None),
    "inv_input_normalization": ("invariance", "normalizing-inputs-suffices"),
    "inv_ln_weight_scale_shift": ("invariance", "ln-recentering-not-invariant"),
    "inv_negative_scale": ("invariance", "negative-scale-cancels"),
}


@pytest.mark.parametrize("question_id", sorted(NEW))
def test_new_question_is_in_its_topic(question_id):
    slug, mistake = NEW[question_id]
    topic, q = CATALOG.find_exercise(question_id)
    assert topic.slug == slug and q.id.startswith({"layernorm": "ln_", "batchnorm": "bn_",
                                                   "invariance": "inv_"}[slug])
    if mistake:
        ids = ({o.mistake for o in q.options} if isinstance(q, ChoiceQuestion)
               else {m.id for m in q.mistakes})
        assert mistake in ids
