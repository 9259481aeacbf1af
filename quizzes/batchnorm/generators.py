"""Data generators for the batchnorm topic's numeric questions.

Each generator takes a seeded numpy Generator and returns plain Python data:
{"data": {...}, "answer": ..., "mistakes": {id: ...}}. It draws new data until
every mistaken answer is more than ten tolerances away from the right answer
and from every other mistaken answer, so a wrong answer is never ambiguous.
"""

import numpy as np

from normquiz.questions import separated, wrong_in_every_part

_LAYOUTS = {
    # rows are features: the way the notes write their batch
    True: ("one row per feature and one column per training case", "first row"),
    False: ("one row per training case and one column per feature", "first column"),
}


def _floats(values):
    return [float(v) for v in values]


def feature_std(rng):
    """bn_feature_std: BN's standard deviation of every feature of a batch."""
    while True:
        # Square (N = H), so that per-case statistics also give H numbers and
        # the wrong orientation can be recognized; N >= 3, because with two
        # cases the mean absolute deviation equals the standard deviation. No
        # constant feature: its sigma, sample std, variance and mean absolute
        # deviation are all 0, so every wrong method would get that part right.
        n = int(rng.integers(3, 5))
        features = rng.integers(-3, 10, size=(n, n)).astype(float)  # one row per feature
        rows_are_features = bool(rng.integers(2))
        shown = features if rows_are_features else features.T
        centered = features - features.mean(axis=1, keepdims=True)
        answer = features.std(axis=1)
        mistakes = {
            "sample-std": features.std(axis=1, ddof=1),
            "variance-not-std": features.var(axis=1),
            "mean-abs-deviation": np.mean(np.abs(centered), axis=1),
            "wrong-orientation": features.std(axis=0),  # one per training case
        }
        if separated([answer, *mistakes.values()]) and wrong_in_every_part(answer, mistakes):
            layout, first = _LAYOUTS[rows_are_features]
            return {
                "data": {"a": shown.astype(int).tolist(), "n": n, "layout": layout,
                         "first": first},
                "answer": _floats(answer),
                "mistakes": {m: _floats(v) for m, v in mistakes.items()},
            }


def bn_output(rng):
    """bn_output: the full training-mode BN output of one feature, gain and bias applied."""
    while True:
        a = rng.integers(-4, 13, size=4).astype(float)
        gain = float(rng.choice([0.5, 1.5, 2.0, 2.5, 3.0]))
        bias = float(rng.choice([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0]))
        mu, var = a.mean(), a.var()
        if var < 1.0:
            # With var >= 1, the eps = 1e-5 that the prompt leaves out would
            # move no output by more than 3e-5; this also rules out a
            # constant feature.
            continue
        centered = a - mu
        answer = gain * centered / np.sqrt(var) + bias
        mistakes = {
            "bias-dropped": gain * centered / np.sqrt(var),
            "divides-by-variance": gain * centered / var + bias,
            "unbiased-variance": gain * centered / a.std(ddof=1) + bias,
        }
        # A case at the mean (x_hat = 0) outputs b whichever way it is scaled.
        if separated([answer, *mistakes.values()]) and wrong_in_every_part(answer, mistakes):
            return {
                "data": {"a": a.astype(int).tolist(), "g": gain, "b": bias},
                "answer": _floats(answer),
                "mistakes": {m: _floats(v) for m, v in mistakes.items()},
            }
