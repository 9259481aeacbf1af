"""Figures: the pictures of normquiz.diagrams as matplotlib plots, and the experiments
behind the data pictures.

Every number a figure shows is computed here, from numpy, when it is drawn:

- `depth_statistics`: a deep random ReLU network, without normalization, with
  layer norm and with batch norm, and batch norm at batch size 1 vs 32;
- `rnn_statistics`: a tanh RNN and a layer-normalized one (Eq. 4) whose
  weights are scaled by several factors;
- `table1_data`: the invariance topic's own Table 1 experiment (the one
  `normquiz explain` runs for each cell, quizzes/invariance/generators.py).

matplotlib is optional (`pip install 'normquiz[plots]'`) and imported only to
draw; `terminal` gives each picture's text form without it.

    figure(name)          a matplotlib Figure (no pyplot: no global state)
    save(name, path)      write it to a PNG, SVG or PDF file
    show(name)            display it in a notebook (normquiz start --notebook)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from normquiz import diagrams
from normquiz.errors import NormquizError

INSTALL_HINT = "pip install 'normquiz[plots]' (or: pip install matplotlib)"
EPS = 1e-5


class PlotsUnavailable(NormquizError):
    """matplotlib is not installed."""


def require_matplotlib() -> Any:
    """The matplotlib module, or a PlotsUnavailable error that says how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable(
            "Figures need matplotlib, which normquiz does not install by default. "
            f"Install it with: {INSTALL_HINT}") from None
    return matplotlib


# ---------------------------------------------------------------- experiments


def _ln(a: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Layer norm of each case (last axis), gain 1, bias 0 (Eq. 3)."""
    mu = a.mean(axis=-1, keepdims=True)
    return (a - mu) / np.sqrt(((a - mu) ** 2).mean(axis=-1, keepdims=True) + eps)


def _bn(a: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Batch norm of each unit over the batch (axis 0), training mode, gain 1, bias 0."""
    mu = a.mean(axis=0)
    return (a - mu) / np.sqrt(((a - mu) ** 2).mean(axis=0) + eps)


_NORMS = {"none": lambda a: a, "ln": _ln, "bn": _bn}


def _deep_forward(x: np.ndarray, weights: list[np.ndarray],
                  norm: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The summed inputs a^l and outputs h^l = relu(norm(a^l)) of every layer."""
    h, out = x, []
    for w in weights:
        a = h @ w.T
        h = np.maximum(_NORMS[norm](a), 0.0)
        out.append((a, h))
    return out


def depth_statistics(layers: int = 12, width: int = 64, batch: int = 32, scale: float = 2.0,
                     seed: int = 0) -> dict[str, Any]:
    """Statistics of a deep random ReLU network, layer by layer.

    Weights ~ N(0, scale²/width) (scale 2 is too large for ReLU: without
    normalization the spread grows by about √2 per layer). Returns, per layer:
    `spread[method]`, the std of the summed inputs a^l over all cases and units
    (batch of `batch` cases); and `across[name]`, how much the layer's output
    h^l differs between cases (std over the cases, averaged over the units),
    with the cases in one batch ('bn-32', 'ln-32') or each alone ('bn-1', 'ln-1').
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(batch, width))
    weights = [rng.normal(0.0, scale / np.sqrt(width), size=(width, width))
               for _ in range(layers)]
    spread = {m: [float(a.std()) for a, _ in _deep_forward(x, weights, m)]
              for m in ("none", "ln", "bn")}
    across = {}
    for m in ("bn", "ln"):
        together = [h for _, h in _deep_forward(x, weights, m)]
        alone = [np.concatenate(hs) for hs in zip(*(
            [h for _, h in _deep_forward(x[i:i + 1], weights, m)] for i in range(batch)))]
        across[f"{m}-{batch}"] = [float(h.std(axis=0).mean()) for h in together]
        across[f"{m}-1"] = [float(h.std(axis=0).mean()) for h in alone]
    return {"layers": layers, "width": width, "batch": batch, "scale": scale,
            "spread": spread, "across": across}


def rnn_statistics(steps: int = 30, hidden: int = 32, inputs: int = 8, batch: int = 16,
                   scales: tuple[float, ...] = (0.25, 1.0, 4.0), seed: int = 0) -> dict[str, Any]:
    """The hidden state of a tanh RNN over time, with and without layer norm (Eq. 4).

    a_t = h_{t-1} W_hh^T + x_t W_xh^T, then h_t = tanh(a_t) or tanh(LN(a_t))
    (gain 1, bias 0, ε = 1e-5), from h_0 = 0, with both weight matrices scaled
    by each factor in `scales`. Per step: `std[(norm, scale)]`, the std of h_t
    over the units, averaged over the cases; `saturated[(norm, scale)]`, the
    share of units with |h_t| > 0.99.
    """
    rng = np.random.default_rng(seed)
    w_xh = rng.normal(0.0, 1.0 / np.sqrt(inputs), size=(hidden, inputs))
    w_hh = rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(hidden, hidden))
    xs = rng.normal(0.0, 1.0, size=(steps, batch, inputs))
    std: dict[tuple[str, float], list[float]] = {}
    saturated: dict[tuple[str, float], list[float]] = {}
    for norm in ("none", "ln"):
        for s in scales:
            h = np.zeros((batch, hidden))
            std[norm, s], saturated[norm, s] = [], []
            for t in range(steps):
                a = h @ (s * w_hh).T + xs[t] @ (s * w_xh).T
                h = np.tanh(_NORMS[norm](a))
                std[norm, s].append(float(h.std(axis=-1).mean()))
                saturated[norm, s].append(float((np.abs(h) > 0.99).mean()))
    return {"steps": steps, "scales": scales, "std": std, "saturated": saturated}


