"""Terminal pictures (normquiz.diagrams): which entries share statistics, drawn as letters."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from normquiz import diagrams
from normquiz.content import ContentError, _Exercise, default_catalog, validation_problems
from normquiz.diagrams import (
    CONV,
    MISTAKE_GROUPINGS,
    PICTURES,
    draw,
    group_ids,
    grouping_picture,
    mistake_picture,
    panel,
)

ESCAPE = "\x1b"


def grid(lines: list[str], label: str) -> list[list[str]]:
    """The letters of the rows whose label starts with `label` ('case', 'ch'), one list per
    row; in an (N, C, S) panel a row holds every sample's positions in order."""
    rows = []
    for line in lines:
        if re.match(label + r" \d", line):
            plain = re.sub(ESCAPE + r"\[[0-9;]*m", "", line)
            rows.append(re.sub(label + r" \d+", "", plain).split())
    return rows


def columns(rows: list[list[str]]) -> list[set[str]]:
    return [set(col) for col in zip(*rows)]


# ---------------------------------------------------------------- the groups themselves


def test_batch_norm_groups_each_column_and_layer_norm_each_row():
    bn = group_ids("bn", (3, 4))
    assert bn == [[0, 1, 2, 3]] * 3  # 4 groups, each a column
    ln = group_ids("ln", (3, 4))
    assert ln == [[0] * 4, [1] * 4, [2] * 4]  # 3 groups, each a row
    assert group_ids("whole", (3, 4)) == [[0] * 4] * 3


def test_group_norm_groups_consecutive_channels_per_sample():
    gn = group_ids("gn", (2, 4, 3), num_groups=2)
    assert [[row[0] for row in sample] for sample in gn] == [[0, 0, 1, 1], [2, 2, 3, 3]]
    assert all(len(set(row)) == 1 for sample in gn for row in sample)  # all positions alike
    interleaved = group_ids("gn-interleaved", (2, 4, 3), num_groups=2)
    assert [[row[0] for row in sample] for sample in interleaved] == [[0, 1, 0, 1],
                                                                      [2, 3, 2, 3]]
    assert interleaved != gn
    instance = group_ids("in", (2, 4, 3))
    assert len({k for s in instance for row in s for k in row}) == 2 * 4  # N x C groups
    pooled = group_ids("gn-batch", (2, 4, 3))
    assert pooled[0] == pooled[1]  # every sample shares the groups: the batch is pooled
    assert group_ids("bn", (2, 4, 3))[0] == group_ids("bn", (2, 4, 3))[1]
    assert len({k for s in group_ids("ln", (2, 4, 3)) for row in s for k in row}) == 2


def test_g_equal_one_and_c_are_layer_norm_and_instance_norm():
    assert group_ids("gn", CONV, num_groups=1) == group_ids("ln", CONV)
    assert group_ids("gn", CONV, num_groups=CONV[1]) == group_ids("in", CONV)


def test_bad_shapes_and_names_are_refused():
    with pytest.raises(ValueError, match="do not divide"):
        group_ids("gn", (2, 4, 3), num_groups=3)
    with pytest.raises(ValueError, match="unknown grouping"):
        group_ids("rms", (2, 3))
    with pytest.raises(ValueError, match="shape"):
        group_ids("bn", (2,))


# ---------------------------------------------------------------- the text


def test_batch_norm_on_a_3_by_4_batch_draws_4_column_groups():
    rows = grid(panel("bn", (3, 4)), "case")
    assert len(rows) == 3 and all(len(r) == 4 for r in rows)
    assert [len(c) for c in columns(rows)] == [1, 1, 1, 1]  # each column one letter
    assert len({x for r in rows for x in r}) == 4  # 4 distinct groups


def test_layer_norm_on_a_3_by_4_batch_draws_3_row_groups():
    rows = grid(panel("ln", (3, 4)), "case")
    assert [len(set(r)) for r in rows] == [1, 1, 1]  # each row one letter
    assert len({r[0] for r in rows}) == 3


