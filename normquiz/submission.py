"""A learner's work, wherever it is, and grading it: one model for every client.

`normquiz grade` (a workspace, a file, a learner's folder, a notebook on its own),
`grade-batch` (each learner's folder), `normquiz.check()` (a running kernel) and
the Gradescope autograder (which runs `normquiz grade` on the submitted folder)
all find the work with a `find_*` function and grade it with `grade()`.

What is graded in a folder, by one rule:

- The module is the topic's module file (`layernorm.py`); failing that, the one
  file that is that name but for case or a browser's " (1)" (`Layernorm (1).py`);
  failing that, when the folder holds no notebook either, its only `.py` file.
  The notebook (`layernorm.ipynb`) is found the same way.
- With both a module and a notebook, a file as `normquiz start` wrote it is never
  preferred over one the learner changed. When both were changed, the one saved
  last is graded, unless they were saved within two seconds of each other (as a
  git clone, an unzip or an upload leaves them): then grading stops and says to
  grade one by name (`normquiz grade layernorm.py`).
- Answers come from the graded notebook's answer cells, else from answers.yaml.
- The seed of the numeric questions is the state file's; without one, the graded
  file's own record (a notebook's metadata, or answers.yaml's "# normquiz seed:"
  line), then the other file's, then the default given.

`strict` grading (a person at a terminal) stops at the first broken file with a
message; otherwise (reports for machines, batches) a broken file costs only what
it holds: a module that does not compile makes each code exercise an error, an
answer of the wrong type makes its question an error, and the rest is graded.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normquiz.content import Catalog, CodeExercise, NumericQuestion, Topic, display_path, line_of
from normquiz.errors import NormquizError, WorkspaceError, did_you_mean
from normquiz.report import Status, TopicResult
from normquiz.sandbox import DEFAULT_TIMEOUT, SandboxSettings
from normquiz.text import NotebookPlaces, Places
from normquiz.workspace import (
    ANSWERS_FILE,
    STATE_FILE,
    Workspace,
    notebook_identity,
    notebook_name,
    recorded_seed,
    refuse_links,
)

# Saved this close together, a module and a notebook were not both worked on in that
# order: a git clone, an unzip or an upload gives them nearly the same time.
SAME_TIME_SECONDS = 2.0
# A browser's name for a second download of the same file: `layernorm (1).py`.
_DOWNLOAD_COPY = re.compile(r"\s*\(\d+\)$")


@dataclass
class Work:
    """What to grade for one learner, and where their progress goes."""

    topic: Topic
    seed: int
    places: Places
    graded_file: str | None = None  # as reports name it
    module: Path | None = None  # a module file, graded as it is
    source: str | None = None  # or a module's source, built from a notebook or a kernel
    # The questions' answers when they came with the work (a notebook, a kernel), with
    # the reason for each one that is not a valid answer; else read from answers_path.
    answers: dict[str, Any] | None = None
    invalid: dict[str, str] = field(default_factory=dict)
    answers_path: Path | None = None
    notes: list[str] = field(default_factory=list)  # about what was graded, for the learner
    why: str = ""  # why this file, when the folder held another
    workspace: Workspace | None = None  # where progress is recorded; None: nowhere


# ---------------------------------------------------------------- finding files


def _is_regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _same_name(name: str, wanted: str) -> bool:
    """`name` is `wanted` but for case and a browser's " (1)" before the suffix."""
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and f"{_DOWNLOAD_COPY.sub('', stem)}.{suffix}".casefold() == \
        wanted.casefold()


def _candidates(folder: Path, wanted: str, any_name: bool) -> list[str]:
    """The files in `folder` that could be `wanted`: itself; else the regular files that
    are `wanted` but for case or a " (1)"; else, when `any_name`, any with its suffix."""
    if _is_regular(folder / wanted):
        return [wanted]
    suffix = Path(wanted).suffix.casefold()
    try:
        files = sorted(p.name for p in folder.iterdir()
                       if p.suffix.casefold() == suffix and _is_regular(p))
    except OSError:
        return []
    return [n for n in files if _same_name(n, wanted)] or (files if any_name else [])


