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
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normquiz.content import CodeExercise, NumericQuestion, Topic
from normquiz.errors import WorkspaceError
from normquiz.text import points

EXERCISE, ANSWER, CHECK = "normquiz:exercise:", "normquiz:answer:", "normquiz:check:"
SETUP = "normquiz:setup"  # the cell that installs normquiz where it is missing: never graded
INSTALL_CELL = """\
# Installs normquiz where it is missing (Colab, a fresh environment); does nothing elsewhere.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("normquiz") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "normquiz"])"""
# What IPython itself puts in a kernel's globals: history, outputs, helpers.
_IPYTHON_NAMES = re.compile(r"__\w*__|_+|_i+|_i\d+|_\d+|_oh|_ih|_dh|In|Out|exit|quit|get_ipython")
_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Where a cell's tags are edited, in each Jupyter.
TAGS_HELP = ("in JupyterLab 4 and Notebook 7: the gear icon in the right sidebar (Property "
             "Inspector) → Common Tools → Cell Tags; in the classic Notebook: View → Cell "
             "toolbar → Tags")
KERNEL = "this notebook's kernel"  # what check() names as the graded file


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
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

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
    for e in topic.exercises:
        title = f"## `{e.id}`: {e.title} ({points(e.points)})"
        if isinstance(e, CodeExercise):
            cells.append(new_markdown_cell(f"{title}\n\n`{e.signature}`\n\n{e.prompt.strip()}"))
            cells.append(new_markdown_cell(f"**Worked example.**\n\n{e.explanation.strip()}"))
            cells.append(new_code_cell(functions[e.function],
                                       metadata={"tags": [EXERCISE + e.id]}))
        else:
            cells.append(new_markdown_cell(f"{title}\n\n{prompt_for(topic, e, seed)}"))
            cells.append(new_code_cell(f"{e.id} = None  # your answer: {answer_help(e)}",
                                       metadata={"tags": [ANSWER + e.id]}))
        cells.append(new_code_cell(f'normquiz.check("{e.id}")', metadata={"tags": [CHECK + e.id]}))
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

    def where(self, line: int) -> str:
        if 1 <= line <= len(self.origins):
            cell, cell_line = self.origins[line - 1]
            return f"cell {cell}, line {cell_line}"
        return f"line {line}"


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
    for i, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code" or _tagged(cell, CHECK) is not None \
                or SETUP in _tags(cell):
            continue
        text = _without_magics(str(cell.get("source", "")))
        answer_id = _tagged(cell, ANSWER)
        if answer_id is not None:
            answers[answer_id] = _read_answer(text, answer_id, _describe(i, cell), where)
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError as e:
            if _tagged(cell, EXERCISE) is None:
                continue  # a scratch cell that does not parse is not part of the module
            raise WorkspaceError(f"{where}, {_describe(i, cell)}, line {e.lineno}: syntax error: "
                                 f"{e.msg}. Fix it, then grade again.") from None
        except (RecursionError, MemoryError, ValueError):
            raise WorkspaceError(f"{where}, {_describe(i, cell)}: the code is nested too deeply "
                                 "(or is too large) to be read. Simplify it.") from None
        lines = text.splitlines()
        for node in tree.body:
            if not _kept(node):
                continue
            start = node.lineno - 1 - len(getattr(node, "decorator_list", []))
            for n in range(start, node.end_lineno or node.lineno):
                source_lines.append(lines[n])
                origins.append((i, n + 1))
    return NotebookSubmission("\n".join(source_lines) + "\n", answers, origins)


def _answer_assignments(tree: ast.Module, answer_id: str) -> list[ast.Assign]:
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
    for node in _answer_assignments(tree, answer_id):
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


def _read_answer(text: str, answer_id: str, cell: str, where: str) -> Any:
    try:
        return answer_from_source(text, answer_id)
    except ValueError as e:
        raise WorkspaceError(f"{where}, {cell}, {e}.") from None


