"""Terminal pictures: which entries of a batch share one mean and one variance.

Each normalization method splits a tensor into groups of entries that share
their statistics. A diagram prints the tensor as a grid with one letter per
group (and, on a colour terminal, one background colour per group), so that
a reader sees the groups:

- an `(N, H)` batch (cases x units): batch norm groups each column, layer
  norm each row;
- an `(N, C, H*W)` tensor (samples x channels x positions), drawn as one
  block of channels x positions per sample: batch norm, layer norm, instance
  norm, group norm, and the grouping mistakes of the catalogue (the whole
  tensor, interleaved groups, groups pooled over the batch).

`mistake_picture` draws "what your function grouped | what it should group"
for a grouping mistake's diagnosis. The other pictures of a manifest's
`picture` field (PICTURES) are data plots: `sparkline` and `bar_rows` draw
their terminal form from numbers that normquiz.plots computes.

Standard library only, so that importing it costs nothing.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

# ---------------------------------------------------------------- the pictures a manifest may name


@dataclass(frozen=True)
class Picture:
    """A value of a manifest's `picture` field: what `explain` draws and plots."""

    description: str  # what the figure shows, one sentence
    method: str | None = None  # the grouping the exercise asks for (mistake_picture)


PICTURES: dict[str, Picture] = {
    "ln-vs-bn": Picture("Which entries of an (N, H) batch share one mean and variance: "
                        "layer norm (each case, a row) beside batch norm (each unit, a column).",
                        method="ln"),
    "bn-vs-ln": Picture("Which entries of an (N, H) batch share one mean and variance: "
                        "batch norm (each unit, a column) beside layer norm (each case, a row).",
                        method="bn"),
    "group-norm": Picture("Which entries of an (N, C, H·W) tensor share one mean and variance "
                          "under batch norm, layer norm, instance norm and group norm.",
                          method="gn"),
    "depth-statistics": Picture("The spread of the summed inputs layer after layer in a deep "
                                "random ReLU network, without normalization, with layer norm "
                                "and with batch norm; and batch norm at batch size 1 vs 32."),
    "table1": Picture("Table 1 measured: how far each method's output moves under each "
                      "of the six transformations."),
    "rnn-statistics": Picture("The statistics of an RNN's summed inputs and hidden state over "
                              "the time steps, with and without layer norm."),
}

# Other names for the methods of PICTURES, as mistake_picture accepts them.
_METHOD_NAMES = {"ln": "ln", "bn": "bn", "gn": "gn", "layernorm": "ln", "batchnorm": "bn",
                 "groupnorm": "gn", "layernorm_forward": "ln", "batchnorm_forward": "bn",
                 "groupnorm_forward": "gn"}


# ---------------------------------------------------------------- groupings

BATCH = (3, 4)  # N cases x H units
CONV = (2, 4, 3)  # N samples x C channels x H*W positions
GROUPS = 2  # group norm's G in the pictures


@dataclass(frozen=True)
class Grouping:
    """One way of splitting a tensor into groups that share their statistics."""

    title: str
    caption: str  # what one group is; {G} and {CG} are filled in
    # The group of entry (n, c, s) of an (N, C, S) tensor; an (N, H) batch is (N, H, 1).
    key: Callable[[int, int, int, int, int], Any]  # (n, c, s, C, G) -> hashable


