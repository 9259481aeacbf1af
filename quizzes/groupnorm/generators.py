"""Data generators for the groupnorm topic's numeric questions.

Each generator takes a seeded numpy Generator and returns plain Python data:
{"data": {...}, "answer": ..., "mistakes": {id: ...}}. It draws new data until
every mistaken answer is more than ten tolerances away from the right answer
and from every other mistaken answer, so a wrong answer is never ambiguous.
"""

import numpy as np

from normquiz.questions import separated, wrong_in_every_part

# (C, G, L): channels, groups and positions. 1 < G < C, so consecutive and
# interleaved groups differ, and C/G >= 2, so a group pools several channels.
_LAYOUTS = [(4, 2, 2), (4, 2, 3), (6, 2, 2), (6, 3, 2), (6, 3, 3)]


def group_stats(rng):
    """gn_group_stats: mu and sigma of one group of one sample (two samples, C x L each)."""
    while True:
        c, g, length = _LAYOUTS[rng.integers(len(_LAYOUTS))]
        x = rng.integers(0, 10, size=(2, c, length))
        n = int(rng.integers(2))  # the sample asked about
        k = int(rng.integers(g))  # the group asked about
        size = c // g
        block = x[n, k * size:(k + 1) * size].astype(float)  # consecutive channels
        values = block.ravel()
        mu = values.mean()
        answer = [mu, values.std()]
        interleaved = x[n, k::g].astype(float).ravel()  # channels k, k + G, ...
        pooled = x[:, k * size:(k + 1) * size].astype(float).ravel()  # both samples
        mistakes = {
            "sample-std": [mu, values.std(ddof=1)],
            "variance-not-std": [mu, values.var()],
            "interleaved-groups": [interleaved.mean(), interleaved.std()],
            "mean-of-channel-variances": [mu, float(np.sqrt(block.var(axis=1).mean()))],
            "batch-pooled": [pooled.mean(), pooled.std()],
        }
        shared = {m: (0,) for m in ("sample-std", "variance-not-std",
                                    "mean-of-channel-variances")}
        if separated([answer, *mistakes.values()]) and wrong_in_every_part(
                answer, mistakes, shared):
            return {
                "data": {"x1": x[0].tolist(), "x2": x[1].tolist(), "c": c, "g": g,
                         "length": length, "size": size, "n": n, "k": k},
                "answer": [float(v) for v in answer],
                "mistakes": {m: [float(v) for v in vs] for m, vs in mistakes.items()},
            }
