"""normquiz: auto-graded exercises on layer, batch and weight normalization.

The library API that the CLI, the tests and notebooks share. Heavy modules
(numpy, pytest) are imported only when a function needs them, so that
`normquiz --help` and the grading worker start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