def _pick(folder: Path, wanted: str, candidates: list[str], notes: list[str]) -> Path | None:
    """The one candidate for `wanted`; with several, none, and `notes` names them."""
    if len(candidates) == 1:
        if candidates[0] != wanted:
            notes.append(f"{candidates[0]} was graded as {wanted} (name it {wanted}).")
        return folder / candidates[0]
    if candidates:
        notes.append(f"There is no {wanted}, and several files could be it: "
                     f"{', '.join(candidates)}. None was graded: keep one named {wanted}.")
    return None


def learner_files(folder: Path, topic: Topic, notes: list[str]) -> tuple[Path | None,
                                                                       Path | None]:
    """(module, notebook) in `folder`, each None when there is none (see the rule above)."""
    notebook_file = notebook_name(topic)
    modules = _candidates(folder, topic.module, False) if topic.module else []
    notebooks = _candidates(folder, notebook_file, False)
    if not modules and not notebooks:  # none under a close name: the one .py, or .ipynb
        modules = _candidates(folder, topic.module, True) if topic.module else []
        notebooks = [] if modules else _candidates(folder, notebook_file, True)
    module = _pick(folder, topic.module, modules, notes) if topic.module else None
    return module, _pick(folder, notebook_file, notebooks, notes)


def _same_bytes(path: Path, other: Path) -> bool:
    try:
        return path.stat().st_size == other.stat().st_size and \
            path.read_bytes() == other.read_bytes()
    except OSError:
        return False


def choose(module: Path | None, notebook: Path | None, topic: Topic) -> tuple[Path | None, str]:
    """(the file to grade, why it and not the other), by the rule of this module."""
    from normquiz.notebook import notebook_untouched

    if notebook is None or module is None:
        return module or notebook, ""
    if _same_bytes(module, topic.stub_path):
        return notebook, f"{module.name} is still the stub"
    if notebook_untouched(notebook, topic):
        return module, f"{notebook.name} is still as it was started"
    notebook_time, module_time = notebook.stat().st_mtime, module.stat().st_mtime
    if abs(notebook_time - module_time) < SAME_TIME_SECONDS:
        raise WorkspaceError(
            f"{display_path(module)} and {notebook.name} both hold work, saved at the same "
            "time (as a git clone or an upload leaves them), so normquiz cannot tell which to "
            f"grade. Grade one by name: 'normquiz grade {module.name}' or 'normquiz grade "
            f"{notebook.name}'; or delete the one you did not use.")
    if notebook_time > module_time:
        return notebook, f"changed more recently than {module.name}"
    return module, f"changed more recently than {notebook.name}"


# ---------------------------------------------------------------- finding work


def find_in_folder(folder: Path, catalog: Catalog | None, *, topic: Topic | str | None = None,
                   seed: int = 0, file: Path | None = None,
                   record: bool = True) -> Work:
    """The work in a folder: a workspace, or a learner's files (a download, a batch, a
    submission) of `topic` (else the topic a notebook there records), with `seed` when
    they record none.

    `file` grades that file instead of choosing; `record` writes progress into a
    workspace's state file (never into a folder that has none).
    """
    state = folder / STATE_FILE
    given = topic.slug if isinstance(topic, Topic) else topic
    workspace = Workspace.load(folder) if state.exists() or state.is_symlink() else None
    if workspace is not None:
        if given is not None and workspace.topic != given:
            raise WorkspaceError(f"{display_path(folder)} is a workspace for "
                                 f"'{workspace.topic}', not '{given}'.")
        workspace.keeps_state = record
    if isinstance(topic, Topic):
        the_topic = topic
    else:
        assert catalog is not None, "a topic by name needs the catalog"
        the_topic = catalog.topic(workspace.topic if workspace else topic
                                  or _topic_of_folder(folder))
    notes: list[str] = []
    graded: Path | None
    if file is not None:
        graded, why = file, ""
        notebook = file if file.suffix == ".ipynb" else None
    else:
        refuse_links(folder, the_topic)
        module, notebook = learner_files(folder, the_topic, notes)
        graded, why = choose(module, notebook, the_topic)
    if workspace is None:
        found = recorded_seed(folder, graded, notebook)
        workspace = Workspace(folder, the_topic.slug, seed if found is None else found,
                              keeps_state=False)
    if graded is not None and graded.suffix == ".ipynb":
        work = _notebook_work(graded, the_topic, workspace.seed)
    else:
        module = graded or (folder / the_topic.module if the_topic.module else None)
        work = Work(the_topic, workspace.seed, Places(display_path(module) if module else None),
                    graded_file=module.name if module else None, module=module,
                    answers_path=folder / ANSWERS_FILE)
    work.notes, work.why, work.workspace = notes, why, workspace
    return work