def grade_notebook(path: Path, topic: Topic, seed: int, only: str | None = None,
                   timeout: float | None = None, grader_seed: int | None = None,
                   settings: Any = None) -> Any:
    """Grade a notebook exactly as a .py workspace: its kept code and its answer cells.

    `grader_seed` replays the code checks' inputs of an earlier run; None draws fresh ones.
    """
    from normquiz.grading import grade_topic, syntax_check
    from normquiz.questions import check_answer_type, generate
    from normquiz.sandbox import DEFAULT_TIMEOUT

    submission = read_notebook(path, topic)
    for q in topic.questions:
        generated = generate(topic, q, seed) if isinstance(q, NumericQuestion) else None
        problem = check_answer_type(q, submission.answers.get(q.id), generated)
        if problem:
            raise WorkspaceError(f"{path.name}, the answer cell of '{q.id}': {problem}.")
    with tempfile.TemporaryDirectory(prefix="normquiz-nb-") as tmp:
        module = Path(tmp) / str(topic.module or "notebook.py")
        module.write_text(submission.source, encoding="utf-8")
        try:
            syntax_check(module)
        except WorkspaceError as e:
            line = re.search(r"line (\d+)", str(e))
            place = submission.where(int(line.group(1))) if line else ""
            raise WorkspaceError(f"{path.name}, {place}: {str(e).split(': ', 1)[-1]}") from None
        result = grade_topic(topic, module, submission.answers, seed, only,
                             timeout or DEFAULT_TIMEOUT, grader_seed=grader_seed,
                             settings=settings)
    result.graded_file = path.name
    in_notebook_words(result, topic)
    for exercise in result.exercises:
        exercise.feedback = re.sub(
            rf'File "{re.escape(module.name)}", line (\d+)',
            lambda m: f"{path.name}, {submission.where(int(m.group(1)))}", exercise.feedback)
    return result


# ---------------------------------------------------------------- the kernel


def _literal(value: Any) -> str | None:
    """Source that rebuilds a plain constant (numbers, strings, None, short lists of them)."""
    import math

    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):  # np.float64 too: written as a plain float
        value = float(value)
        return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (tuple, list)) and len(value) < 1000 and all(
            isinstance(v, (bool, int, float, str)) for v in value):
        items = ", ".join(str(_literal(v)) for v in value)
        return f"({items}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) \
            else f"[{items}]"
    return None


def _lambda_source(function: Any) -> str | None:
    """`lambda ...: ...` as written in its cell, or None when it cannot be told apart.

    inspect gives the whole lines a lambda is on; the cell is parsed and the lambda
    on its first line whose compiled code is this function's is taken.
    """
    import inspect

    code = function.__code__
    if code.co_freevars:
        return None  # it uses a variable of the function it was made in
    try:
        lines, _ = inspect.findsource(function)
        text = "".join(lines)
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            segment = ast.get_source_segment(text, node)
            if segment is None:
                continue
            try:
                compiled = compile(f"({segment})", code.co_filename, "eval", dont_inherit=True)
            except (SyntaxError, ValueError, TypeError):
                continue
            inner = next((c for c in compiled.co_consts if hasattr(c, "co_code")), None)
            if inner is not None and (inner.co_code, inner.co_names, inner.co_varnames) == (
                    code.co_code, code.co_names, code.co_varnames):
                found.append(segment)
    if len(set(found)) != 1:
        return None
    return "(" + found[0] + ")" if "\n" in found[0] else found[0]


def _import_of(name: str, value: Any, modules: list[str]) -> str | None:
    """`from <module> import <attr> as <name>` when `value` is an attribute of an
    imported module: of `value.__module__`, of its type's module or of a module the
    kernel imported (np.sqrt is a ufunc, found as numpy's attribute `sqrt`)."""
    import sys

    candidates = [getattr(value, "__module__", None), *modules,
                  getattr(type(value), "__module__", None)]
    seen: list[str] = []
    for m in candidates:
        if not isinstance(m, str) or m in ("__main__", "builtins"):
            continue
        for c in (m, m.split(".")[0]):
            if c not in seen and isinstance(sys.modules.get(c), type(sys)):
                seen.append(c)
    # Public modules first (numpy before numpy._core.umath).
    seen.sort(key=lambda m: any(part.startswith("_") for part in m.split(".")))
    own = getattr(value, "__name__", None)
    for m in seen:
        attrs = vars(sys.modules[m])  # no getattr: a module's __getattr__ may import or warn
        for attr in (name, own):
            if isinstance(attr, str) and attr.isidentifier() and attrs.get(attr) is value:
                return f"from {m} import {attr}" + ("" if attr == name else f" as {name}")
    return None


