"""Data generators for the expectation topic's numeric questions.

Each generator takes a seeded numpy Generator and returns plain Python data:
{"data": {...}, "answer": ..., "mistakes": {id: ...}}. It draws new data until
every mistaken answer is more than ten tolerances away from the right answer
and from every other mistaken answer, so a wrong answer is never ambiguous.
"""

import numpy as np

from normquiz.questions import separated

# (rows, columns) of the matrices shown, never square, so that rows and columns
# cannot be confused; at least 3 values per statistic, because with two values
# the mean absolute deviation equals the standard deviation.
_SHAPES = [(3, 4), (4, 3), (3, 5), (5, 3), (4, 5), (5, 4)]



def _matrix(rng):
    """A small integer matrix and a 1-based index valid for both its rows and columns."""
    rows, cols = _SHAPES[rng.integers(len(_SHAPES))]
    m = rng.integers(-3, 10, size=(rows, cols))
    k = int(rng.integers(min(rows, cols)))
    return m, k


def _pack(data, answer, mistakes):
    return {
        "data": data,
        "answer": float(answer),
        "mistakes": {m: float(v) for m, v in mistakes.items()},
    }


def batch_mean(rng):
    """exp_batch_mean: mu_i = E[a_i] estimated by the batch average of unit k.

    Rows are training cases, columns are units: unit k is column k.
    """
    while True:
        a, k = _matrix(rng)
        column, row = a[:, k].astype(float), a[k].astype(float)
        answer = column.mean()
        mistakes = {
            "expectation-is-sum": column.sum(),
            "wrong-orientation": row.mean(),
        }
        if separated([answer, *mistakes.values()]):
            data = {"a": a.tolist(), "n": a.shape[0], "h": a.shape[1], "k": k + 1}
            return _pack(data, answer, mistakes)


def weighted_mean(rng):
    """exp_weighted_mean: E[a] = sum_k p_k a_k for a discrete distribution."""
    while True:
        size = int(rng.integers(3, 6))
        values = rng.choice(np.arange(-4, 13), size=size, replace=False)
        # Probabilities in steps of 0.05 that add up to exactly 1, none zero.
        cuts = np.sort(rng.choice(np.arange(1, 20), size=size - 1, replace=False))
        counts = np.diff(np.concatenate([[0], cuts, [20]]))
        probs = counts / 20
        if len(set(counts.tolist())) == 1:
            continue  # uniform: the weights would not matter
        answer = float(np.dot(probs, values))
        mistakes = {
            "unweighted-mean": values.mean(),
            "averaged-weighted-terms": np.mean(probs * values),
        }
        if separated([answer, *mistakes.values()]):
            data = {"values": values.tolist(), "probs": [round(float(p), 2) for p in probs]}
            return _pack(data, answer, mistakes)


def unit_variance(rng):
    """exp_unit_variance: the variance of unit k over the batch (1/N).

    Rows are units, columns are training cases (the notes' layout): unit k is row k.
    """
    while True:
        a, k = _matrix(rng)
        row, column = a[k].astype(float), a[:, k].astype(float)
        answer = row.var()
        mistakes = {
            "sample-variance": row.var(ddof=1),
            "std-not-variance": row.std(),
            "wrong-orientation": column.var(),
        }
        if separated([answer, *mistakes.values()]):
            data = {"a": a.tolist(), "h": a.shape[0], "n": a.shape[1], "k": k + 1}
            return _pack(data, answer, mistakes)


def unit_std(rng):
    """exp_unit_std: the standard deviation of unit k over the batch (1/N).

    Rows are training cases, columns are units: unit k is column k.
    """
    while True:
        a, k = _matrix(rng)
        column, row = a[:, k].astype(float), a[k].astype(float)
        answer = column.std()
        mistakes = {
            "sample-std": column.std(ddof=1),
            "variance-not-std": column.var(),
            "mean-abs-deviation": np.mean(np.abs(column - column.mean())),
            "wrong-orientation": row.std(),
        }
        if separated([answer, *mistakes.values()]):
            data = {"a": a.tolist(), "n": a.shape[0], "h": a.shape[1], "k": k + 1}
            return _pack(data, answer, mistakes)


def normalized_std(rng):
    """exp_normalized_std: the std (1/N) of x_hat = (a - mu) / sqrt(var + eps)."""
    while True:
        n = int(rng.integers(3, 7))
        a = rng.integers(-3, 8, size=n).astype(float)
        eps = float(rng.choice([0.25, 0.5, 1.0, 2.0]))
        sigma = a.std()
        if sigma == 0:
            continue  # a constant unit: x_hat is 0 whatever the mistake
        x_hat = (a - a.mean()) / np.sqrt(a.var() + eps)
        answer = x_hat.std()
        mistakes = {
            "std-always-one": 1.0,
            "variance-not-std": x_hat.var(),
            "sample-std": x_hat.std(ddof=1),
            "eps-outside-sqrt": sigma / (sigma + eps),
        }
        if separated([answer, *mistakes.values()]):
            data = {"a": a.astype(int).tolist(), "n": n, "eps": eps}
            return _pack(data, answer, mistakes)
