"""Notebooks: generated for every topic, filled in cell by cell, graded like a .py file."""

from __future__ import annotations

import ast
import json
import os
import re

import nbformat
import pytest
from learners import imports_cell

from normquiz.content import CodeExercise, NumericQuestion, default_catalog
from normquiz.errors import WorkspaceError
from normquiz.notebook import (
    ANSWER,
    CHECK,
    EXERCISE,
    FIGURE,
    _split_stub,
    build_notebook,
    read_notebook,
)
from normquiz.questions import generate
from normquiz.submission import find_in_folder, grade

CATALOG = default_catalog()
TOPICS = CATALOG.topics()
SEED = 5


def grade_notebook(path, topic, seed, only=None, grader_seed=None):
    """`normquiz grade NOTEBOOK` for a notebook alone in its folder."""
    work = find_in_folder(path.parent, None, topic=topic, seed=seed, file=path, record=False)
    return grade(work, only=only, grader_seed=grader_seed)


def correct_answer(topic, q):
    if isinstance(q, NumericQuestion):
        g = generate(topic, q, SEED)
        return g.answer[0] if g.scalar else g.answer
    return q.correct_letter


# As a learner writes: a lambda over an imported numpy name, used by the functions, and
# answers as arithmetic and numpy arrays.
LEARNER_HELPERS = "from numpy import sqrt\nroot = lambda v: sqrt(v)"


def learner_answer(value):
    if isinstance(value, list):
        return f"np.array({value!r})"
    return f"({value!r} * 4 - 0) / 4" if not isinstance(value, str) else repr(value)


def fill(notebook, topic, code=None, answers=True, learner_style=False):
    """Put reference code (or `code` per function) and right answers into the cells;
    `learner_style` writes them with LEARNER_HELPERS and learner_answer."""
    if topic.module:
        imports, functions = _split_stub(topic.solution_path.read_text())
        helpers = {k: v for k, v in functions.items()
                   if k not in {e.function for e in topic.code_exercises}}
        first = imports_cell(notebook)
        declared = [line for line in first.source.splitlines()
                    if line.startswith("normquiz.setup(")]
        if learner_style:
            helpers = {k: v.replace("np.sqrt(", "root(") for k, v in helpers.items()}
        first.source = "\n\n".join([imports, "import normquiz", *declared,
                                    *([LEARNER_HELPERS] if learner_style else []),
                                    *helpers.values()])
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        for tag in tags:
            if tag.startswith(EXERCISE):
                e = topic.exercise(tag[len(EXERCISE):])
                cell.source = (code or {}).get(e.function) or functions[e.function]
                if learner_style:
                    cell.source = cell.source.replace("np.sqrt(", "root(")
            if tag.startswith(ANSWER) and answers:
                q = topic.exercise(tag[len(ANSWER):])
                answer = correct_answer(topic, q)
                typed = learner_answer(answer) if learner_style else repr(answer)
                cell.source = f"{q.id} = {typed}"
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
        # The worker's task limit counts the processes running at the time: not the grade.
        result.pop("sandbox")
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
    assert "grading layernorm.ipynb (layernorm.py is still the stub)" in result.output
    (ws / "layernorm.py").touch()  # a newer stub is still a stub (a git clone does this)
    result = run("grade", "--json", cwd=ws)
    assert result.exit_code == 0 and json.loads(result.output)["graded_file"] == "layernorm.ipynb"


def test_which_file_is_graded_when_both_exist(run, tmp_path):
    from normquiz.selfcheck import reference_source

    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    ws = tmp_path / "layernorm"
    module, notebook = ws / "layernorm.py", ws / "layernorm.ipynb"

    def graded(*args):
        result = run("grade", "--json", *args, cwd=ws)
        return result.exit_code, (json.loads(result.stdout)["graded_file"]
                                  if result.exit_code in (0, 1) else result.output)

    module.write_text(reference_source(LAYERNORM))
    os.utime(module, (1, 1))  # older than the notebook, which is untouched: the module
    assert graded() == (1, "layernorm.py")
    nbformat.write(fill(nbformat.read(str(notebook), 4), LAYERNORM), str(notebook))
    for path in (module, notebook):
        os.utime(path, (1000, 1000))  # both worked on, one time (a clone, an upload)
    code, output = graded()
    assert code == 2 and "cannot tell which to grade" in output
    assert "normquiz grade layernorm.py" in output and "normquiz grade layernorm.ipynb" in output
    assert graded("layernorm.ipynb")[1] == "layernorm.ipynb"  # the way out it names
    os.utime(module, (2000, 2000))  # clearly saved after: the module
    assert graded()[1] == "layernorm.py"


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