def module_from_namespace(namespace: dict[str, Any],
                          skip: Collection[str] = frozenset()) -> str:
    """Rebuild a module from a running kernel's globals: imports, constants, definitions.

    A value that cannot be rebuilt (an array, an object made by a call) is left out:
    what uses it fails with a NameError, as it would in the saved notebook.
    """
    import inspect
    import textwrap
    import types

    names = [(n, v) for n, v in list(namespace.items())
             if not _IPYTHON_NAMES.fullmatch(n) and n not in skip]
    modules = [v.__name__ for _, v in names if isinstance(v, types.ModuleType)]
    imports, constants, definitions = [], [], []
    for name, value in names:
        if isinstance(value, types.ModuleType):
            module = value.__name__
            if name == module:
                imports.append(f"import {module}")
            elif "." in module and name == module.rsplit(".", 1)[1]:
                parent, child = module.rsplit(".", 1)
                imports.append(f"from {parent} import {child}")
            else:
                imports.append(f"import {module} as {name}")
            continue
        main = getattr(value, "__module__", None) == "__main__"
        if main and inspect.isfunction(value) and value.__name__ == "<lambda>":
            source = _lambda_source(value)
            if source is not None:
                definitions.append(f"{name} = {source}")
            continue
        if main and (inspect.isfunction(value) or inspect.isclass(value)):
            try:
                definitions.append(textwrap.dedent(inspect.getsource(value)))
            except (OSError, TypeError):
                continue  # defined by exec or lost: nothing to rebuild it from
            if value.__name__ != name:
                definitions.append(f"{name} = {value.__name__}")
            continue
        literal = _literal(value)
        if literal is not None and not (isinstance(value, float) and literal.startswith("float")):
            constants.append(f"{name} = {literal}")
            continue
        imported = _import_of(name, value, modules)
        if imported is not None:
            imports.append(imported)
        elif literal is not None:
            constants.append(f"{name} = {literal}")  # float('inf') not from a module
    return "\n".join(imports + constants + [""] + definitions) + "\n"


class CheckReport:
    """What normquiz.check() returns: text in a terminal, HTML in Jupyter."""

    def __init__(self, result: Any) -> None:
        self.result = result

    @property
    def passed(self) -> bool:
        return self.result.passed

    def __repr__(self) -> str:
        from normquiz.report import render_text

        return render_text(self.result, lambda text, **_: text)

    def _repr_html_(self) -> str:
        import html

        from normquiz.report import render_text

        palette = {"green": "#1a7f37", "red": "#cf222e", "yellow": "#9a6700"}

        def style(text: str, fg: str | None = None, bold: bool = False, **_: Any) -> str:
            text = html.escape(text)
            css = (f"color:{palette.get(fg, fg)};" if fg else "") + ("font-weight:bold;"
                                                                      if bold else "")
            return f'<span style="{css}">{text}</span>' if css else text

        body = render_text(self.result, style)
        return f'<pre style="white-space:pre-wrap">{body}</pre>'


class CheckProblem:
    """What normquiz.check() returns when it cannot grade: the reason, without a traceback."""

    passed = False
    result = None

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        import html

        return f'<pre style="white-space:pre-wrap;color:#cf222e">{html.escape(self.message)}</pre>'


def in_notebook_words(result: Any, topic: Topic) -> None:
    """Unanswered exercises' feedback, naming the notebook's cells (the graders name
    the module and answers.yaml)."""
    for e in result.exercises:
        if e.status != "unanswered":
            continue
        exercise = topic.exercise(e.id)
        if isinstance(exercise, CodeExercise):
            e.feedback = (f"Not implemented yet: fill in the # TODO lines of "
                          f"{exercise.function} in its exercise cell, run that cell, then "
                          f'normquiz.check("{e.id}").')
        else:
            e.feedback = (f"Not answered yet: replace None with your answer in the answer cell "
                          f"of '{e.id}', run it, then normquiz.check(\"{e.id}\").")


