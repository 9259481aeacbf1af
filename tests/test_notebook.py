"""Notebooks: generated for every topic, filled in cell by cell, graded like a .py file."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from normquiz.content import CodeExercise, NumericQuestion, default_catalog
from normquiz.errors import WorkspaceError
from normquiz.notebook import (
    ANSWER,
    CHECK,
    EXERCISE,
    _split_stub,
    build_notebook,
    grade_notebook,
    read_notebook,
)
from normquiz.questions import generate

CATALOG = default_catalog()
TOPICS = CATALOG.topics()
SEED = 5


def correct_answer(topic, q):
    if isinstance(q, NumericQuestion):
        g = generate(topic, q, SEED)
        return g.answer[0] if g.scalar else g.answer
    return q.correct_letter


def fill(notebook, topic, code=None, answers=True):
    """Put reference code (or `code` per function) and right answers into the cells."""
    if topic.module:
        imports, functions = _split_stub(topic.solution_path.read_text())
        helpers = {k: v for k, v in functions.items()
                   if k not in {e.function for e in topic.code_exercises}}
        notebook.cells[1].source = "\n\n".join([imports, "import normquiz", *helpers.values()])
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        for tag in tags:
            if tag.startswith(EXERCISE):
                e = topic.exercise(tag[len(EXERCISE):])
                cell.source = (code or {}).get(e.function) or functions[e.function]
            if tag.startswith(ANSWER) and answers:
                q = topic.exercise(tag[len(ANSWER):])
                cell.source = f"{q.id} = {correct_answer(topic, q)!r}"
    return notebook


def write(tmp_path, notebook, name="nb.ipynb"):
    path = tmp_path / name
    nbformat.write(notebook, str(path))
    return path


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.slug)
def test_every_topic_as_a_notebook_grades_to_full_marks(topic, tmp_path):
    notebook = build_notebook(topic, SEED)
    nbformat.validate(notebook)
    tags = [t for c in notebook.cells for t in c.metadata.get("tags", [])]
    for e in topic.exercises:
        kind = EXERCISE if isinstance(e, CodeExercise) else ANSWER
        assert tags.count(kind + e.id) == 1 and tags.count(CHECK + e.id) == 1
    blank = grade_notebook(write(tmp_path, notebook), topic, SEED)
    assert blank.score == 0 and {e.status for e in blank.exercises} == {"unanswered"}
    full = grade_notebook(write(tmp_path, fill(notebook, topic)), topic, SEED)
    assert full.passed, [e.feedback for e in full.exercises if e.status != "passed"]
    assert full.score == full.max_score


LAYERNORM = CATALOG.topic("layernorm")
UNBIASED = ("def layernorm_forward(x, gain, bias, eps=1e-5):\n"
            "    mu = x.mean(axis=-1, keepdims=True)\n"
            "    var = np.var(x, axis=-1, ddof=1, keepdims=True)\n"
            "    return gain * (x - mu) / np.sqrt(var + eps) + bias\n")


def test_run_order_and_saved_outputs_do_not_matter(tmp_path):
    notebook = fill(build_notebook(LAYERNORM, SEED), LAYERNORM, {"layernorm_forward": UNBIASED})
    # One grader seed for both gradings: the same random check inputs, so the same messages.
    plain = grade_notebook(write(tmp_path, notebook, "a.ipynb"), LAYERNORM, SEED,
                           grader_seed=5).to_json()
    for n, cell in enumerate(reversed(notebook.cells)):  # "run" bottom-up, with fake outputs
        if cell.cell_type == "code":
            cell.execution_count = n + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text="✓ all checks passed\n")]
    notebook.cells[2].source += "\n\nprint('scratch')\nlayernorm_forward(None, None, None)\n"
    shuffled = grade_notebook(write(tmp_path, notebook, "b.ipynb"), LAYERNORM, SEED,
                              grader_seed=5).to_json()
    for result in (plain, shuffled):
        result.pop("graded_file")
    assert plain == shuffled
    assert plain["exercises"][0]["mistakes"] == ["unbiased-variance"]


def test_notebook_and_module_grade_the_same(tmp_path):
    notebook = fill(build_notebook(LAYERNORM, SEED), LAYERNORM, {"layernorm_forward": UNBIASED})
    path = write(tmp_path, notebook)
    from_notebook = grade_notebook(path, LAYERNORM, SEED, grader_seed=5)
    module = tmp_path / "layernorm.py"
    module.write_text(read_notebook(path, LAYERNORM).source)
    from normquiz.grading import grade_code

    from_module = grade_code(LAYERNORM, module, LAYERNORM.code_exercises, grader_seed=5)
    assert [(e.status, e.score, e.mistakes) for e in from_notebook.exercises[:3]] == [
        (e.status, e.score, e.mistakes) for e in from_module]


def test_removed_tag_names_the_missing_cell(tmp_path):
    notebook = build_notebook(LAYERNORM, SEED)
    for cell in notebook.cells:
        if EXERCISE + "layernorm_backward" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = []
    with pytest.raises(WorkspaceError, match="no cell is tagged 'normquiz:exercise:layernorm_b"):
        read_notebook(write(tmp_path, notebook), LAYERNORM)


def test_duplicated_tag_names_both_cells(tmp_path):
    notebook = build_notebook(LAYERNORM, SEED)
    copy = nbformat.v4.new_code_cell("x = 1", metadata={"tags": [ANSWER + "ln_axis"]})
    notebook.cells.append(copy)
    with pytest.raises(WorkspaceError) as info:
        read_notebook(write(tmp_path, notebook), LAYERNORM)
    message = str(info.value)
    assert "'normquiz:answer:ln_axis' is on cell" in message
    assert f"cell {len(notebook.cells)} ('x = 1')" in message


def test_error_lines_point_into_the_notebook(tmp_path):
    notebook = fill(build_notebook(LAYERNORM, SEED), LAYERNORM, {
        "layernorm_forward": "def layernorm_forward(x, gain, bias, eps=1e-5):\n"
                             "    return x.mean(axis=9)\n"})
    result = grade_notebook(write(tmp_path, notebook), LAYERNORM, SEED, "layernorm_forward")
    [e] = result.exercises
    assert e.status == "error"
    assert "nb.ipynb, cell" in e.feedback and ", line 2, in layernorm_forward" in e.feedback


def test_cli_start_notebook_and_grade_picks_the_newer_file(run, tmp_path):
    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    ws = tmp_path / "layernorm"
    notebook = ws / "layernorm.ipynb"
    nbformat.validate(nbformat.read(str(notebook), 4))
    nbformat.write(fill(nbformat.read(str(notebook), 4), LAYERNORM), str(notebook))
    os.utime(ws / "layernorm.py", (1, 1))  # the .py is older: grade the notebook
    result = run("grade", cwd=ws)
    assert result.exit_code == 0, result.output
    assert "grading layernorm.ipynb (changed more recently than layernorm.py)" in result.output
    (ws / "layernorm.py").touch()  # now the stub is newer: grade it
    result = run("grade", "--json", cwd=ws)
    assert result.exit_code == 1 and json.loads(result.output)["graded_file"] == "layernorm.py"


def _execute(notebook, cwd):
    from nbclient import NotebookClient

    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    outputs = {}
    for cell in notebook.cells:
        for tag in cell.metadata.get("tags", []):
            if tag.startswith(CHECK):
                text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                               for o in cell.outputs)
                outputs[tag[len(CHECK):]] = text
    return outputs


def test_check_cells_in_a_real_kernel(run, tmp_path):
    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    ws = tmp_path / "layernorm"
    notebook = fill(nbformat.read(str(ws / "layernorm.ipynb"), 4), LAYERNORM)
    outputs = _execute(notebook, ws)
    assert set(outputs) == {e.id for e in LAYERNORM.exercises}
    for exercise_id, text in outputs.items():
        assert f"✓ {exercise_id}" in text, text
    buggy = fill(nbformat.read(str(ws / "layernorm.ipynb"), 4), LAYERNORM,
                 {"layernorm_forward": UNBIASED}, answers=False)
    outputs = _execute(buggy, ws)
    assert "✗ layernorm_forward" in outputs["layernorm_forward"]
    assert "[unbiased-variance]" in outputs["layernorm_forward"]
    assert "not answered yet" in outputs["ln_axis"]


def test_check_without_an_id_checks_everything_in_the_kernel(run, tmp_path):
    from normquiz.notebook import check

    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    ws = tmp_path / "layernorm"
    source = tmp_path / "cell.py"  # functions need a source file, as IPython's cells have
    source.write_text(LAYERNORM.solution_path.read_text())
    namespace = {"__name__": "__main__"}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    for q in LAYERNORM.questions:
        namespace[q.id] = correct_answer(LAYERNORM, q)
    report = check(namespace=namespace, path=ws)  # a kernel's __main__, as a dict
    assert report.passed, repr(report)
    assert [e.id for e in report.result.exercises] == [e.id for e in LAYERNORM.exercises]
    assert "✓ layernorm_forward" in repr(report) and "<pre" in report._repr_html_()
