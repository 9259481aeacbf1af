"""Constants shared by the tests (tests/ is on sys.path while pytest runs)."""

from pathlib import Path

COURSE = Path(__file__).parent / "fixtures" / "course"
