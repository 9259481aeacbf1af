"""A running notebook kernel: `normquiz.check()` grades what is defined in it.

The kernel's functions, imports and constants are rebuilt into a module
(module_from_namespace) and graded like a saved notebook, by normquiz.submission;
the answers are the kernel's variables, read as the answer cells are read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from normquiz.content import Topic
from normquiz.errors import WorkspaceError
from normquiz.notebook import answer_assignments, answer_from_source
from normquiz.submission import Work, answer_problem, grade
from normquiz.text import NotebookPlaces
from normquiz.workspace import Workspace

KERNEL = "this notebook's kernel"  # what check() names as the graded file
# What IPython itself puts in a kernel's globals: history, outputs, helpers.
_IPYTHON_NAMES = re.compile(r"__\w*__|_+|_i+|_i\d+|_\d+|_oh|_ih|_dh|In|Out|exit|quit|get_ipython")


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


def kernel_answer_problem(namespace: dict[str, Any], question_id: str) -> str | None:
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
        if answer_assignments(tree, question_id):
            try:
                answer_from_source(text, question_id)
            except ValueError as e:
                return f"normquiz grade would not accept it: {e}"
            return None
    return None


def from_kernel(namespace: dict[str, Any], topic: Topic, seed: int,
                workspace: Workspace | None) -> Work:
    """The work as defined in a running kernel: its functions and answer variables."""
    from normquiz.questions import plain_answer

    answers: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    for q in topic.questions:
        value = plain_answer(namespace.get(q.id))
        problem = answer_problem(topic, q.id, value, seed) or (
            kernel_answer_problem(namespace, q.id) if value is not None else None)
        if problem:
            invalid[q.id] = f"Your answer: {problem}"
        else:
            answers[q.id] = value
    source = module_from_namespace(namespace, {q.id for q in topic.questions})
    return Work(topic, seed, NotebookPlaces(KERNEL), graded_file=KERNEL,
                source=source if topic.module else None, answers=answers, invalid=invalid,
                workspace=workspace)


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
    work = from_kernel(namespace, topic, workspace.seed, workspace)
    # In a kernel every problem is shown in the exercise's own report, never raised.
    return CheckReport(grade(work, only=exercise_id, strict=False, grader_seed=grader_seed))