def test_a_notebook_on_its_own_grades_with_the_seed_it_carries(run, tmp_path):
    # As in Colab or after a download: the notebook alone, no workspace anywhere above.
    # Its check cells in a kernel, alone, are tested for every topic below, filled in
    # and as shipped (one kernel each).
    alone = tmp_path / "alone"
    alone.mkdir()
    nbformat.write(fill(build_notebook(LAYERNORM, SEED), LAYERNORM), str(alone / "mine.ipynb"))
    result = run("grade", "mine.ipynb", "--json", cwd=alone)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["seed"] == SEED  # the seed the notebook carries
    assert sorted(p.name for p in alone.iterdir()) == ["mine.ipynb"]  # nothing written


def test_check_without_an_id_checks_everything_in_the_kernel(run, tmp_path):
    from normquiz.kernel import check

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


# ---------------------------------------------------------------- kernel and saved file agree

HELPERS = ("sq = lambda v: v * v; rowmean = lambda a: a.mean(axis=-1, keepdims=True)\n"
           "twice = (lambda v:\n"
           "         2 * v)\n")
FORWARD = ("from numpy import sqrt\n\n\n"
           "def layernorm_forward(x, gain, bias, eps=1e-5):\n"
           "    x = np.asarray(x, dtype=np.float64)\n"
           "    centered = x - rowmean(x)\n"
           "    return gain * centered / sqrt(rowmean(sq(centered)) + eps) + twice(bias) / 2\n")
# What a learner types: arithmetic, np.float64, np.array, a tuple.
TYPED = {"ln_sample_stats": "np.array([{0!r}, {1!r}])",
         "ln_normalized_value": "({0!r} * 4 - 0) / 4"}


def _outputs(cell):
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                   + "\n".join(o.get("traceback", [])) for o in cell.outputs)


def test_lambdas_imported_ufuncs_and_typed_answers_grade_alike_in_kernel_and_file(run, tmp_path):
    from nbclient import NotebookClient

    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    ws = tmp_path / "layernorm"
    notebook = fill(nbformat.read(str(ws / "layernorm.ipynb"), 4), LAYERNORM,
                    {"layernorm_forward": FORWARD})
    imports_cell(notebook).source += "\n\n" + HELPERS
    for cell in notebook.cells:
        for tag in cell.metadata.get("tags", []):
            qid = tag[len(ANSWER):]
            if tag.startswith(ANSWER) and qid in TYPED:
                g = generate(LAYERNORM, LAYERNORM.exercise(qid), SEED)
                cell.source = f"{qid} = {TYPED[qid].format(*g.answer)}"
    code = nbformat.v4.new_code_cell
    notebook.cells += [
        code("print([(e.id, e.status, e.score) for e in "
             "normquiz.kernel.check(grader_seed=5).result.exercises])",
             metadata={"tags": [CHECK + "all"]}),
        code('normquiz.check("nope")', metadata={"tags": [CHECK + "nope"]}),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ws)}}).execute()
    outputs = {t[len(CHECK):]: _outputs(c) for c in notebook.cells
               for t in c.metadata.get("tags", []) if t.startswith(CHECK)}
    for e in LAYERNORM.exercises:
        assert f"✓ {e.id}" in outputs[e.id], outputs[e.id]
    in_kernel = ast.literal_eval(outputs["all"].strip())
    assert [s for _, s, _ in in_kernel] == ["passed"] * len(LAYERNORM.exercises)
    assert "Traceback" not in outputs["nope"] and "no exercise 'nope'" in outputs["nope"]
    saved = write(tmp_path, notebook)
    from_file = grade_notebook(saved, LAYERNORM, SEED, grader_seed=5)
    assert [(e.id, e.status, e.score) for e in from_file.exercises] == [
        tuple(t) for t in in_kernel]


def _answer_cell(notebook, qid, source):
    for cell in notebook.cells:
        if ANSWER + qid in cell.metadata.get("tags", []):
            cell.source = source
    return notebook


@pytest.mark.parametrize("expression", ["__import__('os')", "10**10**10", "[1]*10**9",
                                        "mu", "open('x').read()", "np.load('x')",
                                        "9**9**9**9", "(lambda: 1)()", "x.real"])
def test_unsafe_answers_are_refused_quickly(expression, tmp_path):
    import time

    notebook = _answer_cell(build_notebook(LAYERNORM, SEED), "ln_normalized_value",
                            f"ln_normalized_value = {expression}")
    started = time.perf_counter()
    submission = read_notebook(write(tmp_path, notebook), LAYERNORM)
    assert time.perf_counter() - started < 2
    assert "ln_normalized_value" not in submission.answers
    assert re.search(r"cell \d+ .*line 1: the answer must be a number",
                     submission.invalid["ln_normalized_value"])


ACCEPTED = ["-1.24", "(4 - 1) / 2.5", "-(2 ** 0.5)", "np.float64(1.2)", "numpy.float64(-1)",
            "float(3)", "int(2.7)", "np.array([1.5])", "[1.5]", "(1.5,)"]
REFUSED = ["mu", "round(1.24, 1)", "float(str(1.5))", "np.float32(1.5)", "[mu]", "'a'",
           "[1.5, 2]"]


