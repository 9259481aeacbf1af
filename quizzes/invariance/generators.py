"""The invariance topic: the Table 1 experiment and the numeric question generators.

`table1_change` runs errata.md's experiment for one cell of the paper's
Table 1 (method x transformation): it draws a layer and a dataset, applies the
transformation, and returns the largest absolute change of the normalized
pre-activation g/sigma * (a - mu) + b over all N x H outputs. `table1_demo`
turns that into the text `normquiz explain` shows for each cell's question.

Numeric generators take a seeded numpy Generator and return plain Python data:
{"data": {...}, "answer": ..., "mistakes": {id: ...}}, drawing new data until
every mistaken answer is more than ten tolerances away from the right answer
and from every other mistaken answer.

numpy only: this module is imported by the engine to grade and explain.
"""

import textwrap

import numpy as np

from normquiz.questions import separated, wrong_in_every_part

# ---------------------------------------------------------------- the experiment

# errata.md's test setup. The draws happen in this order from one
# default_rng(SEED): X, W, g, b, gamma, c; changing the order changes the numbers.
N, D, H = 8, 4, 5
SEED = 0
DELTA = 3.7
UNIT = 1  # row of W scaled by weight-vector re-scaling (0-based: the second unit)
CASE = 2  # row of X scaled by single-case re-scaling (0-based: the third case)

METHODS = {
    "bn": "batch norm, μ_i and σ_i of each unit over the 8 cases (Eq. 2)",
    "wn": "weight norm, μ = 0 and σ_i = ‖v_i‖, the norm of unit i's row of the "
          "unnormalized weights (for weight norm, W holds the v_i; Eq. 5)",
    "ln": "layer norm, one μ and σ per case, over its 5 units (Eq. 3)",
}

TRANSFORMATIONS = {
    "weight_rescaling": "weight-matrix re-scaling, W′ = δW with δ = 3.7",
    "weight_recentering": "weight-matrix re-centering, W′ = W + 1γᵀ with γ ~ N(0, 1)^4",
    "weight_vector_rescaling": "weight-vector re-scaling, w_i′ = δ·w_i for unit index 1 "
                               "(the second unit), δ = 3.7",
    "dataset_rescaling": "dataset re-scaling, x′ = δx for every case, δ = 3.7",
    "dataset_recentering": "dataset re-centering, x′ = x + c with c ~ N(0, 25)^4",
    "single_case_rescaling": "single training case re-scaling, x_n′ = δ·x_n for case "
                             "index 2 (the third case) only, δ = 3.7",
}

ROUNDING_LEVEL = 1e-9  # below this a change is floating-point rounding, not a real change


def setup(seed=SEED):
    """errata.md's layer and data: X (N, D), W (H, D), g and b (H,), gamma and c (D,)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 2.0, size=(N, D))
    w = rng.normal(0.0, 1.0, size=(H, D))
    g = rng.uniform(0.5, 2.0, size=H)
    b = rng.normal(0.0, 1.0, size=H)
    gamma = rng.normal(0.0, 1.0, size=D)
    c = rng.normal(0.0, 5.0, size=D)  # N(0, 25): standard deviation 5
    return {"x": x, "w": w, "g": g, "b": b, "gamma": gamma, "c": c}


def normalize(method, x, w, g, b, eps=0.0):
    """The pre-activation g/sigma * (a - mu) + b of every case (rows) and unit (columns)."""
    a = x @ w.T
    if method == "bn":
        mu, var = a.mean(axis=0), a.var(axis=0)
    elif method == "ln":
        mu, var = a.mean(axis=1, keepdims=True), a.var(axis=1, keepdims=True)
    elif method == "wn":
        # The paper's form has no eps: mu = 0, sigma = ||v_i|| (the rows of w are the v_i).
        return g * a / np.linalg.norm(w, axis=1) + b
    else:
        raise ValueError(f"unknown method {method!r}")
    return g * (a - mu) / np.sqrt(var + eps) + b


def transform(name, x, w, gamma, c, delta=DELTA):
    """(x', w') after one of Table 1's transformations; the inputs are not modified."""
    x, w = x.copy(), w.copy()
    if name == "weight_rescaling":
        w = delta * w
    elif name == "weight_recentering":
        w = w + gamma  # broadcasting adds gamma to every row: W + 1 gamma^T
    elif name == "weight_vector_rescaling":
        w[UNIT] *= delta
    elif name == "dataset_rescaling":
        x = delta * x
    elif name == "dataset_recentering":
        x = x + c
    elif name == "single_case_rescaling":
        x[CASE] *= delta
    else:
        raise ValueError(f"unknown transformation {name!r}")
    return x, w