def _invariance() -> Any:
    from normquiz.content import default_catalog, load_generators

    return load_generators(default_catalog().topic("invariance"))


def table1_data(eps: float = 0.0) -> dict[str, Any]:
    """Table 1 measured by the invariance topic's experiment: the largest change of each
    method's output under each transformation, and whether that is rounding level."""
    gen = _invariance()
    changes = {(m, t): gen.table1_change(m, t, eps=eps)
               for t in gen.TRANSFORMATIONS for m in gen.METHODS}
    return {"methods": list(gen.METHODS), "transformations": list(gen.TRANSFORMATIONS),
            "changes": changes, "rounding_level": gen.ROUNDING_LEVEL,
            "invariant": {k: v < gen.ROUNDING_LEVEL for k, v in changes.items()},
            "format": gen.format_change}


# ---------------------------------------------------------------- terminal text

METHOD_NAMES = {"bn": "batch norm", "wn": "weight norm", "ln": "layer norm", "none": "none"}
TRANSFORMATION_NAMES = {
    "weight_rescaling": "weight-matrix re-scaling",
    "weight_recentering": "weight-matrix re-centering",
    "weight_vector_rescaling": "weight-vector re-scaling",
    "dataset_rescaling": "dataset re-scaling",
    "dataset_recentering": "dataset re-centering",
    "single_case_rescaling": "single-case re-scaling",
}
_FLOOR, _TOP = 1e-17, 1e2  # the log scale of Table 1's bars


def _table1_text(exercise_id: str | None) -> str:
    data = table1_data()
    rows = data["transformations"]
    if exercise_id and exercise_id.startswith("inv_"):
        picked = [t for t in rows if exercise_id.endswith("_" + t)]
        rows = picked or rows
    fmt = data["format"]
    lines = ["The largest change of each output (ε = 0), on a log scale from 1e-17 to 100;",
             f"below {fmt(data['rounding_level'])} it is rounding: the method is invariant."]
    for t in rows:
        lines += ["", TRANSFORMATION_NAMES[t]]
        for m in data["methods"]:
            v = data["changes"][m, t]
            verdict = "invariant" if data["invariant"][m, t] else "not invariant"
            lines.append(f"  {METHOD_NAMES[m]:<12}{diagrams.bar(v, _FLOOR, _TOP, 24, log=True)}"
                         f" {fmt(v):>8}  {verdict}")
    return "\n".join(lines)