def test_check_and_grade_accept_the_same_answers(run, tmp_path):
    import numpy as np

    from normquiz.kernel import check

    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    ws = tmp_path / "layernorm"
    qid = "ln_normalized_value"
    for expression in ACCEPTED + REFUSED:
        source = f"{qid} = {expression}"
        value = eval(expression, {"np": np, "numpy": np, "mu": 1.5})  # the test's own kernel
        namespace = {"__name__": "__main__", "_ih": ["", "mu = 1.5", source], qid: value}
        [in_kernel] = check(qid, namespace=namespace, path=ws).result.exercises
        notebook = _answer_cell(build_notebook(LAYERNORM, SEED), qid, source)
        [from_file] = grade_notebook(write(tmp_path, notebook), LAYERNORM, SEED,
                                     qid).exercises
        assert (in_kernel.status, in_kernel.score) == (from_file.status, from_file.score), (
            expression, in_kernel.feedback, from_file.feedback)
        if expression in REFUSED:  # an error of that question alone, saying why
            assert from_file.status == "error", expression
            assert ("normquiz grade would not accept it" in in_kernel.feedback
                    or "expected a number" in in_kernel.feedback), in_kernel.feedback
            assert "answer cell" in from_file.feedback or "cell" in from_file.feedback
        else:
            assert from_file.status in ("passed", "failed"), (expression, from_file.feedback)


def test_notebook_wording(run, tmp_path):
    from normquiz.kernel import check

    notebook = build_notebook(LAYERNORM, SEED)
    assert "Property Inspector" in notebook.cells[0].source
    choice = next(c.source for c in notebook.cells if c.cell_type == "markdown"
                  and "ln_axis" in c.source)
    assert "\n- a) " in choice and "\n- b) " in choice
    blank = grade_notebook(write(tmp_path, notebook), LAYERNORM, SEED, grader_seed=5)
    by_id = {e.id: e.feedback for e in blank.exercises}
    assert "exercise cell" in by_id["layernorm_forward"]
    assert "answer cell of 'ln_axis'" in by_id["ln_axis"]
    assert not any("layernorm.py" in f or "answers.yaml" in f for f in by_id.values())
    assert run("start", "layernorm", "--notebook", "--seed", str(SEED)).exit_code == 0
    report = repr(check("ln_axis", namespace={"ln_axis": None}, path=tmp_path / "layernorm"))
    assert "answer 1 question(s) in their answer cells" in report and "answers.yaml" not in report


def test_every_topics_notebook_as_shipped_runs_alone_with_useful_feedback(tmp_path):
    # Every topic's notebook, one after the other in one kernel (a kernel start costs
    # seconds): each one's setup cell declares its topic for the check cells after it.
    topics = [CATALOG.topic(slug) for slug in CATALOG.slugs]
    combined = build_notebook(topics[0], SEED)
    for topic in topics[1:]:
        combined.cells += build_notebook(topic, SEED).cells
    outputs = _execute(combined, tmp_path)  # no workspace: on its own
    assert set(outputs) == {e.id for topic in topics for e in topic.exercises}
    for exercise_id, text in outputs.items():
        assert "Traceback" not in text and "Error" not in text, (exercise_id, text)
        assert "not answered yet" in text.lower() or "not implemented yet" in text.lower(), text
    # Every figure cell drew its figure in the kernel, as a PNG (matplotlib is a test extra).
    from normquiz.diagrams import PICTURES

    figures = [(t[len(FIGURE):], c) for c in combined.cells
               for t in c.metadata.get("tags", []) if t.startswith(FIGURE)]
    assert {name for name, _ in figures} == set(PICTURES)
    for name, cell in figures:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1 and len(images[0]["data"]["image/png"]) > 5000, (name, cell)


def test_every_topics_notebook_filled_in_passes_alone_in_the_kernel_and_in_grade(tmp_path):
    # Written as learners write: a lambda over an imported name, arithmetic answers.
    topics = [CATALOG.topic(slug) for slug in CATALOG.slugs]
    filled = [fill(build_notebook(topic, SEED), topic, learner_style=True) for topic in topics]
    for topic, notebook in zip(topics, filled):  # each module uses the lambda
        assert not topic.module or any("root(" in c.source.replace("root = ", "")
                                       for c in notebook.cells), topic.slug
    combined = nbformat.v4.new_notebook(cells=[c for nb in filled for c in nb.cells])
    outputs = _execute(combined, tmp_path)  # one kernel, no workspace
    for topic, notebook in zip(topics, filled):
        for e in topic.exercises:
            assert f"✓ {e.id}" in outputs[e.id], outputs[e.id]
        path = tmp_path / f"{topic.slug}.ipynb"
        nbformat.write(notebook, str(path))
        result = grade_notebook(path, topic, SEED)
        assert result.passed, [(e.id, e.status, e.feedback) for e in result.exercises]
