"""Small pieces of text that several reports share, spelled in one place."""

from __future__ import annotations


def points(n: float) -> str:
    """'1 point', '3 points', '0.5 points'."""
    return f"{n:g} point{'' if n == 1 else 's'}"


def next_steps(exercise_id: str) -> str:
    """The footer of an exercise's feedback: where to look next."""
    return f"Next: normquiz hint {exercise_id} · normquiz explain {exercise_id}"