def _range(values: list[float]) -> str:
    return f"{values[0]:.3g} → {values[-1]:.3g}"


def _depth_text() -> str:
    d = depth_statistics()
    spread, across = d["spread"], d["across"]
    n = d["batch"]
    low = min(min(v) for v in spread.values())
    high = max(max(v) for v in spread.values())
    lines = [f"A random ReLU network of {d['layers']} layers, {d['width']} units, {n} cases.",
             f"Std of each layer's summed inputs, layer 1 → {d['layers']} (log scale):"]
    for m, label in (("none", "no normalization"), ("ln", "layer norm"),
                     ("bn", f"batch norm, N = {n}")):
        lines.append(f"  {label:<20}{diagrams.sparkline(spread[m], low, high, log=True)}  "
                     f"{_range(spread[m])}")
    high = max(max(v) for v in across.values())
    lines += ["How much each layer's output differs between the cases, run in one batch",
              f"of N = {n} or each alone (N = 1):"]
    for key, label in ((f"bn-{n}", f"batch norm, N = {n}"), ("bn-1", "batch norm, N = 1"),
                       (f"ln-{n}", f"layer norm, N = {n}"), ("ln-1", "layer norm, N = 1")):
        lines.append(f"  {label:<20}{diagrams.sparkline(across[key], 0.0, high)}  "
                     f"{_range(across[key])}")
    lines += ["Batch norm on one case outputs its bias whatever the input; layer norm",
              f"gives the same at N = 1 and N = {n}."]
    return "\n".join(lines)


def _rnn_text() -> str:
    r = rnn_statistics()
    lines = [f"Std of the hidden state h_t over its units, steps 1 → {r['steps']}, with both "
             "weight", "matrices scaled by each factor (▁ = 0, █ = 1):"]
    for norm, label in (("none", "tanh RNN"), ("ln", "LN-RNN")):
        for s in r["scales"]:
            values = r["std"][norm, s]
            lines.append(f"  {f'{label} × {s:g}':<17}{diagrams.sparkline(values, 0.0, 1.0)}  "
                         f"{_range(values)}")
    lines.append("Layer norm removes the scale of the summed inputs (§3.1): its three lines "
                 "agree.")
    return "\n".join(lines)


def terminal(name: str, exercise_id: str | None = None, color: bool = False) -> str | None:
    """The text form of a picture (diagrams.PICTURES), as `normquiz explain` prints it."""
    if name not in diagrams.PICTURES:
        raise ValueError(f"unknown picture {name!r}")
    drawn = diagrams.grouping_picture(name, color=color)
    if drawn is not None:
        return drawn
    if name == "table1":
        return _table1_text(exercise_id)
    if name == "depth-statistics":
        return _depth_text()
    if name == "rnn-statistics":
        return _rnn_text()
    return None


# ---------------------------------------------------------------- figures

# One colour per group, like the terminal's (matplotlib's tab20 pastel half, reordered).
_GROUP_COLORS = ("#aec7e8", "#ff9896", "#98df8a", "#ffbb78", "#c5b0d5", "#9edae5",
                 "#dbdb8d", "#f7b6d2", "#c49c94", "#c7c7c7", "#e7cb94", "#a1d99b")
_METHOD_COLORS = {"bn": "#1f77b4", "wn": "#ff7f0e", "ln": "#2ca02c", "none": "#7f7f7f"}


