"""The one submission model: which files are graded, with which seed, by every client."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from normquiz.content import default_catalog
from normquiz.notebook import build_notebook, write_notebook
from normquiz.selfcheck import reference_source
from normquiz.submission import find_in_folder, learner_files
from normquiz.workspace import STATE_FILE, answers_template

CATALOG = default_catalog()
LAYERNORM = CATALOG.topic("layernorm")
# A helper beside the module that defines the graded functions wrongly: never graded.
DECOY = "def layernorm_forward(x, gain, bias, eps=1e-5):\n    return x * 0 + 123.0\n"


def graded(run, folder: Path, *args: str) -> dict:
    result = run("grade", str(folder), "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def by_id(data: dict) -> dict:
    return {e["id"]: e for e in data["exercises"]}


@pytest.mark.parametrize("name", ["layernorm.py", "Layernorm (1).py"])
def test_the_module_is_graded_never_a_file_beside_it(run, tmp_path, name):
    folder = tmp_path / "ada"
    folder.mkdir()
    (folder / name).write_text(reference_source(LAYERNORM))
    (folder / "zzz_helpers.py").write_text(DECOY)  # sorts last, as the bug needed
    data = graded(run, folder, "--topic", "layernorm")
    assert by_id(data)["layernorm_forward"]["status"] == "passed"
    assert data["graded_file"] == name
    renamed = [n for n in data["notes"] if "was graded as layernorm.py" in n]
    assert bool(renamed) == (name != "layernorm.py"), data["notes"]
    assert not (folder / STATE_FILE).exists()  # a folder without one is never changed


def test_a_folder_without_state_names_its_topic_or_is_told_how(run, tmp_path):
    folder = tmp_path / "ada"
    folder.mkdir()
    (folder / "layernorm.py").write_text(reference_source(LAYERNORM))
    result = run("grade", str(folder))
    assert result.exit_code == 2 and "--topic" in result.output
    write_notebook(folder / "layernorm.ipynb", LAYERNORM, 31)  # its metadata names it
    data = graded(run, folder)
    assert data["topic"] == "layernorm" and data["graded_file"] == "layernorm.py"


def _worked_notebook(path: Path, seed: int) -> None:
    notebook = build_notebook(LAYERNORM, seed)
    cell = next(c for c in notebook.cells if "normquiz:answer:ln_axis" in c.metadata.get(
        "tags", []))
    cell.source = "ln_axis = 'b'"
    import nbformat

    nbformat.write(notebook, str(path))


def test_the_seed_comes_from_the_graded_files_own_record_first(tmp_path):
    folder = tmp_path / "ada"
    folder.mkdir()
    (folder / "answers.yaml").write_text(answers_template(LAYERNORM, 9))
    _worked_notebook(folder / "layernorm.ipynb", 7)
    (folder / "layernorm.py").write_bytes(LAYERNORM.stub_path.read_bytes())  # the stub
    work = find_in_folder(folder, CATALOG, topic="layernorm")
    assert work.graded_file == "layernorm.ipynb" and work.seed == 7
    assert "still the stub" in work.why
    (folder / "layernorm.py").write_text(reference_source(LAYERNORM))  # worked on, later
    os.utime(folder / "layernorm.ipynb", (1, 1))
    work = find_in_folder(folder, CATALOG, topic="layernorm")
    assert work.graded_file == "layernorm.py" and work.seed == 9


def test_several_candidates_none_is_chosen_and_each_is_named(tmp_path):
    folder = tmp_path / "ada"
    folder.mkdir()
    for name in ("Layernorm (1).py", "LAYERNORM.py"):
        (folder / name).write_text(reference_source(LAYERNORM))
    notes: list[str] = []
    module, notebook = learner_files(folder, LAYERNORM, notes)
    assert module is None and notebook is None
    assert len(notes) == 1  # said once
    assert "Layernorm (1).py" in notes[0] and "LAYERNORM.py" in notes[0]


def test_a_syntax_error_in_a_notebooks_exercise_cell_costs_only_the_code(run, tmp_path):
    folder = tmp_path / "ada"
    folder.mkdir()
    notebook = build_notebook(LAYERNORM, 3)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "normquiz:exercise:layernorm_forward" in tags:
            cell.source = "def layernorm_forward(x, gain, bias, eps=1e-5)\n    return x\n"
        if "normquiz:answer:ln_axis" in tags:
            cell.source = "ln_axis = 'b'"
    import nbformat

    nbformat.write(notebook, str(folder / "layernorm.ipynb"))
    data = graded(run, folder / "layernorm.ipynb")
    exercises = by_id(data)
    forward = exercises["layernorm_forward"]
    assert forward["status"] == "error" and "layernorm.ipynb, cell" in forward["feedback"]
    assert "line 1: syntax error" in forward["feedback"]
    assert exercises["ln_axis"]["status"] in ("passed", "failed")  # graded all the same
    text = run("grade", str(folder / "layernorm.ipynb"))
    assert text.exit_code == 2 and "layernorm.ipynb, cell" in text.output  # a person fixes it


def test_grading_modules_import_each_other_without_a_circle():
    """grading, notebook, workspace, submission and kernel: each import goes one way
    (function-level imports too). The package's own facade (normquiz/__init__) is left
    out: it imports lazily what its two functions call."""
    package = Path(__file__).parents[1] / "normquiz"
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        if name.startswith("normquiz.sandbox"):
            name = "normquiz.sandbox"  # one unit: it is below everything here
        deps = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("normquiz."):
                deps.add("normquiz.sandbox" if node.module.startswith("normquiz.sandbox")
                         else node.module)
    graph.pop("normquiz", None)
    flow = {"normquiz.grading", "normquiz.notebook", "normquiz.workspace",
            "normquiz.submission", "normquiz.kernel", "normquiz.batch", "normquiz.cli"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == goal or (dep not in seen and reaches(dep, goal, seen | {dep})):
                return True
        return False

    circles = [m for m in sorted(flow) if reaches(m, m, {m})]
    assert circles == []
