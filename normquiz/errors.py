"""The errors normquiz reports to people: one paragraph, no traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NormquizError(Exception):
    """A problem with the learner's or instructor's input; the CLI prints it and exits 2."""


class ContentError(NormquizError):
    """A content file (manifest, module, grader) is missing or invalid."""


class WorkspaceError(NormquizError):
    """The workspace (state file, answers.yaml, learner module) cannot be used."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