def _grouping_axes(ax: Any, grouping: str, shape: tuple[int, ...]) -> None:
    """One grouping drawn as coloured cells with their group's letter."""
    from matplotlib.colors import ListedColormap

    ids = np.array(diagrams.group_ids(grouping, shape), dtype=float)
    if ids.ndim == 2:  # (N, H): cases down, units across
        grid = ids
        xlabels = [f"{h + 1}" for h in range(shape[1])]
        ax.set_xlabel("hidden unit")
        ax.set_ylabel("training case")
        ax.set_yticks(range(shape[0]), [f"{n + 1}" for n in range(shape[0])])
    else:  # (N, C, S): each sample a block of channels x positions, a blank column between
        n_, c_, s_ = shape
        blocks = [ids[n] for n in range(n_)]
        gap = np.full((c_, 1), np.nan)
        grid = np.hstack([p for n, b in enumerate(blocks) for p in ((gap, b) if n else (b,))])
        # Numbered from 0, as the group norm exercise and questions number them.
        xlabels = [str(s) if s < s_ else "" for n in range(n_) for s in range(s_ + 1)][:-1]
        ax.set_xlabel("position (H·W) in " + ", ".join(f"sample {n}" for n in range(n_)))
        ax.set_ylabel("channel")
        ax.set_yticks(range(c_), [f"{c}" for c in range(c_)])
    colors = ListedColormap(_GROUP_COLORS)
    ax.imshow(np.ma.masked_invalid(grid % len(_GROUP_COLORS)), cmap=colors,
              vmin=-0.5, vmax=len(_GROUP_COLORS) - 0.5)
    ax.set_xticks(range(grid.shape[1]), xlabels)
    for (i, j), k in np.ndenumerate(grid):
        if not np.isnan(k):
            ax.text(j, i, diagrams.LETTERS[int(k) % len(diagrams.LETTERS)],
                    ha="center", va="center", fontsize=11)
    title, caption = diagrams.describe(grouping, shape)
    ax.set_title(f"{title}\n{caption}", fontsize=10)