def test_group_norm_with_two_groups_on_four_channels_pairs_channels():
    rows = grid(panel("gn", (2, 4, 3)), "ch")
    assert len(rows) == 4 and all(len(r) == 6 for r in rows)  # 2 samples x 3 positions
    sample1 = [r[:3] for r in rows]
    assert [len(set(r)) for r in sample1] == [1] * 4
    assert sample1[0] == sample1[1] and sample1[2] == sample1[3] and sample1[0] != sample1[2]
    assert not {x for r in rows for x in r[:3]} & {x for r in rows for x in r[3:]}
    interleaved = grid(panel("gn-interleaved", (2, 4, 3)), "ch")
    assert interleaved != rows
    assert interleaved[0] == interleaved[2] and interleaved[0] != interleaved[1]


def test_plain_text_has_no_escape_sequences_and_colour_only_adds_them():
    for name in ("ln-vs-bn", "bn-vs-ln", "group-norm"):
        plain = grouping_picture(name, color=False)
        assert plain is not None and ESCAPE not in plain
        coloured = grouping_picture(name, color=True)
        assert coloured is not None and "\x1b[48;5;" in coloured  # a background per group
        stripped = re.sub(ESCAPE + r"\[[0-9;]*m", "", coloured)
        assert [line.rstrip() for line in stripped.splitlines()] == plain.splitlines()


def test_each_group_gets_its_own_colour():
    lines = panel("bn", (3, 4), color=True)
    row = next(line for line in lines if line.startswith("case 1"))
    assert len(set(re.findall(r"\x1b\[48;5;(\d+)m", row))) == 4


def test_pictures_fit_a_terminal():
    texts = [grouping_picture(n) for n in ("ln-vs-bn", "bn-vs-ln", "group-norm")]
    texts += [mistake_picture(m, method) for method, m in MISTAKE_GROUPINGS]
    for text in texts:
        assert text is not None
        assert max(len(line) for line in text.splitlines()) <= 78, text


def test_draw_puts_panels_side_by_side_with_a_legend():
    text = draw(["bn", "ln", "in", "gn"], CONV)
    lines = text.splitlines()
    assert sum("batch norm" in line and "layer norm" in line for line in lines) == 1
    assert sum("instance norm" in line and "group norm, G = 2" in line for line in lines) == 1
    assert "share one mean and one variance" in text


# ---------------------------------------------------------------- side by side, for diagnoses

# What the learner grouped, for each grouping mistake the issue names.
EXPECTED = {
    ("ln", "wrong-axis"): "batch norm",
    ("ln", "whole-tensor"): "whole tensor",
    ("bn", "wrong-axis"): "layer norm",
    ("bn", "whole-tensor"): "whole tensor",
    ("gn", "instance-norm"): "instance norm",
    ("gn", "interleaved-groups"): "every G-th channel",
    ("gn", "batch-pooled"): "groups over the batch",
}


@pytest.mark.parametrize(("method", "mistake"), list(EXPECTED))
def test_mistake_picture_shows_what_was_grouped_beside_what_should_be(method, mistake):
    text = mistake_picture(mistake, method)
    assert text is not None and ESCAPE not in text
    lines = text.splitlines()
    assert "What your function grouped" in lines[0] and "What it should group" in lines[0]
    left, right = lines[1][:lines[0].index("What it")], lines[1][lines[0].index("What it"):]
    assert left.strip() == EXPECTED[method, mistake]
    assert right.strip() == {"ln": "layer norm", "bn": "batch norm",
                             "gn": "group norm, G = 2"}[method]


def test_mistake_picture_grids_differ_where_the_mistake_is():
    text = mistake_picture("wrong-axis", "ln")
    assert text is not None
    rows = grid(text.splitlines(), "case")
    yours, right = [r[:4] for r in rows], [r[4:] for r in rows]
    assert [len(c) for c in columns(yours)] == [1] * 4  # columns: batch norm
    assert [len(set(r)) for r in right] == [1] * 3  # rows: layer norm
    text = mistake_picture("batch-pooled", "gn")
    assert text is not None
    rows = grid(text.splitlines(), "ch")
    yours, right = [r[:6] for r in rows], [r[6:] for r in rows]
    assert [r[:3] for r in yours] == [r[3:] for r in yours]  # sample 2 shares sample 1's
    assert not {x for r in right for x in r[:3]} & {x for r in right for x in r[3:]}


