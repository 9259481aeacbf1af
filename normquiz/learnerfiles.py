"""Reading the learner's files safely: answers.yaml, the notebook, the state file.

Whatever is in a learner's folder is untrusted input (a class hands in its
folders to `grade-batch`), so every read here

- opens the file without blocking (a FIFO named answers.yaml cannot hang
  normquiz) and refuses anything that is not a regular file;
- checks the size before reading and reads at most cap + 1 bytes, so a file
  that grows while it is read cannot get past the cap;
- decodes strict UTF-8, reporting the line and column of the first bad byte;
- raises one WorkspaceError (a NormquizError: the CLI prints `Error: ...` and
  exits 2) naming the file, what is wrong and what to do.

YAML written by learners is parsed without anchors and aliases (`&a`, `*a`):
answers never need them, and nine lines of them expand to a billion values.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from normquiz.errors import WorkspaceError
from normquiz.report import STATUSES

# A topic's answers.yaml is a few KiB (comments and prompts included); 1 MiB is
# hundreds of times that, and far below what could hurt the grading process.
ANSWERS_CAP = 1 << 20
# normquiz writes a state file of a few KiB: progress and hint counts per exercise.
STATE_CAP = 1 << 20
# A notebook carries its cells' outputs, plots included (a PNG is 20-100 KiB);
# 20 MiB leaves room for hundreds of plots while bounding what JSON parsing costs.
NOTEBOOK_CAP = 20 << 20

# The state file's limits: seeds are what numpy accepts and the CLI prints;
# hint counts are small counters.
SEED_MAX = 2**63 - 1
COUNT_MAX = 2**31 - 1


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} bytes"


def read_bytes(path: Path, cap: int, where: str, fix: str, unreadable: str | None = None) -> bytes:
    """At most `cap` bytes of a regular file, or a WorkspaceError saying why not.

    `fix` ends the message of a file too big; `unreadable` (default: `fix`) the others.
    """
    other = fix if unreadable is None else unreadable
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise WorkspaceError(f"{where} does not exist. {other}") from None
    except OSError as e:
        raise WorkspaceError(f"{where} cannot be read ({e.strerror}). {other}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise WorkspaceError(f"{where} is not a regular file, so normquiz does not read it. "
                                 f"{other}")
        too_big = (f"{where} is larger than the {_size(cap)} normquiz reads for this file")
        if info.st_size > cap:
            raise WorkspaceError(f"{too_big} ({_size(info.st_size)}). {fix}")
        chunks: list[bytes] = []
        left = cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > cap:  # it grew after the size check
            raise WorkspaceError(f"{too_big}. {fix}")
        return data
    except OSError as e:
        raise WorkspaceError(f"{where} cannot be read ({e.strerror}). {other}") from None
    finally:
        os.close(fd)


def decode(data: bytes, where: str, fix: str) -> str:
    """Strict UTF-8; the first invalid byte is reported by line, column and offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise WorkspaceError(
            f"{where}, line {line}, column {column} (byte {e.start}): this is not valid UTF-8 "
            f"text (byte 0x{data[e.start]:02x}). {fix}") from None


def read_text(path: Path, cap: int, where: str, fix: str) -> str:
    return decode(read_bytes(path, cap, where, fix), where, fix)


# ---------------------------------------------------------------- YAML without aliases


class Refused(yaml.MarkedYAMLError):
    """Valid YAML that normquiz does not read from a learner: its message is not a syntax error."""


class LearnerLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases before anything is built from them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        alias = isinstance(event, yaml.AliasEvent)
        if alias or getattr(event, "anchor", None) is not None:
            what = f"an alias (*{event.anchor})" if alias else f"an anchor (&{event.anchor})"
            raise Refused(None, None, f"{what}: anchors and aliases are not allowed in "
                          "this file; write each answer out in full", event.start_mark)
        return super().compose_node(parent, index)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as e:  # a 5000-digit integer, a 13th month
            raise Refused(None, None, f"this value cannot be read ({e})",
                          node.start_mark) from None


# ---------------------------------------------------------------- the state file


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def state_problem(data: Any, slug_pattern: str = r"[a-z][a-z0-9_]*") -> str | None:
    """What is wrong with a parsed state file, or None when every field is valid."""
    import re

    if not isinstance(data, dict):
        return f"it holds a JSON {type(data).__name__}, not an object of fields"
    version = data.get("normquiz")
    if version is not None and not (isinstance(version, str) and len(version) <= 100):
        return "the field 'normquiz' (the version that wrote it) is not a short string"
    topic = data.get("topic")
    if not (isinstance(topic, str) and len(topic) <= 48 and re.fullmatch(slug_pattern, topic)):
        return f"the field 'topic' must be a topic name like 'layernorm', not {_show(topic)}"
    seed = data.get("seed")
    if not (type(seed) is int and 0 <= seed <= SEED_MAX):
        return (f"the field 'seed' must be a whole number from 0 to {SEED_MAX}, "
                f"not {_show(seed)}")
    hints = data.get("hints_shown", {})
    if not isinstance(hints, dict):
        return f"the field 'hints_shown' must be an object, not {_show(hints)}"
    for key, value in hints.items():
        if not (type(value) is int and 0 <= value <= COUNT_MAX):
            return (f"'hints_shown' → '{_clip(key)}' must be a count (a whole number "
                    f"0 or more), not {_show(value)}")
    progress = data.get("progress", {})
    if not isinstance(progress, dict):
        return f"the field 'progress' must be an object, not {_show(progress)}"
    for key, entry in progress.items():
        where = f"'progress' → '{_clip(key)}'"
        if not isinstance(entry, dict):
            return f"{where} must be an object with a status and a score, not {_show(entry)}"
        if entry.get("status") not in STATUSES:
            return (f"{where}, 'status' must be one of {', '.join(STATUSES)}, "
                    f"not {_show(entry.get('status'))}")
        if not _is_number(entry.get("score")) or entry["score"] < 0:
            return f"{where}, 'score' must be a number 0 or more, not {_show(entry.get('score'))}"
        if "max_score" in entry and not (_is_number(entry["max_score"])
                                         and entry["max_score"] >= 0):
            return (f"{where}, 'max_score' must be a number 0 or more, "
                    f"not {_show(entry['max_score'])}")
    return None


def _clip(text: Any, n: int = 40) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n] + "…"


def _show(value: Any) -> str:
    """A short description of a JSON value for a message: its repr, clipped."""
    if value is None:
        return "missing (or null)"
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "the number")
    if isinstance(value, (dict, list)):
        return kind
    return f"{kind} {_clip(repr(value) if isinstance(value, str) else value)}"
