"""Constants shared by the tests (tests/ is on sys.path while pytest runs)."""

import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

COURSE = Path(__file__).parent / "fixtures" / "course"

# .ci/run sets CI=true: there every test must run, and a missing dependency fails it.
UNDER_CI = os.environ.get("CI") == "true"


def needs(condition: bool, what: str) -> None:
    """Skip when `what` is missing on a developer's machine; under CI, fail instead.

    Works in a test and at a module's top level (the whole module then skips or fails).
    """
    if condition:
        return
    if UNDER_CI:
        pytest.fail(f"{what} is missing, and CI must run this test", pytrace=False)
    pytest.skip(f"{what} is missing on this machine", allow_module_level=True)

FOUR_DECIMALS = r"(?<![\d.§])\d+\.\d{4,5}(?!\d)"


def topic_text(topic) -> str:
    """The text of every manifest of a topic, with Unicode minus signs as '-'."""
    paths = [topic.manifest_path(e.id, not e.is_question) for e in topic.exercises]
    return "\n".join(p.read_text(encoding="utf-8") for p in paths).replace("−", "-")


def fmt(value, digits: int = 4) -> str:
    """Numbers as the content quotes them: '[-1.3416, 0.0000]' (never '-0.0000')."""
    arr = np.asarray(value, float)
    if arr.ndim == 0:
        text = f"{float(arr):.{digits}f}"
        return text.lstrip("-") if float(text) == 0 else text
    return "[" + ", ".join(fmt(v, digits) for v in arr) + "]"


def unverified(text: str, values: Iterable, pattern: str = FOUR_DECIMALS) -> list[str]:
    """The numbers quoted in `text` (matching `pattern`) that no value in `values` rounds to."""
    known = [abs(float(x)) for v in values for x in np.ravel(np.asarray(v, float))]
    quoted = set(re.findall(pattern, text))
    return sorted(q for q in quoted
                  if not any(f"{v:.{len(q.split('.')[1])}f}" == q for v in known))

# Fixed grader seeds (the checks' random inputs) under which the tests grade every
# reference, stub and mistake; learners get a fresh seed on every run.
GRADER_SEEDS = (0, 1, 7_654_321, 2**31 + 11, 2**32 - 1)