def test_mistake_picture_takes_the_method_by_any_of_its_names():
    expected = mistake_picture("wrong-axis", "ln")
    for name in ("layernorm", "layernorm_forward", "ln-vs-bn"):
        assert mistake_picture("wrong-axis", name) == expected
    assert mistake_picture("instance-norm", "groupnorm_forward") == mistake_picture(
        "instance-norm", "group-norm")
    assert ESCAPE in (mistake_picture("wrong-axis", "bn", color=True) or "")


@pytest.mark.parametrize(("mistake", "method"), [
    ("unbiased-variance", "ln"), ("instance-norm", "ln"), ("wrong-axis", "gn"),
    ("wrong-axis", "weightnorm_forward"), ("wrong-axis", "table1")])
def test_mistake_picture_is_none_where_there_is_no_grouping_to_draw(mistake, method):
    assert mistake_picture(mistake, method) is None


GROUPING_MISTAKES = ["wrong-axis", "whole-tensor", "instance-norm", "interleaved-groups",
                     "batch-pooled"]


def test_every_grouping_mistake_of_the_shipped_exercises_has_a_picture():
    catalog = default_catalog()
    for exercise_id, method in (("layernorm_forward", "ln"), ("batchnorm_forward", "bn"),
                                ("groupnorm_forward", "gn")):
        _, exercise = catalog.find_exercise(exercise_id)
        declared = {m.id for m in exercise.mistakes} & set(GROUPING_MISTAKES)
        assert declared, exercise_id
        for mistake in declared:
            assert (method, mistake) in MISTAKE_GROUPINGS, (exercise_id, mistake)
            assert mistake_picture(mistake, exercise.picture or "") is not None
        assert diagrams.picture_method(exercise.picture or "") == method