def _topic_of_folder(folder: Path) -> str:
    """A folder without a state file names its topic in a notebook's metadata."""
    try:
        notebooks = sorted(p for p in folder.glob("*.ipynb") if _is_regular(p))
    except OSError:
        notebooks = []
    for notebook in notebooks:
        identity = notebook_identity(notebook)
        if identity is not None:
            return identity[0]
    raise WorkspaceError(
        f"{display_path(folder)} is not in a normquiz workspace (no {STATE_FILE} here or "
        "above). Run 'normquiz start TOPIC' to make one and cd into it, or name the topic "
        "of these files with --topic. If you deleted "
        f"{STATE_FILE}, run 'normquiz start TOPIC . --force' here: your files are kept.")


def find_file(path: Path, catalog: Catalog, *, topic: str | None = None,
              seed: int = 0) -> Work:
    """The work in one file: a module or notebook in a workspace, or a notebook on its own
    (Colab, a download), graded with the topic and seed in its metadata."""
    if not _is_regular(path):
        raise WorkspaceError(f"{display_path(path)} is not a file.")
    try:
        workspace = Workspace.find(path.resolve().parent)
    except WorkspaceError:
        identity = notebook_identity(path) if path.suffix == ".ipynb" else None
        if identity is None and topic is None:
            raise
        if identity is not None:
            topic, seed = identity
        return find_in_folder(path.parent, catalog, topic=topic, seed=seed, file=path)
    return find_in_folder(workspace.path, catalog, file=path)


def _notebook_work(path: Path, topic: Topic, seed: int) -> Work:
    from normquiz.notebook import read_notebook

    notebook = read_notebook(path, topic)
    answers: dict[str, Any] = {}
    invalid = dict(notebook.invalid)
    for question_id, value in notebook.answers.items():
        problem = answer_problem(topic, question_id, value, seed)
        if problem:
            invalid[question_id] = f"the answer cell of '{question_id}': {problem}"
        else:
            answers[question_id] = value
    return Work(topic, seed, NotebookPlaces(path.name, notebook.origins),
                graded_file=path.name, source=notebook.source, answers=answers,
                invalid=invalid)


# ---------------------------------------------------------------- answers


def answer_problem(topic: Topic, question_id: str, value: Any, seed: int) -> str | None:
    """Why `value` is not an answer of the right type to the question, or None."""
    from normquiz.questions import check_answer_type, generate

    question = topic.exercise(question_id)
    generated = generate(topic, question, seed) if isinstance(question, NumericQuestion) \
        else None
    problem = check_answer_type(question, value, generated)
    return problem if problem is None or len(problem) <= 500 else problem[:500] + " …"


def read_answers(path: Path, topic: Topic, seed: int) -> tuple[dict[str, Any], dict[str, str]]:
    """answers.yaml: (the valid answers, why each other one is not), every key a question.

    A file that cannot be read, or a key that is no question, is a WorkspaceError.
    """
    from normquiz.workspace import read_answers_file

    where = display_path(path)
    _, data, node = read_answers_file(path, topic.slug)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise WorkspaceError(f"{where}: expected 'question_id: answer' lines, got "
                             f"{type(data).__name__}.")
    ids = [q.id for q in topic.questions]
    answers: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    for key, value in data.items():
        if key not in ids:
            raise WorkspaceError(
                f"{where}, line {line_of(node, (key,))}: there is no question '{key}' in "
                f"topic '{topic.slug}'.{did_you_mean(str(key), ids)}")
        problem = answer_problem(topic, key, value, seed)
        if problem:
            # The line of the key: the value's own line can be a nested item.
            invalid[key] = f"{where}, line {line_of(node, (key,))}, '{key}': {problem}"
        else:
            answers[key] = value
    return answers, invalid


