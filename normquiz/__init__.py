"""normquiz: auto-graded exercises on layer, batch and weight normalization.

The library API that the CLI, the tests and notebooks share. Heavy modules
(numpy, pytest) are imported only when a function needs them, so that
`normquiz --help` and the grading worker start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "check", "setup"]


def check(exercise_id: str | None = None):  # noqa: ANN201 - the type lives in normquiz.kernel
    """Grade an exercise (or all) as currently defined in this Jupyter kernel.

    In a notebook made by `normquiz start TOPIC --notebook`, run
    `normquiz.check("layernorm_forward")` after defining the function. The
    functions run in a separate process, as with `normquiz grade`.
    """
    from normquiz.kernel import check as check_kernel

    return check_kernel(exercise_id)


def setup(topic: str, seed: int) -> None:
    """Declare the notebook's topic and seed, so check() works without a workspace.

    A notebook made by `normquiz start TOPIC --notebook` calls this in its
    second cell; that is what lets it be checked on its own (Colab, a download).
    """
    from normquiz.kernel import setup as declare

    declare(topic, seed)
