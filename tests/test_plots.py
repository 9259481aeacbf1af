"""Figures (normquiz.plots): each renders headless, and every number it shows is right."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from helpers import needs

# A test extra: skipped on a developer's machine without it, a failure under CI.
needs(importlib.util.find_spec("matplotlib") is not None, "matplotlib (the plots test extra)")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # headless; plots never use pyplot, this only guards the tests

from matplotlib.image import imread  # noqa: E402

from normquiz import plots  # noqa: E402
from normquiz.content import default_catalog  # noqa: E402
from normquiz.diagrams import CONV, PICTURES  # noqa: E402
from normquiz.notebook import FIGURE, build_notebook, read_notebook  # noqa: E402

# errata.md, Table 1 (verified numerically), ε = 0: "Invariant" cells, and the changes
# (3 significant figures) of the cells that are not.
INVARIANT = {
    "bn": {"weight_rescaling", "weight_vector_rescaling", "dataset_rescaling",
           "dataset_recentering"},
    "wn": {"weight_rescaling", "weight_vector_rescaling"},
    "ln": {"weight_rescaling", "weight_recentering", "dataset_rescaling",
           "single_case_rescaling"},
}
NOT_INVARIANT = {("bn", "weight_recentering"): 4.19, ("wn", "weight_recentering"): 8.18,
                 ("ln", "weight_vector_rescaling"): 1.10, ("wn", "dataset_rescaling"): 15.9,
                 ("wn", "dataset_recentering"): 17.2, ("ln", "dataset_recentering"): 4.26,
                 ("bn", "single_case_rescaling"): 1.49, ("wn", "single_case_rescaling"): 6.54}


# ---------------------------------------------------------------- the numbers


def test_table1_data_matches_the_errata_table():
    data = plots.table1_data()
    assert len(data["changes"]) == 18
    for (method, transformation), change in data["changes"].items():
        invariant = transformation in INVARIANT[method]
        assert data["invariant"][method, transformation] == invariant
        if invariant:
            assert change < 1e-14, (method, transformation, change)
        else:
            assert f"{change:#.3g}" == f"{NOT_INVARIANT[method, transformation]:#.3g}"


def test_depth_statistics():
    d = plots.depth_statistics()
    spread, across = d["spread"], d["across"]
    assert spread["none"][-1] / spread["none"][0] > 10  # without normalization it drifts
    for m in ("ln", "bn"):  # with it, it stays put
        assert max(spread[m]) / min(spread[m]) < 2, (m, spread[m])
    assert spread["none"][0] == spread["ln"][0] == spread["bn"][0]  # same first layer
    assert all(v == 0.0 for v in across["bn-1"])  # BN on one case: the output is the bias
    assert min(across["bn-32"]) > 0.3
    np.testing.assert_allclose(across["ln-1"], across["ln-32"], rtol=0, atol=1e-12)
    assert len(spread["none"]) == d["layers"] == 12


def test_depth_statistics_bn_at_batch_size_one_outputs_the_bias():
    # Checked on its own: one case through a BN layer gives x̂ = 0 for every unit.
    a = np.random.default_rng(1).normal(size=(1, 5))
    assert np.all(plots._bn(a) == 0.0)
    np.testing.assert_allclose(plots._ln(a * 3.0), plots._ln(a), atol=1e-4)  # ε: not exact


def test_rnn_statistics():
    r = plots.rnn_statistics()
    small, one, large = r["scales"]
    for s in r["scales"]:  # LN-RNN: scaling both matrices scales every a_t: no change
        np.testing.assert_allclose(r["std"]["ln", s], r["std"]["ln", one], atol=1e-3)
    assert max(r["std"]["none", small]) < 0.4 < 0.8 < min(r["std"]["none", large])
    assert min(r["saturated"]["none", large]) > 0.3
    assert max(r["saturated"]["ln", large]) < 0.05
    assert len(r["std"]["none", one]) == r["steps"]


def test_rnn_statistics_use_eq4():
    # One step by hand: h_1 = tanh(LN(x_1 W_xh^T)) from h_0 = 0.
    r = plots.rnn_statistics(steps=1, scales=(1.0,))
    rng = np.random.default_rng(0)
    w_xh = rng.normal(0.0, 1.0 / np.sqrt(8), size=(32, 8))
    rng.normal(0.0, 1.0 / np.sqrt(32), size=(32, 32))
    x = rng.normal(0.0, 1.0, size=(1, 16, 8))
    a = x[0] @ w_xh.T
    h = np.tanh((a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5))
    assert r["std"]["ln", 1.0][0] == pytest.approx(float(h.std(axis=-1).mean()), abs=1e-12)


# ---------------------------------------------------------------- the figures


def _png_pixels(path):
    image = imread(str(path))
    return image.reshape(-1, image.shape[-1])


@pytest.mark.parametrize("name", list(PICTURES))
def test_every_figure_renders_to_a_png_that_is_not_one_colour(name, tmp_path):
    path = tmp_path / f"{name}.png"
    plots.save(name, path)
    assert path.stat().st_size > 5000
    pixels = _png_pixels(path)
    assert len(np.unique(pixels.round(2), axis=0)) > 10


def test_grouping_figures_have_a_cell_per_entry():
    fig = plots.figure("ln-vs-bn")
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.images) == 1
        assert len(ax.texts) == 3 * 4
    assert "layer norm" in fig.axes[0].get_title() and "batch norm" in fig.axes[1].get_title()
    letters = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert len(set(letters[0])) == 3 and len(set(letters[1])) == 4
    fig = plots.figure("group-norm")
    assert len(fig.axes) == 4
    n, c, s = CONV
    assert [len(ax.texts) for ax in fig.axes] == [n * c * s] * 4
    groups = [len({t.get_text() for t in ax.texts}) for ax in fig.axes]
    assert groups == [c, n, n * c, n * 2]  # BN, LN, IN, GN with G = 2


def test_table1_figure_has_18_bars_of_the_measured_heights():
    data = plots.table1_data()
    fig = plots.figure("table1", "inv_ln_weight_recentering")
    [ax] = fig.axes
    bars = ax.patches
    assert len(bars) == 18
    heights = sorted(b.get_height() for b in bars)
    expected = sorted(max(v, plots._FLOOR) for v in data["changes"].values())
    np.testing.assert_allclose(heights, expected, rtol=1e-12)
    assert ax.get_yscale() == "log"
    marked = [b for b in bars if b.get_linewidth() > 2]
    assert len(marked) == 1  # the exercise's own cell
    assert marked[0].get_height() == max(data["changes"]["ln", "weight_recentering"],
                                         plots._FLOOR)
    labels = {t.get_text() for t in ax.texts}
    assert {"4.19", "8.18", "1.10", "15.9", "17.2", "4.26", "1.49", "6.54", "0"} <= labels


def test_depth_and_rnn_figures_have_their_lines():
    fig = plots.figure("depth-statistics")
    left, right = fig.axes
    assert len(left.lines) == 3 and len(right.lines) == 4
    d = plots.depth_statistics()
    np.testing.assert_allclose(left.lines[0].get_ydata(), d["spread"]["none"])
    assert left.get_yscale() == "log"
    assert not np.any(right.lines[1].get_ydata())  # batch norm, N = 1: zero everywhere
    fig = plots.figure("rnn-statistics")
    assert [len(ax.lines) for ax in fig.axes] == [6, 6]


def test_save_picks_the_format_from_the_extension(tmp_path):
    plots.save("ln-vs-bn", tmp_path / "f.svg")
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError):
        plots.save("ln-vs-bn", tmp_path / "f.nope")
    with pytest.raises(ValueError, match="unknown picture"):
        plots.figure("nope")


def test_without_matplotlib_figures_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(plots.PlotsUnavailable, match=r"pip install 'normquiz\[plots\]'"):
        plots.figure("table1")
    assert "share one mean" in (plots.terminal("ln-vs-bn") or "")  # the terminal needs none


def test_terminal_forms_of_the_data_pictures():
    depth = plots.terminal("depth-statistics") or ""
    assert "no normalization" in depth and "batch norm, N = 1" in depth and "0 → 0" in depth
    rnn = plots.terminal("rnn-statistics") or ""
    assert rnn.count("LN-RNN ×") == 3 and rnn.count("tanh RNN ×") == 3
    table = plots.terminal("table1") or ""
    verdicts = [line.rsplit("  ", 1)[-1] for line in table.splitlines() if "norm " in line]
    assert verdicts.count("not invariant") == 8 and verdicts.count("invariant") == 10
    one = plots.terminal("table1", "inv_wn_dataset_rescaling") or ""
    assert "dataset re-scaling" in one and "15.9" in one
    assert len([line for line in one.splitlines() if "norm " in line]) == 3


# ---------------------------------------------------------------- explain --plot, notebooks


def test_explain_plot_writes_the_figure(run, tmp_path):
    result = run("explain", "groupnorm_forward", "--plot", "groups.png")
    assert result.exit_code == 0, result.output
    assert "Wrote the figure to groups.png" in result.output
    assert (tmp_path / "groups.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "--plot FILE.png)" not in result.output
    result = run("explain", "inv_bn_single_case_rescaling", "--plot", "t1.pdf")
    assert result.exit_code == 0 and (tmp_path / "t1.pdf").read_bytes()[:4] == b"%PDF"
    result = run("explain", "ln_axis", "--plot", "nowhere/x.png")
    assert result.exit_code == 1 and "could not write nowhere/x.png" in result.output


def test_figure_cells_are_never_part_of_the_graded_module(tmp_path):
    catalog = default_catalog()
    for topic in catalog.topics():
        notebook = build_notebook(topic, 3)
        figures = [c for c in notebook.cells for t in c.metadata.get("tags", [])
                   if t.startswith(FIGURE)]
        pictures = {e.picture for e in topic.exercises if e.picture}
        assert {c.metadata["tags"][0][len(FIGURE):] for c in figures} == pictures
        for cell in figures:  # only a call and comments: nothing is kept from it
            code = [ln for ln in cell.source.splitlines() if not ln.startswith("#")]
            assert code == [f'normquiz.plots.show("{cell.metadata["tags"][0][len(FIGURE):]}")']
        path = tmp_path / f"{topic.slug}.ipynb"
        import nbformat

        nbformat.write(notebook, str(path))
        source = read_notebook(path, topic).source
        assert "plots" not in source and "importlib" not in source


def test_a_code_exercise_figure_follows_its_worked_example():
    topic = default_catalog().topic("layernorm")
    cells = build_notebook(topic, 3).cells
    i = next(i for i, c in enumerate(cells) if FIGURE + "ln-vs-bn" in c.metadata.get("tags", []))
    assert cells[i - 1].source.startswith("**Worked example.**")
    assert "normquiz:exercise:layernorm_forward" in cells[i + 1].metadata["tags"]
    # A question's figure gives its answer away: after every question, in one section.
    j = next(i for i, c in enumerate(cells)
             if FIGURE + "depth-statistics" in c.metadata.get("tags", []))
    assert any(c.source.startswith("## Pictures") for c in cells[:j])
    assert not any("normquiz:answer:" in t for c in cells[j:] for t in c.metadata.get("tags", []))