GROUPINGS: dict[str, Grouping] = {
    "bn": Grouping("batch norm", "per unit (column), over the cases",
                   lambda n, c, s, C, G: c),
    "ln": Grouping("layer norm", "per case (row), over its units",
                   lambda n, c, s, C, G: n),
    "whole": Grouping("whole tensor", "one for all the entries",
                      lambda n, c, s, C, G: 0),
    "in": Grouping("instance norm", "per sample and channel",
                   lambda n, c, s, C, G: (n, c)),
    "gn": Grouping("group norm, G = {G}", "per sample: {CG} consecutive channels",
                   lambda n, c, s, C, G: (n, c // (C // G))),
    "gn-interleaved": Grouping("every G-th channel", "per sample: channels c, c + {G}, …",
                               lambda n, c, s, C, G: (n, c % G)),
    "gn-batch": Grouping("groups over the batch", "{CG} channels, over all samples",
                         lambda n, c, s, C, G: c // (C // G)),
}
# On an (N, C, H*W) tensor batch norm and layer norm read differently.
_CONV_CAPTIONS = {"bn": "per channel: all samples, positions",
                  "ln": "per sample: all channels, positions"}

# Grouping mistakes: (the exercise's method, mistake id) -> what the learner grouped.
MISTAKE_GROUPINGS: dict[tuple[str, str], str] = {
    ("ln", "wrong-axis"): "bn",
    ("ln", "whole-tensor"): "whole",
    ("bn", "wrong-axis"): "ln",
    ("bn", "whole-tensor"): "whole",
    ("gn", "instance-norm"): "in",
    ("gn", "interleaved-groups"): "gn-interleaved",
    ("gn", "batch-pooled"): "gn-batch",
    ("gn", "whole-tensor"): "whole",
}


def group_ids(grouping: str, shape: Sequence[int], num_groups: int = GROUPS) -> list[Any]:
    """The group number of every entry, as nested lists of `shape` ((N, H) or (N, C, S)).

    Groups are numbered 0, 1, ... in the order a reader meets them: sample by
    sample, row by row, left to right.
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}; one of {', '.join(GROUPINGS)}")
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"shape must be (N, H) or (N, C, S) of positive sizes, got {shape}")
    n_, c_, s_ = (*shape, 1) if len(shape) == 2 else shape
    if c_ % num_groups:
        raise ValueError(f"{num_groups} groups do not divide {c_} channels")
    key = GROUPINGS[grouping].key
    numbers: dict[Any, int] = {}
    ids = [[[numbers.setdefault(key(n, c, s, c_, num_groups), len(numbers))
             for s in range(s_)] for c in range(c_)] for n in range(n_)]
    return [[row[0] for row in sample] for sample in ids] if len(shape) == 2 else ids


# ---------------------------------------------------------------- colour and text

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Light 256-colour backgrounds under black letters; neighbours in the list differ in hue.
_BACKGROUNDS = (117, 217, 150, 222, 183, 116, 229, 181, 153, 193, 225, 187)
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def use_color(stream: TextIO | None = None) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    import sys

    stream = stream if stream is not None else sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def visible_width(text: str) -> int:
    """The width of a line on screen: escape sequences take no room."""
    return len(_ANSI.sub("", text))


def _pad(text: str, width: int) -> str:
    return text + " " * (width - visible_width(text))


def _cell(group: int, color: bool) -> str:
    letter = LETTERS[group % len(LETTERS)]
    if not color:
        return f"{letter} "
    background = _BACKGROUNDS[group % len(_BACKGROUNDS)]
    return f"\x1b[48;5;{background}m\x1b[30m{letter} \x1b[0m"


def _title(text: str, color: bool) -> str:
    return f"\x1b[1m{text}\x1b[0m" if color else text


def _side_by_side(panels: Sequence[list[str]], gap: int = 4) -> list[str]:
    widths = [max(visible_width(line) for line in p) for p in panels]
    height = max(len(p) for p in panels)
    lines = []
    for i in range(height):
        parts = [_pad(p[i] if i < len(p) else "", w) for p, w in zip(panels, widths)]
        lines.append((" " * gap).join(parts).rstrip())
    return lines


# ---------------------------------------------------------------- grouping diagrams


def describe(grouping: str, shape: Sequence[int] = BATCH,
             num_groups: int = GROUPS) -> tuple[str, str]:
    """(title, what one group is) of a grouping on a tensor of `shape`."""
    g = GROUPINGS[grouping]
    fill = {"G": num_groups, "CG": shape[1] // num_groups}
    caption = g.caption if len(shape) == 2 else _CONV_CAPTIONS.get(grouping, g.caption)
    return g.title.format(**fill), caption.format(**fill)


def panel(grouping: str, shape: Sequence[int] = BATCH, num_groups: int = GROUPS,
          color: bool = False, heading: str | None = None) -> list[str]:
    """One grouping drawn as lines: a title, what a group is, the grid of letters."""
    ids = group_ids(grouping, shape, num_groups)
    channels = shape[1]
    title, caption = describe(grouping, shape, num_groups)
    lines = [] if heading is None else [_title(heading, color)]
    lines += [_title(title, color), caption]
    if len(shape) == 2:
        label = [f"case {n + 1}" for n in range(shape[0])]
        width = max(len(s) for s in label) + 1
        lines.append(" " * width + "units →")
        for n, row in enumerate(ids):
            lines.append(f"{label[n]:<{width}}" + "".join(_cell(k, color) for k in row))
        return lines
    # Samples and channels numbered from 0, as the group norm exercise and questions do.
    samples, positions = shape[0], shape[2]
    width = len(f"ch {channels - 1}") + 1
    block = max(2 * positions, len(f"sample {samples - 1}")) + 2  # one sample's columns
    lines.append(" " * width + "".join(f"{f'sample {n}':<{block}}"
                                       for n in range(samples)).rstrip())
    for c in range(channels):
        row = "".join(_pad("".join(_cell(ids[n][c][s], color) for s in range(positions)), block)
                      for n in range(samples))
        lines.append(f"{f'ch {c}':<{width}}" + row.rstrip())
    return lines


_LEGEND_BATCH = ("Entries with the same letter share one mean and one variance. "
                 "Rows: training cases; columns: hidden units.")
_LEGEND_CONV = ("Entries with the same letter share one mean and one variance. "
                "Rows: channels; columns: the H·W positions of each sample.")


def _legend(shape: Sequence[int]) -> list[str]:
    import textwrap

    return textwrap.wrap(_LEGEND_BATCH if len(shape) == 2 else _LEGEND_CONV, 76)


def draw(groupings: Sequence[str], shape: Sequence[int] = BATCH, num_groups: int = GROUPS,
         color: bool = False, per_row: int = 2) -> str:
    """Several groupings of one tensor, `per_row` panels side by side, and a legend."""
    panels = [panel(g, shape, num_groups, color) for g in groupings]
    lines: list[str] = []
    for i in range(0, len(panels), per_row):
        if lines:
            lines.append("")
        lines += _side_by_side(panels[i:i + per_row])
    return "\n".join(lines + [""] + _legend(shape))


def picture_method(name: str) -> str | None:
    """The grouping an exercise asks for, from its picture name or its method."""
    if name in PICTURES:
        return PICTURES[name].method
    return _METHOD_NAMES.get(name)


def mistake_picture(mistake_id: str, method: str, color: bool = False) -> str | None:
    """'What your function grouped | what it should group', side by side, as text.

    `method` is the exercise's: 'ln', 'bn' or 'gn', a picture name such as
    'ln-vs-bn', or the exercise id (layernorm_forward). None when the mistake
    is not a grouping one for that method (there is nothing to draw).
    """
    right = picture_method(method)
    wrong = MISTAKE_GROUPINGS.get((right or "", mistake_id))
    if right is None or wrong is None:
        return None
    shape = CONV if right == "gn" else BATCH
    panels = [panel(wrong, shape, color=color, heading="What your function grouped"),
              panel(right, shape, color=color, heading="What it should group")]
    return "\n".join(_side_by_side(panels) + [""] + _legend(shape))


def grouping_picture(name: str, color: bool = False) -> str | None:
    """The terminal diagram of a grouping picture (PICTURES), None for a data plot."""
    if name == "ln-vs-bn":
        return draw(["ln", "bn"], BATCH, color=color)
    if name == "bn-vs-ln":
        return draw(["bn", "ln"], BATCH, color=color)
    if name == "group-norm":
        return draw(["bn", "ln", "in", "gn"], CONV, color=color)
    return None


# ---------------------------------------------------------------- numbers as blocks

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_SPARKS = "▁▂▃▄▅▆▇█"


def _position(value: float, low: float, high: float, log: bool) -> float:
    """Where `value` sits between low and high, 0 to 1 (clipped)."""
    if log:
        value, low, high = (math.log10(max(v, 1e-300)) for v in (value, low, high))
    if high <= low:
        return 1.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def sparkline(values: Sequence[float], low: float, high: float, log: bool = False) -> str:
    """One block character per value, from ▁ (at or below low) to █ (at or above high)."""
    return "".join(_SPARKS[round(_position(v, low, high, log) * (len(_SPARKS) - 1))]
                   for v in values)


def bar(value: float, low: float, high: float, width: int, log: bool = False) -> str:
    """A horizontal bar of up to `width` characters, in eighths of a character."""
    eighths = round(_position(value, low, high, log) * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)


# A row of a grouping grid as feedback carries it, in plain letters: a label ("case 0",
# "ch 1") and letter cells, once or twice side by side.
_GRID_ROW = re.compile(r"\s*(?:(?:case|ch) \d+ +(?:[a-z0-9] +)*[a-z0-9] ?\s*)+")
_GRID_PART = re.compile(r"((?:case|ch) \d+ +)((?:[a-z0-9] +)*[a-z0-9](?= |$))")


def colorize(text: str) -> str:
    """Plain grouping pictures in `text` (feedback, a report) with each group's colour,
    for a colour terminal; every other line is left as it is."""
    def cell(c: re.Match[str]) -> str:
        colored = _cell(LETTERS.index(c.group(1)), True)  # the letter and one space
        return colored if c.group(2) else colored.replace(" \x1b[0m", "\x1b[0m")

    def part(m: re.Match[str]) -> str:
        return m.group(1) + re.sub(r"([a-z0-9])( ?)", cell, m.group(2))

    return "\n".join(_GRID_PART.sub(part, line) if _GRID_ROW.fullmatch(line) else line
                      for line in text.split("\n"))