# ---------------------------------------------------------------- colour decision, blocks


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    assert diagrams.use_color(_Stream(True))
    assert not diagrams.use_color(_Stream(False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not diagrams.use_color(_Stream(True))


def test_sparkline_and_bar():
    assert diagrams.sparkline([0, 0.5, 1, 2], 0, 1) == "▁▅██"
    assert diagrams.sparkline([1, 10, 100], 1, 100, log=True) == "▁▅█"
    assert diagrams.bar(1.0, 0.0, 1.0, 4) == "████"
    assert diagrams.bar(0.5, 0.0, 1.0, 4) == "██  "
    assert diagrams.bar(0.0, 0.0, 1.0, 4) == "    "
    assert diagrams.bar(1e-16, 1e-17, 1e2, 19, log=True).strip() == "█"


def test_diagrams_imports_nothing_heavy():
    code = "import sys, normquiz.diagrams; print(sorted({'numpy', 'matplotlib', 'yaml'} & " \
           "set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- manifests and explain

AXIS_ITEMS = {"layernorm_forward": "ln-vs-bn", "ln_axis": "ln-vs-bn",
              "batchnorm_forward": "bn-vs-ln", "bn_feature_std": "bn-vs-ln",
              "groupnorm_forward": "group-norm", "gn_between": "group-norm",
              "gn_instance_norm": "group-norm", "gn_one_group": "group-norm",
              "gn_group_stats": "group-norm", "layernorm_rnn_step": "rnn-statistics",
              "inv_ln_weight_recentering": "table1"}


def test_axis_exercises_and_questions_name_their_picture():
    catalog = default_catalog()
    for exercise_id, picture in AXIS_ITEMS.items():
        assert catalog.find_exercise(exercise_id)[1].picture == picture, exercise_id
    used = {e.picture for t in catalog.topics() for e in t.exercises if e.picture}
    assert used == set(PICTURES)  # every picture is used by the shipped content


def test_an_unknown_picture_is_a_content_error_naming_the_field():
    data = {"id": "x", "kind": "code", "title": "t", "prompt": "p", "explanation": "e",
            "hints": ["h"], "picture": "ln-vs-gn"}
    [problem] = validation_problems(_Exercise, data, None, "x.yaml")
    assert "field 'picture'" in problem and "unknown picture 'ln-vs-gn'" in problem
    assert "ln-vs-bn" in problem  # the names it could be
    data["picture"] = "ln-vs-bn"
    assert validation_problems(_Exercise, data, None, "x.yaml") == []
    assert issubclass(ContentError, Exception)


@pytest.mark.parametrize(("exercise_id", "shape"), [
    ("layernorm_forward", "layer norm"), ("ln_axis", "layer norm"),
    ("batchnorm_forward", "batch norm"), ("groupnorm_forward", "instance norm"),
    ("gn_one_group", "group norm, G = 2")])
def test_explain_draws_the_picture_as_plain_text_when_not_a_terminal(run, exercise_id, shape):
    result = run("explain", exercise_id)
    assert result.exit_code == 0, result.output
    out = result.output
    assert ESCAPE not in out
    assert "Picture · " in out and shape in out and "share one mean and one variance" in out
    assert f"normquiz explain {exercise_id} --plot FILE.png" in out
    # The picture comes before the mistakes, after the explanation.
    assert out.index("Picture · ") < out.index("Common mistakes") if "Common mistakes" in out \
        else True


def test_explain_needs_no_matplotlib_without_plot(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    for exercise_id in ("layernorm_forward", "inv_bn_dataset_recentering",
                        "ln_batch_size_one", "layernorm_rnn_step"):
        result = run("explain", exercise_id)
        assert result.exit_code == 0, result.output
        assert "Picture · " in result.output


def test_explain_plot_without_matplotlib_says_how_to_install_it(run, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run("explain", "layernorm_forward", "--plot", "fig.png")
    assert result.exit_code == 2
    assert "pip install 'normquiz[plots]'" in result.output
    assert result.output.startswith("Error: ")  # only the error: nothing half-printed
    assert not (tmp_path / "fig.png").exists()


def test_explain_plot_of_an_exercise_without_a_picture_is_a_usage_error(run):
    result = run("explain", "exp_batch_mean", "--plot", "fig.png")
    assert result.exit_code == 2
    assert "'exp_batch_mean' has no picture to plot" in result.output
    assert "more" in result.output


def test_explain_of_a_table1_cell_draws_its_transformation_for_every_method(run):
    out = run("explain", "inv_ln_dataset_recentering").output
    section = out[out.index("Picture · "):]
    assert "dataset re-centering" in section
    lines = {line.split()[0] + " " + line.split()[1]: line for line in section.splitlines()
             if line.startswith("  ") and "norm" in line}
    # errata.md, Table 1: dataset re-centering is BN Invariant, WN No, LN No.
    assert lines["batch norm"].endswith(" invariant") and "not" not in lines["batch norm"]
    assert lines["weight norm"].endswith("not invariant") and "17.2" in lines["weight norm"]
    assert lines["layer norm"].endswith("not invariant") and "4.26" in lines["layer norm"]


def test_the_readme_shows_the_picture_explain_draws():
    from pathlib import Path

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert grouping_picture("ln-vs-bn") in readme
    assert "(docs/picture-group-norm.png)" in readme
    assert (root / "docs" / "picture-group-norm.png").read_bytes()[:4] == b"\x89PNG"


def test_samples_and_channels_are_numbered_from_0_as_the_group_norm_content_numbers_them():
    text = "\n".join(diagrams.panel("gn", diagrams.CONV))
    assert "ch 0" in text and "sample 0" in text
    assert f"ch {diagrams.CONV[1]}" not in text and f"sample {diagrams.CONV[0]}" not in text


def test_grade_colours_a_grouping_picture_on_a_terminal_only(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from normquiz.cli import cli
    from normquiz.content import default_catalog
    from normquiz.selfcheck import mistake_source
    from normquiz.workspace import start

    topic = default_catalog().topic("layernorm")
    ws = start(default_catalog(), "layernorm", tmp_path / "ws", seed=1).workspace.path
    (ws / "layernorm.py").write_text(
        mistake_source(topic, topic.exercise("layernorm_forward"), "wrong-axis"))
    monkeypatch.chdir(ws)

    def graded(color: bool, env: dict) -> str:
        return CliRunner().invoke(cli, ["grade", "layernorm_forward"], env=env,
                                  color=color).output

    plain = graded(False, {})
    assert "What your function grouped" in plain and "\x1b[" not in plain
    coloured = graded(True, {})
    assert "\x1b[48;5;" in coloured  # each group's background
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    assert "\x1b[" not in graded(True, {"NO_COLOR": "1"})
