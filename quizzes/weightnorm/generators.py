"""Data generators for the weightnorm topic's numeric questions.

Each generator takes a seeded numpy Generator and returns plain Python data:
{"data": {...}, "answer": ..., "mistakes": {id: ...}}. It draws new data until
every mistaken answer is more than ten tolerances away from the right answer
and from every other mistaken answer, so a wrong answer is never ambiguous.
"""

import numpy as np

from normquiz.questions import separated

# (H, D): H output units (rows of v) and D inputs, never square, so that rows
# and columns of v cannot be confused; H >= 2 so that a row norm, a column
# norm and the whole-matrix norm all differ.
_SHAPES = [(2, 3), (3, 2), (2, 4), (3, 4)]
_GAINS = [0.5, 1.5, 2.0, 2.5, 3.0, -1.5, -2.0]



def unit_output(rng):
    """wn_unit_output: y_i = g_i (v_i . x) / ||v_i|| + b_i for one case and one unit."""
    while True:
        h, d = _SHAPES[rng.integers(len(_SHAPES))]
        v = rng.integers(-3, 5, size=(h, d))
        x = rng.integers(-2, 5, size=d)
        g = float(rng.choice(_GAINS))
        b = int(rng.integers(-3, 4))
        i = int(rng.integers(h))
        column_norms = np.linalg.norm(v, axis=0)
        if np.any(column_norms == 0) or np.any(np.linalg.norm(v, axis=1) == 0):
            continue  # a zero row or column has no direction to normalize
        row = v[i].astype(float)
        dot = float(row @ x)
        norm = float(np.linalg.norm(row))
        answer = g * dot / norm + b
        mistakes = {
            "squared-norm": g * dot / norm**2 + b,
            "no-normalization": g * dot + b,
            "frobenius-norm": g * dot / float(np.linalg.norm(v)) + b,
            "norm-wrong-axis": g * float(np.sum(row * x / column_norms)) + b,
            "missing-gain": dot / norm + b,
            "bias-inside": g * (dot + b) / norm,
        }
        if separated([answer, *mistakes.values()]):
            return {
                "data": {"v": v.tolist(), "x": x.tolist(), "g": g, "b": b, "h": h, "d": d,
                         "i": i + 1},
                "answer": float(answer),
                "mistakes": {m: float(val) for m, val in mistakes.items()},
            }