# ---------------------------------------------------------------- grading


def grade(work: Work, *, only: str | None = None, strict: bool = True,
          timeout: float = DEFAULT_TIMEOUT, settings: SandboxSettings | None = None,
          grader_seed: int | None = None) -> TopicResult:
    """Grade the work (`only`: one exercise id) and record the progress.

    `strict`: a broken file (a module that does not compile, an answer of the wrong
    type) stops grading with a WorkspaceError; else it costs only what it holds.
    `grader_seed` replays the code checks' inputs of an earlier run; None draws fresh ones.
    """
    from normquiz.grading import grade_topic, new_sandbox, syntax_check

    topic = work.topic
    selected = [topic.exercise(only)] if only else topic.exercises
    code = [e for e in selected if isinstance(e, CodeExercise)]
    questions = [e for e in selected if e.is_question]
    not_run: tuple[Status, str] | None = None
    sandbox = None
    with tempfile.TemporaryDirectory(prefix="normquiz-work-") as tmp:
        module = work.module
        if code and work.source is not None:
            module = Path(tmp) / str(topic.module)
            module.write_text(work.source, encoding="utf-8")
        if code:
            not_run = _why_not_runnable(work, module, strict)
        if code and not_run is None and module is not None:
            try:
                syntax_check(module, work.places)
            except WorkspaceError as e:
                if strict:
                    raise
                not_run = ("error", str(e))
            else:
                # Started first: the worker imports numpy while this process reads the
                # answers and imports pytest.
                sandbox = new_sandbox(topic, module, settings, work.places)
                sandbox.start()
        try:
            answers, invalid = _answers(work, questions, strict)
            result = grade_topic(topic, module, answers, work.seed, only, timeout, sandbox,
                                 settings, grader_seed=grader_seed, not_run=not_run,
                                 places=work.places, invalid=invalid)
        finally:
            if sandbox is not None:
                sandbox.stop()
    read_code = bool(code) and (not_run is None or not_run[0] == "error")
    result.graded_file = work.graded_file if read_code or work.answers is not None else None
    result.notes = list(work.notes)
    if work.workspace is not None:
        work.workspace.record(result.exercises)
    return result


def _in_workspace(work: Work) -> bool:
    """Whether the work is a workspace's (with a state file): its files were all written
    by `start`, so a missing one is to be restored, not graded as unanswered."""
    return work.workspace is not None and (work.workspace.path / STATE_FILE).exists()


def _why_not_runnable(work: Work, module: Path | None,
                      strict: bool) -> tuple[Status, str] | None:
    topic = work.topic
    if module is not None and module.exists():
        return None
    if module is not None and strict and _in_workspace(work):
        raise WorkspaceError(
            f"{display_path(module)} is missing. Run 'normquiz start {topic.slug} . --force' "
            "to write a fresh stub (your other files are kept).")
    folder = work.workspace.path if work.workspace is not None else None
    where = f" in {display_path(folder)}" if folder is not None else ""
    return "unanswered", f"No {topic.module}{where}: nothing to grade."


def _answers(work: Work, questions: list[Any],
             strict: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """(valid answers, why each invalid one is not) of the selected questions."""
    if not questions:
        return {}, {}
    if work.answers is not None:
        answers, invalid = work.answers, work.invalid
    elif work.answers_path is not None and work.answers_path.exists():
        try:
            answers, invalid = read_answers(work.answers_path, work.topic, work.seed)
        except NormquizError as e:
            if strict:
                raise
            answers, invalid = {}, {q.id: str(e) for q in work.topic.questions}
    elif strict and _in_workspace(work):
        where = display_path(work.answers_path or Path(ANSWERS_FILE))
        raise WorkspaceError(f"{where} is missing. Run 'normquiz start {work.topic.slug} . "
                             "--force' to recreate it (your other files are kept).")
    else:
        answers, invalid = {}, {}
    selected = {q.id for q in questions}
    invalid = {k: v for k, v in invalid.items() if k in selected}
    if strict and invalid and work.answers is None:
        raise WorkspaceError(next(iter(invalid.values())) + ".")
    return answers, invalid

