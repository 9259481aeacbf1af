"""Data generators for the layernorm topic's numeric questions.

Each generator takes a seeded numpy Generator and returns plain Python data:
{"data": {...}, "answer": ..., "mistakes": {id: ...}}. It draws new data until
every mistaken answer is more than ten tolerances away from the right answer
and from every other mistaken answer, so a wrong answer is never ambiguous.
"""

import numpy as np

from normquiz.questions import separated, wrong_in_every_part

# (N, H): N training cases (rows) and H hidden units (columns), never square,
# so rows and columns cannot be confused; H >= 3 because with two values the
# mean absolute deviation equals the standard deviation.
_SHAPES = [(3, 5), (4, 3), (3, 4), (2, 4), (4, 5), (2, 3)]


def sample_stats(rng):
    """ln_sample_stats: LN's mu and sigma of one training case (one row)."""
    while True:
        n, h = _SHAPES[rng.integers(len(_SHAPES))]
        a = rng.integers(-4, 10, size=(n, h))
        k = int(rng.integers(min(n, h)))
        row, column = a[k].astype(float), a[:, k].astype(float)
        mu = row.mean()
        answer = [mu, row.std()]
        mistakes = {
            "sample-std": [mu, row.std(ddof=1)],
            "variance-not-std": [mu, row.var()],
            "mean-abs-deviation": [mu, np.mean(np.abs(row - mu))],
            "wrong-orientation": [column.mean(), column.std()],
        }
        shared = {m: (0,) for m in ("sample-std", "variance-not-std", "mean-abs-deviation")}
        if separated([answer, *mistakes.values()]) and wrong_in_every_part(
                answer, mistakes, shared):
            return {
                "data": {"a": a.tolist(), "n": n, "h": h, "k": k + 1},
                "answer": [float(v) for v in answer],
                "mistakes": {m: [float(v) for v in vs] for m, vs in mistakes.items()},
            }


def normalized_value(rng):
    """ln_normalized_value: x_hat of one unit, before the gain and bias."""
    while True:
        h = int(rng.integers(3, 6))
        a = rng.integers(-3, 8, size=h)
        eps = float(rng.choice([0.25, 1.0]))
        j = int(rng.integers(h))
        mu, var = a.mean(), a.var()
        if var == 0:
            continue  # every mistake would give 0 as well
        centered = a[j] - mu
        answer = centered / np.sqrt(var + eps)
        mistakes = {
            "eps-outside-sqrt": centered / (np.sqrt(var) + eps),
            "eps-ignored": centered / np.sqrt(var),
            "unbiased-variance": centered / np.sqrt(a.var(ddof=1) + eps),
            "divides-by-variance": centered / (var + eps),
        }
        if separated([answer, *mistakes.values()]):
            return {
                "data": {"a": a.tolist(), "h": h, "eps": eps, "j": j + 1},
                "answer": float(answer),
                "mistakes": {m: float(v) for m, v in mistakes.items()},
            }


def step_normalized(rng):
    """ln_step_normalized: x_hat of unit j at time step k of one sequence (rows = steps)."""
    while True:
        t_steps, h = [(3, 4), (4, 3), (3, 5), (4, 5), (5, 3)][rng.integers(5)]
        a = rng.integers(-3, 9, size=(t_steps, h))
        k, j = int(rng.integers(t_steps)), int(rng.integers(h))
        step, unit, whole = a[k].astype(float), a[:, j].astype(float), a.astype(float)
        if step.std() == 0 or unit.std() == 0:
            continue  # a constant step or unit: nothing to normalize
        value = a[k, j]
        answer = (value - step.mean()) / step.std()
        mistakes = {
            "per-sequence-statistics": (value - whole.mean()) / whole.std(),
            "statistics-over-time": (value - unit.mean()) / unit.std(),
            "unbiased-variance": (value - step.mean()) / step.std(ddof=1),
        }
        if separated([answer, *mistakes.values()]):
            return {
                "data": {"a": a.tolist(), "t_steps": t_steps, "h": h, "k": k + 1, "j": j + 1},
                "answer": float(answer),
                "mistakes": {m: float(v) for m, v in mistakes.items()},
            }
