"""Jupyter notebooks: write a topic as a notebook, read a learner's notebook back.

A notebook is graded from its code, never from its outputs or from the order
in which its cells were run:

- Cells tagged `normquiz:answer:<id>` hold one assignment, `<id> = <value>`,
  read without running anything: numbers, arithmetic on numbers, lists of
  them, float(), int(), np.float64(), np.array() (questions.answer_expression).
- Cells tagged `normquiz:check:<id>` are left out.
- From every other code cell, in notebook order, normquiz keeps the top-level
  imports, function and class definitions, and assignments whose value calls
  nothing (`EPS = 1e-5`, `act = np.tanh`); calls, prints, plots and
  experiments are left out. IPython magics (`%...`, `!...`) are dropped.
  These kept lines are the learner's module, graded like a `.py` file.
- Each code exercise has exactly one cell tagged `normquiz:exercise:<id>`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normquiz.content import CodeExercise, Topic
from normquiz.errors import WorkspaceError
from normquiz.text import points

EXERCISE, ANSWER, CHECK = "normquiz:exercise:", "normquiz:answer:", "normquiz:check:"
SETUP = "normquiz:setup"  # the cell that installs normquiz where it is missing: never graded
# A cell that draws a picture (normquiz.diagrams.PICTURES): only a call, so never graded.
FIGURE = "normquiz:figure:"
INSTALL_CELL = """\
# Installs normquiz where it is missing (Colab, a fresh environment), with matplotlib for
# the figures; does nothing where both are installed.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("normquiz") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "normquiz[plots]"])
elif importlib.util.find_spec("matplotlib") is None and subprocess.call(
        [sys.executable, "-m", "pip", "install", "--quiet", "normquiz[plots]"]) != 0:
    print("matplotlib could not be installed: every cell works, but figures are not drawn.")
importlib.invalidate_caches()
import normquiz.plots  # the figure cells call normquiz.plots.show()"""
_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Where a cell's tags are edited, in each Jupyter.
TAGS_HELP = ("in JupyterLab 4 and Notebook 7: the gear icon in the right sidebar (Property "
             "Inspector) → Common Tools → Cell Tags; in the classic Notebook: View → Cell "
             "toolbar → Tags")


def _tags(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _tagged(cell: Any, prefix: str) -> str | None:
    return next((t[len(prefix):] for t in _tags(cell) if t.startswith(prefix)), None)


# ---------------------------------------------------------------- writing


def _split_stub(source: str) -> tuple[str, dict[str, str]]:
    """(imports, {function name: its source}) from a stub module."""
    tree = ast.parse(source)
    lines = source.splitlines()
    imports = [ast.get_source_segment(source, n) for n in tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            start = node.lineno - 1 - len(node.decorator_list)
            while start > 0 and lines[start - 1].lstrip().startswith("#"):
                start -= 1  # keep the comments just above the function
            functions[node.name] = "\n".join(lines[start:node.end_lineno])
    return "\n".join(i for i in imports if i), functions


def build_notebook(topic: Topic, seed: int) -> Any:
    """The topic as an nbformat v4 notebook: prompts, stubs, check cells, answer cells."""
    import textwrap

    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from normquiz.diagrams import PICTURES
    from normquiz.questions import answer_help, prompt_for

    cells = [new_markdown_cell(
        f"# {topic.title}\n\n{topic.manifest.summary.strip()}\n\n"
        "Write each function in its cell, run it, then run the check cell below it. "
        "Answer each question by replacing `None` in its answer cell. "
        "`normquiz grade " + f"{topic.slug}.ipynb` in a terminal grades the whole notebook from "
        "its code (the order in which you ran cells does not matter). Keep the cell tags "
        f"({TAGS_HELP}): they tell normquiz which cell is which.")]
    imports, functions = "", dict[str, str]()
    if topic.module:
        imports, functions = _split_stub(topic.stub_path.read_text(encoding="utf-8"))
    cells.append(new_code_cell(INSTALL_CELL, metadata={"tags": [SETUP]}))
    # setup() tells check() the topic and seed when the notebook is on its own.
    cells.append(new_code_cell("\n".join(filter(None, [
        imports, "import normquiz", "", f'normquiz.setup("{topic.slug}", seed={seed})']))))

    def figure_cell(picture: str) -> Any:
        # Only a call, which the graded module leaves out; it needs no import of its own
        # (an import would be kept, and the sandbox cannot read normquiz's files).
        about = textwrap.wrap(PICTURES[picture].description, 86)
        return new_code_cell("\n".join(["# A figure, never graded: run the cell to draw it.",
                                        *(f"# {line}" for line in about),
                                        f'normquiz.plots.show("{picture}")']),
                             metadata={"tags": [FIGURE + picture]})

    shown: list[str] = []  # each picture once: a tag is on one cell
    for e in topic.exercises:
        title = f"## `{e.id}`: {e.title} ({points(e.points)})"
        if isinstance(e, CodeExercise):
            cells.append(new_markdown_cell(f"{title}\n\n`{e.signature}`\n\n{e.prompt.strip()}"))
            cells.append(new_markdown_cell(f"**Worked example.**\n\n{e.explanation.strip()}"))
            if e.picture and e.picture not in shown:  # the worked example has told the idea
                cells.append(figure_cell(e.picture))
                shown.append(e.picture)
            cells.append(new_code_cell(functions[e.function],
                                       metadata={"tags": [EXERCISE + e.id]}))
        else:
            cells.append(new_markdown_cell(f"{title}\n\n{prompt_for(topic, e, seed)}"))
            cells.append(new_code_cell(f"{e.id} = None  # your answer: {answer_help(e)}",
                                       metadata={"tags": [ANSWER + e.id]}))
        cells.append(new_code_cell(f'normquiz.check("{e.id}")', metadata={"tags": [CHECK + e.id]}))
    # A question's picture shows its answer: after all the questions.
    after = [q.picture for q in topic.questions if q.picture and q.picture not in shown]
    after = list(dict.fromkeys(after))
    if after:
        cells.append(new_markdown_cell(
            "## Pictures\n\nThe figures behind this notebook's questions, computed when you "
            "run their cells (they need matplotlib, which the first cell installs where it is "
            "missing). They give answers away: look once you have answered."))
        cells += [figure_cell(p) for p in after]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "normquiz": {"topic": topic.slug, "seed": seed},
    })
    nbformat.validate(notebook)
    return notebook