def table1_changes(method, transformation, eps=0.0, seed=SEED):
    """|output after - output before| for every case and unit, shape (N, H)."""
    s = setup(seed)
    before = normalize(method, s["x"], s["w"], s["g"], s["b"], eps)
    x2, w2 = transform(transformation, s["x"], s["w"], s["gamma"], s["c"])
    after = normalize(method, x2, w2, s["g"], s["b"], eps)
    return np.abs(after - before)


def table1_change(method, transformation, eps=0.0, seed=SEED):
    """The largest absolute change of the normalized output: one cell of Table 1."""
    return float(table1_changes(method, transformation, eps, seed).max())


def format_change(value):
    """Like errata.md: 3 significant figures for real changes, 2 for rounding-level ones."""
    if value == 0:
        return "0"
    if value < 1e-3:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:#.3g}"


def parse_cell(exercise_id):
    """'inv_ln_weight_recentering' -> ('ln', 'weight_recentering')."""
    _, method, transformation = exercise_id.split("_", 2)
    if method not in METHODS or transformation not in TRANSFORMATIONS:
        raise ValueError(f"{exercise_id!r} is not a Table 1 cell")
    return method, transformation


def _reading(change):
    if change < ROUNDING_LEVEL:
        return "invariant: the change is at rounding level."
    return "not invariant: the output changes."


def table1_demo(exercise_id):
    """The experiment for one Table 1 cell, run now, as text for `normquiz explain`."""
    method, transformation = parse_cell(exercise_id)
    change = table1_change(method, transformation)
    lines = [
        "The reference experiment, run now: N = 8 cases, D = 4 inputs, H = 5 units;",
        "X ~ N(0.5, 2²), W ~ N(0, 1), g ~ U(0.5, 2), b ~ N(0, 1); float64, seed 0.",
        f"Method: {METHODS[method]}.",
        f"Transformation: {TRANSFORMATIONS[transformation]}.",
        "Compared: the pre-activation g/σ ⊙ (a − μ) + b of all 8 × 5 outputs, "
        "before and after the transformation, with ε = 0.",
        f"Max absolute change: {format_change(change)}",
        f"Reading: {_reading(change)}",
    ]
    if method == "bn" and transformation == "single_case_rescaling":
        per_case = table1_changes(method, transformation).max(axis=1)
        others = np.delete(per_case, CASE).max()
        lines.append(
            f"Per case: {format_change(per_case[CASE])} on the scaled case, up to "
            f"{format_change(others)} on the cases that were not touched: the batch "
            "statistics moved."
        )
    if method == "wn":
        lines.append("Weight norm in the paper's form has no ε, so there is no ε to vary.")
    else:
        with_eps = table1_change(method, transformation, eps=1e-5)
        if change < ROUNDING_LEVEL <= with_eps:
            note = "ε makes this invariance approximate."
        elif with_eps < ROUNDING_LEVEL:
            note = "still exact, because this transformation leaves σ unchanged."
        else:
            note = "ε does not change the verdict."
        lines.append(
            f"With ε = 1e-5 inside the square root: {format_change(with_eps)}; {note}"
        )
    # One terminal line each; continuation lines indented.
    return "\n".join(textwrap.fill(line, 78, subsequent_indent="  ", break_on_hyphens=False)
                     for line in lines)