def _grouping_figure(fig: Any, groupings: list[str], shape: tuple[int, ...],
                     columns: int) -> None:
    rows = -(-len(groupings) // columns)
    for i, grouping in enumerate(groupings):
        _grouping_axes(fig.add_subplot(rows, columns, i + 1), grouping, shape)
    fig.suptitle("Entries with the same letter and colour share one mean and one variance")


def _depth_figure(fig: Any) -> None:
    d = depth_statistics()
    layers = range(1, d["layers"] + 1)
    n = d["batch"]
    left, right = fig.subplots(1, 2)
    for m, label in (("none", "no normalization"), ("ln", "layer norm"),
                     ("bn", f"batch norm, N = {n}")):
        left.plot(layers, d["spread"][m], marker="o", color=_METHOD_COLORS[m], label=label)
    left.set_yscale("log")
    left.set_xlabel("layer")
    left.set_ylabel("std of the summed inputs a (log scale)")
    left.set_title(f"A deep random ReLU network ({d['width']} units per layer)", fontsize=10)
    left.legend()
    for key, label, style in ((f"bn-{n}", f"batch norm, N = {n}", "-"),
                              ("bn-1", "batch norm, N = 1", ":"),
                              (f"ln-{n}", f"layer norm, N = {n}", "-"),
                              ("ln-1", "layer norm, N = 1", "--")):
        right.plot(layers, d["across"][key], style, marker="o" if style == "-" else None,
                   color=_METHOD_COLORS[key[:2]], label=label, linewidth=2)
    right.set_xlabel("layer")
    right.set_ylabel("std of the layer's output over the cases")
    right.set_title(f"{n} cases in one batch, or each alone (N = 1)", fontsize=10)
    right.legend()
    fig.suptitle("Activation statistics layer by layer")


def _table1_figure(fig: Any, exercise_id: str | None) -> None:
    data = table1_data()
    ax = fig.subplots()
    methods, transformations = data["methods"], data["transformations"]
    width = 0.8 / len(methods)
    fmt = data["format"]
    for i, m in enumerate(methods):
        xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(transformations))]
        values = [data["changes"][m, t] for t in transformations]
        bars = ax.bar(xs, [max(v, _FLOOR) for v in values], width, color=_METHOD_COLORS[m],
                      label=METHOD_NAMES[m])
        for rect, t, v in zip(bars, transformations, values):
            if exercise_id and exercise_id == f"inv_{m}_{t}":
                rect.set_edgecolor("black")
                rect.set_linewidth(2.5)
            ax.annotate(fmt(v), (rect.get_x() + rect.get_width() / 2, max(v, _FLOOR)),
                        ha="center", va="bottom", fontsize=7, rotation=90,
                        xytext=(0, 2), textcoords="offset points")
    ax.axhline(data["rounding_level"], color="black", linestyle="--", linewidth=1)
    ax.text(-0.45, data["rounding_level"] * 3, "rounding level: below it, invariant",
            ha="left", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(_FLOOR, _TOP * 100)
    ax.set_xticks(range(len(transformations)),
                  [TRANSFORMATION_NAMES[t].replace(" re-", "\nre-") for t in transformations],
                  fontsize=8)
    ax.set_ylabel("largest change of the output (log scale)")
    ax.legend(loc="upper left")
    ax.set_title("Table 1 measured: how far each method's output moves (ε = 0; "
                 "N = 8, D = 4, H = 5, seed 0)", fontsize=10)


def _rnn_figure(fig: Any) -> None:
    r = rnn_statistics()
    steps = range(1, r["steps"] + 1)
    left, right = fig.subplots(1, 2)
    shades = dict(zip(r["scales"], ("#9ecae1", "#3182bd", "#08306b")))
    for norm, label, style in (("none", "tanh RNN", "-"), ("ln", "LN-RNN", "--")):
        for s in r["scales"]:
            color = shades[s] if norm == "none" else _METHOD_COLORS["ln"]
            left.plot(steps, r["std"][norm, s], style, color=color,
                      label=f"{label}, weights × {s:g}")
            right.plot(steps, r["saturated"][norm, s], style, color=color,
                       label=f"{label}, weights × {s:g}")
    left.set_xlabel("time step t")
    left.set_ylabel("std of h_t over the units")
    left.set_ylim(0, 1)
    left.legend(fontsize=8, loc="center right")
    right.set_xlabel("time step t")
    right.set_ylabel("share of units with |h_t| > 0.99 (saturated)")
    right.set_ylim(0, 1)
    fig.suptitle("The hidden state over time: with layer norm it does not depend on a "
                 "common scale of the weights")


_SIZES = {"ln-vs-bn": (8, 4.4), "bn-vs-ln": (8, 4.4), "group-norm": (9, 7),
          "depth-statistics": (11, 4.5), "table1": (10, 5.5), "rnn-statistics": (11, 4.5)}


def figure(name: str, exercise_id: str | None = None) -> Any:
    """The picture `name` (diagrams.PICTURES) as a matplotlib Figure.

    `exercise_id` marks the exercise's own cell where there is one (Table 1).
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    if name not in diagrams.PICTURES:
        raise ValueError(f"unknown picture {name!r}; one of {', '.join(diagrams.PICTURES)}")
    fig = Figure(figsize=_SIZES[name], layout="constrained")
    if name == "ln-vs-bn":
        _grouping_figure(fig, ["ln", "bn"], diagrams.BATCH, 2)
    elif name == "bn-vs-ln":
        _grouping_figure(fig, ["bn", "ln"], diagrams.BATCH, 2)
    elif name == "group-norm":
        _grouping_figure(fig, ["bn", "ln", "in", "gn"], diagrams.CONV, 2)
    elif name == "depth-statistics":
        _depth_figure(fig)
    elif name == "table1":
        _table1_figure(fig, exercise_id)
    elif name == "rnn-statistics":
        _rnn_figure(fig)
    return fig


def save(name: str, path: Path | str, exercise_id: str | None = None) -> None:
    """Write the picture to `path`; its extension picks the format (png, svg, pdf)."""
    figure(name, exercise_id).savefig(str(path), dpi=100)


def png(name: str, exercise_id: str | None = None) -> bytes:
    import io

    buffer = io.BytesIO()
    figure(name, exercise_id).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def show(name: str, exercise_id: str | None = None) -> None:
    """Display the picture in a notebook (a PNG output), or say how to get matplotlib."""
    try:
        data = png(name, exercise_id)
    except PlotsUnavailable as e:
        print(e)
        return
    try:
        from IPython.display import Image, display
    except ImportError:  # not in a kernel: nothing to display on
        print(f"show() displays in a notebook; elsewhere use normquiz.plots.save({name!r}, "
              "'figure.png').")
        return
    display(Image(data=data, format="png"))