def notebook_untouched(path: Path, topic: Topic) -> bool:
    """Whether the notebook's exercise and answer cells are as `start` wrote them."""
    import nbformat

    from normquiz.learnerfiles import NOTEBOOK_CAP, read_bytes

    try:
        raw = read_bytes(path, NOTEBOOK_CAP, path.name, "")
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - unreadable: grading it reports why; not untouched
        return False

    def worked(nb: Any) -> dict[str, str]:
        return {t: str(c.get("source", "")) for c in nb.get("cells", []) for t in _tags(c)
                if t.startswith((EXERCISE, ANSWER))}

    return worked(notebook) == worked(build_notebook(topic, 0))


def write_notebook(path: Path, topic: Topic, seed: int) -> None:
    import nbformat

    nbformat.write(build_notebook(topic, seed), str(path))


# ---------------------------------------------------------------- reading


@dataclass
class NotebookSubmission:
    """A learner's notebook as gradeable parts: module source and answers."""

    source: str
    answers: dict[str, Any]
    # For each line of `source`, the (cell number, line in cell) it came from.
    origins: list[tuple[int, int]] = field(default_factory=list)
    # Answer cells that cannot be read: why, by question id.
    invalid: dict[str, str] = field(default_factory=dict)


def _describe(index: int, cell: Any) -> str:
    first = next((ln for ln in str(cell.get("source", "")).splitlines() if ln.strip()), "")
    return f"cell {index} ({first.strip()[:50]!r})" if first else f"cell {index} (empty)"


def _calls_nothing(node: ast.AST) -> bool:
    # A lambda's body runs only when it is called: `rowmean = lambda a: a.mean(-1)` is kept
    # (its default values run at once, so they are looked at).
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)):
            return False
        stack.extend(ast.iter_child_nodes(n.args) if isinstance(n, ast.Lambda)
                     else ast.iter_child_nodes(n))
    return True


def _kept(node: ast.stmt) -> bool:
    if isinstance(node, _KEPT):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) for t in targets) and _calls_nothing(node.value)
    return False


def _without_magics(text: str) -> str:
    # A magic line becomes a blank line, so line numbers still match the cell.
    return "\n".join("" if re.match(r"\s*[%!]", ln) else ln for ln in text.splitlines())