# ---------------------------------------------------------------- numeric questions


def _ln(a, ddof=0):
    """Layer norm of one case's summed inputs, gain 1, bias 0, eps 0."""
    return (a - a.mean()) / a.std(ddof=ddof)


def _small_layer(rng):
    """A small integer layer W (H, D) and case x, with H > D so W is never square."""
    h = int(rng.integers(3, 5))
    d = int(rng.integers(2, h))
    w = rng.integers(-2, 4, size=(h, d))
    x = rng.integers(-2, 4, size=d)
    return w, x


def ln_weight_shift(rng):
    """inv_ln_weight_shift: LN((W + 1 gamma^T) x), which equals LN(W x).

    The notes' formula (errata claims 51-53), with c^T read as the sum of c's
    entries as errata.md does: (a + c.x - mu - sum(c)) / sqrt(var + (c.(x - 1))^2).
    """
    return _weight_recentering(rng, deltas=(1,))


def ln_data_shift(rng):
    """inv_ln_data_shift: max_i |LN(W (x + c))_i - LN(W x)_i|."""
    while True:
        w, x = _small_layer(rng)
        c = rng.integers(-2, 4, size=w.shape[1])
        a = (w @ x).astype(float)
        shifted = (w @ (x + c)).astype(float)
        if a.std() < 0.5 or shifted.std() < 0.5:
            continue  # keep both cases clearly non-constant
        answer = np.max(np.abs(_ln(shifted) - _ln(a)))
        mistakes = {
            "ln-data-recentering-invariant": 0.0,
            "unbiased-variance": np.max(np.abs(_ln(shifted, ddof=1) - _ln(a, ddof=1))),
        }
        if separated([answer, *mistakes.values()]):
            return {
                "data": {"W": w.tolist(), "x": x.tolist(), "c": c.tolist(),
                         "h": w.shape[0], "d": w.shape[1]},
                "answer": float(answer),
                "mistakes": {m: float(v) for m, v in mistakes.items()},
            }


def ln_weight_scale_shift(rng):
    """inv_ln_weight_scale_shift: LN((delta W + 1 gamma^T) x), Eq. 6 with both parts at once.

    It equals LN(W x). The notes' formula (errata claims 51-53) is applied to the
    re-scaled layer delta W, whose summed inputs are delta a.
    """
    return _weight_recentering(rng, deltas=(2, 3))


def _weight_recentering(rng, deltas):
    """LN((delta W + 1 gamma^T) x) for a delta drawn from `deltas` (none drawn for one),
    against the notes' formula applied to the summed inputs delta a."""
    while True:
        w, x = _small_layer(rng)
        gamma = rng.integers(-2, 4, size=w.shape[1])
        delta = int(rng.choice(deltas)) if len(deltas) > 1 else deltas[0]
        a = (w @ x).astype(float)
        shifted = ((delta * w + gamma) @ x).astype(float)
        if a.std() < 0.5 or not gamma.any():
            continue  # a near-constant layer, or no re-centering at all
        answer = _ln(shifted)
        scaled = delta * a
        notes = (scaled + gamma @ x - scaled.mean() - gamma.sum()) / np.sqrt(
            scaled.var() + float(gamma @ (x - 1)) ** 2)
        mistakes = {
            "ln-recentering-not-invariant": notes,
            "unbiased-variance": _ln(shifted, ddof=1),
        }
        if separated([answer, *mistakes.values()]) and wrong_in_every_part(answer, mistakes):
            data = {"W": w.tolist(), "x": x.tolist(), "gamma": gamma.tolist(),
                    "h": w.shape[0], "d": w.shape[1]}
            return {
                "data": data if len(deltas) == 1 else {**data, "delta": delta},
                "answer": [float(v) for v in answer],
                "mistakes": {m: [float(v) for v in vs] for m, vs in mistakes.items()},
            }


# ---------------------------------------------------------------- experiments beyond Table 1


def _fill(lines):
    return "\n".join(textwrap.fill(line, 78, subsequent_indent="  ", break_on_hyphens=False)
                     for line in lines)