def _kernel_answer_problem(namespace: dict[str, Any], question_id: str) -> str | None:
    """Why `normquiz grade` would refuse the answer cell as last run in this kernel.

    IPython keeps each cell's code as run (`_ih`); the last one that assigns the
    answer at its top level is read as `normquiz grade` reads the saved answer cell.
    """
    history = namespace.get("_ih")
    if not isinstance(history, list):
        return None  # not an IPython kernel: nothing to compare with
    for text in reversed(history):
        if not isinstance(text, str) or question_id not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if _answer_assignments(tree, question_id):
            try:
                answer_from_source(text, question_id)
            except ValueError as e:
                return f"normquiz grade would not accept it: {e}"
            return None
    return None


_declared: tuple[str, int] | None = None  # what setup() said, in this kernel


def setup(topic: str, seed: int) -> None:
    """Declare this notebook's topic and seed (its second cell does), so that check()
    works where no workspace is, as in Colab or a notebook downloaded on its own."""
    from normquiz.content import default_catalog
    from normquiz.learnerfiles import SEED_MAX

    global _declared
    default_catalog().topic(topic)  # an unknown topic is said now, not at the first check
    if type(seed) is not int or not 0 <= seed <= SEED_MAX:
        raise WorkspaceError(f"setup(): the seed must be a whole number from 0, not {seed!r}.")
    _declared = (topic, seed)


def check(exercise_id: str | None = None, namespace: dict[str, Any] | None = None,
          path: Path | str | None = None,
          grader_seed: int | None = None) -> CheckReport | CheckProblem:
    """Grade the functions and answers as currently defined in the running kernel.

    `grader_seed` replays the code checks' inputs of an earlier run; None draws fresh ones.
    A problem (no workspace, an unknown id, a syntax error) is returned as a
    CheckProblem, which shows its message without a traceback.
    """
    from normquiz.errors import NormquizError

    try:
        return _check(exercise_id, namespace, path, grader_seed)
    except NormquizError as e:
        return CheckProblem(str(e))


def _check(exercise_id: str | None, namespace: dict[str, Any] | None,
           path: Path | str | None, grader_seed: int | None) -> CheckReport:
    import sys

    from normquiz.content import default_catalog
    from normquiz.grading import grade_topic
    from normquiz.questions import check_answer_type, generate, plain_answer
    from normquiz.report import ExerciseResult
    from normquiz.workspace import Workspace

    namespace = namespace if namespace is not None else vars(sys.modules["__main__"])
    try:
        workspace = Workspace.find(Path(path) if path else None)
    except WorkspaceError:
        if _declared is None:
            raise
        # A notebook on its own: the topic and seed its setup cell declared.
        workspace = Workspace(Path.cwd(), _declared[0], _declared[1], keeps_state=False)
    topic = default_catalog().topic(workspace.topic)
    if exercise_id is not None:
        topic.exercise(exercise_id)  # an unknown id is a plain message, before any work
    answers: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    for q in topic.questions:
        value = plain_answer(namespace.get(q.id))
        generated = generate(topic, q, workspace.seed) if isinstance(q, NumericQuestion) else None
        problem = check_answer_type(q, value, generated) or (
            _kernel_answer_problem(namespace, q.id) if value is not None else None)
        if problem:
            invalid[q.id] = problem
        else:
            answers[q.id] = value
    question_ids = {q.id for q in topic.questions}
    with tempfile.TemporaryDirectory(prefix="normquiz-kernel-") as tmp:
        module = Path(tmp) / str(topic.module or "kernel.py")
        module.write_text(module_from_namespace(namespace, question_ids), encoding="utf-8")
        result = grade_topic(topic, module if topic.module else None, answers, workspace.seed,
                             exercise_id, grader_seed=grader_seed)
    for i, e in enumerate(result.exercises):
        if e.id in invalid:
            result.exercises[i] = ExerciseResult(e.id, e.kind, e.title, "error", 0.0, e.max_score,
                                                 feedback=f"Your answer: {invalid[e.id]}.")
    in_notebook_words(result, topic)
    result.graded_file = KERNEL
    workspace.record(result.exercises)
    return CheckReport(result)