def read_notebook(path: Path, topic: Topic) -> NotebookSubmission:
    """Check a notebook's tags and turn it into a module source and answers."""
    import nbformat

    from normquiz.learnerfiles import NOTEBOOK_CAP, decode, read_bytes

    where = path.name
    raw = read_bytes(path, NOTEBOOK_CAP, where, (
        "Clear the cells' outputs (in Jupyter: Edit → Clear Outputs of All Cells, or "
        "'jupyter nbconvert --clear-output --inplace') and save it, then grade again."),
        "Save your notebook from Jupyter under that name, then grade again.")
    text = decode(raw, where, "A notebook is UTF-8 JSON: open it in Jupyter and save it "
                  "again (or retype the character at that place), then grade again.")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several unrelated types for a bad file
        raise WorkspaceError(f"{where} is not a readable notebook: {e}.") from None
    cells = notebook.get("cells", [])
    seen: dict[str, list[int]] = {}
    for i, cell in enumerate(cells, 1):
        for tag in _tags(cell):
            if tag.startswith(("normquiz:",)):
                seen.setdefault(tag, []).append(i)
    for tag, where_cells in seen.items():
        if len(where_cells) > 1:
            names = " and ".join(_describe(i, cells[i - 1]) for i in where_cells)
            raise WorkspaceError(f"{where}: the tag '{tag}' is on {names}; each tag belongs on "
                                 f"one cell. Remove it from the copy ({TAGS_HELP}).")
    for exercise in topic.exercises:
        code = isinstance(exercise, CodeExercise)
        tag = (EXERCISE if code else ANSWER) + exercise.id
        if tag not in seen:
            raise WorkspaceError(
                f"{where}: no cell is tagged '{tag}'. Add that tag to the cell that holds "
                f"{'the function ' + exercise.id if code else 'the answer'} "
                f"({TAGS_HELP}), or regenerate the notebook with "
                f"'normquiz start {topic.slug} . --force --notebook' after renaming yours.")
    source_lines: list[str] = []
    origins: list[tuple[int, int]] = []
    answers: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    for i, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code" or _tagged(cell, CHECK) is not None \
                or SETUP in _tags(cell):
            continue
        text = _without_magics(str(cell.get("source", "")))
        answer_id = _tagged(cell, ANSWER)
        if answer_id is not None:
            try:
                answers[answer_id] = answer_from_source(text, answer_id)
            except ValueError as e:
                invalid[answer_id] = f"{where}, {_describe(i, cell)}, {e}"
            continue
        lines = text.splitlines()
        try:
            tree = ast.parse(text)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            if _tagged(cell, EXERCISE) is None:
                continue  # a scratch cell that does not parse is not part of the module
            # The exercise cell is kept whole: compiling the module then names the error
            # and its place in this cell.
            source_lines += lines
            origins += [(i, n + 1) for n in range(len(lines))]
            continue
        for node in tree.body:
            if not _kept(node):
                continue
            start = node.lineno - 1 - len(getattr(node, "decorator_list", []))
            for n in range(start, node.end_lineno or node.lineno):
                source_lines.append(lines[n])
                origins.append((i, n + 1))
    return NotebookSubmission("\n".join(source_lines) + "\n", answers, origins, invalid)


def answer_assignments(tree: ast.Module, answer_id: str) -> list[ast.Assign]:
    return [node for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == answer_id]


def answer_from_source(text: str, answer_id: str) -> Any:
    """The value an answer cell's code gives `answer_id`, computed without running it.

    The last top-level `<id> = <value>` counts (None when there is none). Raises
    ValueError with a message that starts with where in the cell ("line 2: ...").
    """
    from normquiz.questions import AnswerExpressionError, answer_expression

    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise ValueError(f"line {e.lineno}: syntax error: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ValueError("the answer is nested too deeply (or is too large) to be "
                         "read") from None
    value: Any = None
    for node in answer_assignments(tree, answer_id):
        try:
            value = answer_expression(node.value)
        except AnswerExpressionError as e:
            raise ValueError(
                f"line {node.lineno}: the answer must be a number, a list of numbers or a "
                f"letter in quotes, written with numbers, + - * / ** and parentheses "
                f"(float(), int(), np.float64() and np.array([...]) of them are read too), "
                f"but {e}") from None
        except (RecursionError, MemoryError):
            raise ValueError(f"line {node.lineno}: the answer is nested too deeply (or is too "
                             "large) to be read") from None
    return value