_SETUP_LINES = [
    "The reference experiment, run now: N = 8 cases, D = 4 inputs, H = 5 units;",
    "X ~ N(0.5, 2²), W ~ N(0, 1), g ~ U(0.5, 2), b ~ N(0, 1), γ ~ N(0, 1)^4; "
    "float64, seed 0.",
]


def scale_and_shift_change(eps=0.0, seed=SEED):
    """Max |change| of layer norm's output under Eq. 6 with both parts, W' = 3.7 W + 1 gamma^T."""
    s = setup(seed)
    before = normalize("ln", s["x"], s["w"], s["g"], s["b"], eps)
    after = normalize("ln", s["x"], DELTA * s["w"] + s["gamma"], s["g"], s["b"], eps)
    return float(np.abs(after - before).max())


def eq6_demo(exercise_id):
    """Eq. 6 with both parts at once under layer norm, run now, for `normquiz explain`."""
    change, with_eps = scale_and_shift_change(), scale_and_shift_change(1e-5)
    return _fill(_SETUP_LINES + [
        "Method: layer norm, one μ and σ per case, over its 5 units (Eq. 3).",
        "Transformation: Eq. 6 with both parts, W′ = δW + 1γᵀ with δ = 3.7.",
        f"Max absolute change, ε = 0: {format_change(change)}",
        f"Reading: {_reading(change)}",
        f"With ε = 1e-5 inside the square root: {format_change(with_eps)}; ε makes the "
        "re-scaling part approximate, the re-centering part stays exact.",
    ])


def negative_scale_flip(method, seed=SEED):
    """(max |change|, max |(out' - b) + (out - b)|) for W' = -2 W: the second is 0 when the
    output minus the bias exactly flips sign."""
    s = setup(seed)
    before = normalize(method, s["x"], s["w"], s["g"], s["b"])
    after = normalize(method, s["x"], -2.0 * s["w"], s["g"], s["b"])
    return (float(np.abs(after - before).max()),
            float(np.abs((after - s["b"]) + (before - s["b"])).max()))


def negative_scale_demo(exercise_id):
    """W' = -2 W under batch, weight and layer norm, run now, for `normquiz explain`."""
    lines = _SETUP_LINES + ["Transformation: W′ = −2W, a negative scale factor; ε = 0."]
    for method in ("bn", "ln", "wn"):
        change, flip = negative_scale_flip(method)
        name = METHODS[method].split(",")[0]
        lines.append(f"{name[0].upper()}{name[1:]}: max absolute change "
                     f"{format_change(change)}; max |(out′ − b) + (out − b)| "
                     f"{format_change(flip)}, so out′ − b = −(out − b).")
    return _fill(lines)


def input_normalization_changes(transformation, seed=SEED):
    """Max |change| when each case's input x is layer-normalized over its D entries and
    a = W x_hat + b is NOT normalized after the weights (the paper's remark in §5.1)."""
    s = setup(seed)
    x = s["x"]
    x_hat = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    _, w2 = transform(transformation, x, s["w"], s["gamma"], s["c"])
    before = x_hat @ s["w"].T + s["b"]
    after = x_hat @ w2.T + s["b"]
    return float(np.abs(after - before).max())


def input_normalization_demo(exercise_id):
    """The inputs normalized before the weights, under the two weight-matrix columns."""
    lines = _SETUP_LINES + [
        "Method: each case's input x normalized over its 4 entries (ε = 0), then "
        "a = W x̂ + b, with nothing normalized after the weights.",
    ]
    for transformation in ("weight_rescaling", "weight_recentering"):
        change = input_normalization_changes(transformation)
        ln = table1_change("ln", transformation)
        what = TRANSFORMATIONS[transformation]
        lines.append(f"{what[0].upper()}{what[1:]}: max absolute change "
                     f"{format_change(change)} ({_reading(change)[:-1]}); layer norm after "
                     f"the weights: {format_change(ln)}.")
    return _fill(lines)
