"""A learner's workspace: the stub module, answers.yaml, README.md and a state file.

`start` never overwrites anything: files that exist are kept as they are. The
state file (.normquiz.json) holds the topic, the seed of the numeric
questions, hints shown and progress; it is written atomically.
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normquiz import __version__
from normquiz.content import (
    Catalog,
    CodeExercise,
    Topic,
    display_path,
    parse_yaml,
)
from normquiz.errors import NormquizError, WorkspaceError
from normquiz.learnerfiles import (
    ANSWERS_CAP,
    NOTEBOOK_CAP,
    SEED_MAX,
    STATE_CAP,
    decode,
    read_bytes,
    read_text,
    state_problem,
)
from normquiz.text import points

STATE_FILE = ".normquiz.json"
ANSWERS_FILE = "answers.yaml"
README_FILE = "README.md"
_SEED_LINE = re.compile(r"^# normquiz seed: (\d{1,19})\s*$", re.MULTILINE)
_SLUG = re.compile(r"[a-z][a-z0-9_]{0,47}")
BROKEN_SUFFIX = ".broken"


def broken_state_advice(slug: str) -> str:
    """What to do about a broken state file (the end of every message about one)."""
    return (f"Fix it, or run 'normquiz start {slug} . --force' in that folder: it keeps the "
            f"broken file as {STATE_FILE}{BROKEN_SUFFIX} and writes a fresh one; your code "
            "and answers are kept.")


@dataclass
class Workspace:
    path: Path
    topic: str
    seed: int
    hints_shown: dict[str, int] = field(default_factory=dict)
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    # False for a notebook on its own (Colab, a download): it is graded from what it
    # carries, and no state file is written beside it.
    keeps_state: bool = True

    @property
    def state_path(self) -> Path:
        return self.path / STATE_FILE

    @property
    def answers_path(self) -> Path:
        return self.path / ANSWERS_FILE

    def module_path(self, topic: Topic) -> Path:
        return self.path / str(topic.module)

    def record(self, exercises: Any) -> None:
        """Save graded exercises' statuses and scores as progress."""
        for e in exercises:
            self.progress[e.id] = {"status": e.status, "score": round(e.score, 4),
                                   "max_score": e.max_score}
        self.save()

    def next_hint(self, exercise_id: str, available: int) -> int:
        """Record one more hint of `exercise_id` shown (at most `available`); its number."""
        shown = min(self.hints_shown.get(exercise_id, 0) + 1, available)
        self.hints_shown[exercise_id] = shown
        self.save()
        return shown

    def save(self) -> None:
        """Write the state file atomically: a crash never leaves half a file."""
        if not self.keeps_state:
            return
        data = {"normquiz": __version__, "topic": self.topic, "seed": self.seed,
                "hints_shown": self.hints_shown, "progress": self.progress}
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".normquiz-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
            os.chmod(tmp, 0o644)  # mkstemp makes it private; it is an ordinary project file
            os.replace(tmp, self.state_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Workspace:
        """The workspace in `path` from its state file, every field checked.

        A state file that is not what normquiz writes is a WorkspaceError naming
        the file and the problem; it is never changed or replaced here.
        """
        state = path / STATE_FILE
        where = display_path(state)
        repair = broken_state_advice("TOPIC")
        text = read_text(state, STATE_CAP, where, repair)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise WorkspaceError(f"{where}, line {e.lineno}: the state file is corrupted "
                                 f"({e.msg}). {repair}") from None
        except (ValueError, RecursionError) as e:  # a 5000-digit number, [[[[...
            why = "nested too deeply" if isinstance(e, RecursionError) else str(e)
            raise WorkspaceError(f"{where}: the state file is corrupted ({why}). "
                                 f"{repair}") from None
        problem = state_problem(data)
        if problem:
            named = data.get("topic") if isinstance(data, dict) else None
            advice = broken_state_advice(named if isinstance(named, str)
                                         and _SLUG.fullmatch(named) else "TOPIC")
            raise WorkspaceError(f"{where}: the state file is corrupted: {problem}. {advice}")
        return cls(path, data["topic"], data["seed"], dict(data.get("hints_shown", {})),
                   dict(data.get("progress", {})))

    @classmethod
    def find(cls, start: Path | None = None) -> Workspace:
        """The workspace containing `start` (default: the current directory)."""
        start = (start or Path.cwd()).resolve()
        for folder in (start, *start.parents):
            if (folder / STATE_FILE).exists():
                return cls.load(folder)
        raise WorkspaceError(
            f"{display_path(start)} is not in a normquiz workspace (no {STATE_FILE} here or "
            "above). Run 'normquiz start TOPIC' to make one and cd into it. If you deleted "
            f"{STATE_FILE}, run 'normquiz start TOPIC . --force' here: your files are kept."
        )


# ---------------------------------------------------------------- files of a new workspace


def _comment(text: str, width: int = 88) -> str:
    out = []
    for para in text.strip().splitlines():
        wrapped = textwrap.wrap(para, width - 2, break_on_hyphens=False) or [""]
        out += [("# " + w).rstrip() for w in wrapped] if para.strip() else ["#"]
    return "\n".join(out)


def answers_template(topic: Topic, seed: int) -> str:
    from normquiz.questions import answer_help, prompt_for

    lines = [f"# normquiz answers for the topic '{topic.slug}'. Replace each null with your",
             "# answer, save, and run 'normquiz grade'. Numbers to 3 decimals or better.",
             f"# normquiz seed: {seed}", ""]
    for q in topic.questions:
        lines.append(f"# --- {q.id}: {q.title} ({points(q.points)})")
        lines.append(_comment(prompt_for(topic, q, seed, plain=True)))
        lines.append(f"# Answer with {answer_help(q)}.")
        lines.append(f"{q.id}: null")
        lines.append("")
    return "\n".join(lines)


def readme_text(topic: Topic, seed: int) -> str:
    from normquiz.questions import answer_help, prompt_for

    parts = [f"# {topic.title}", "", topic.manifest.summary.strip(), "", "## How to work", ""]
    if topic.module:
        parts.append(f"- Write the functions in `{topic.module}` (the `# TODO` lines).")
    if topic.questions:
        parts.append(f"- Answer the questions in `{ANSWERS_FILE}`.")
    parts += ["- `normquiz grade` grades everything; `normquiz grade ID` one exercise.",
              "- `normquiz hint ID` shows the next hint; `normquiz explain ID` the worked example.",
              "", "## Exercises", ""]
    for e in topic.exercises:
        parts.append(f"### `{e.id}`: {e.title} ({points(e.points)})")
        parts.append("")
        if isinstance(e, CodeExercise):
            parts += [f"In `{topic.module}`: `{e.signature}`", "", e.prompt.strip()]
        else:
            parts += [prompt_for(topic, e, seed), "", f"Answer in `{ANSWERS_FILE}` with "
                      f"{answer_help(e)}."]
        parts.append("")
    return "\n".join(parts)


def notebook_name(topic: Topic) -> str:
    return f"{topic.slug}.ipynb"


def notebook_identity(path: Path) -> tuple[str, int] | None:
    """(topic, seed) that a notebook made by normquiz records in its metadata; None when
    it records none or cannot be read (grading it says why)."""
    try:
        meta = json.loads(read_bytes(path, NOTEBOOK_CAP, path.name, "").decode("utf-8"))
        topic, seed = meta["metadata"]["normquiz"]["topic"], meta["metadata"]["normquiz"]["seed"]
    except (WorkspaceError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if isinstance(topic, str) and _SLUG.fullmatch(topic) and type(seed) is int \
            and 0 <= seed <= SEED_MAX:
        return topic, seed
    return None


def _answers_seed(path: Path) -> int | None:
    if not path.is_file() or path.is_symlink():
        return None
    try:
        text = read_bytes(path, ANSWERS_CAP, path.name, "").decode("utf-8", "replace")
    except WorkspaceError:
        return None  # reported when answers.yaml is graded
    found = _SEED_LINE.search(text)
    return int(found.group(1)) if found and int(found.group(1)) <= SEED_MAX else None


def recorded_seed(folder: Path, graded: Path | None, notebook: Path | None) -> int | None:
    """The seed the learner's files record, without a state file: the graded file's
    own record first (a notebook's metadata, or answers.yaml's seed line)."""
    from_notebook = notebook_identity(notebook) if notebook is not None else None
    from_answers = _answers_seed(folder / ANSWERS_FILE)
    records = [from_notebook[1] if from_notebook else None, from_answers]
    if graded is None or graded != notebook:
        records.reverse()
    return next((s for s in records if s is not None), None)


def refuse_links(folder: Path, topic: Topic) -> None:
    """A learner folder, or a file normquiz would read in it, must not be a symbolic link
    (nor a FIFO or a device): a link to the reference solution is not the learner's work."""
    if folder.is_symlink():
        raise WorkspaceError(f"{folder.name} is a symbolic link (to {os.readlink(folder)}): "
                             "links are not followed. Copy the learner's folder itself here.")
    names = [STATE_FILE, ANSWERS_FILE, notebook_name(topic), *([topic.module] if topic.module
                                                              else [])]
    for name in names:
        path = folder / name
        if path.is_symlink():
            raise WorkspaceError(f"{folder.name}/{name} is a symbolic link (to "
                                 f"{os.readlink(path)}): links are not followed. "
                                 "Copy the learner's file itself here.")
        if path.exists() and not path.is_file():  # a FIFO would block whoever reads it
            raise WorkspaceError(f"{folder.name}/{name} is not a regular file: not graded.")



@dataclass
class StartResult:
    workspace: Workspace
    written: list[str]
    kept: list[str]
    # (file, the name it was kept under, why): a broken state file set aside, not lost.
    set_aside: list[tuple[str, str, str]] = field(default_factory=list)


def _set_aside(file: Path) -> Path:
    """Rename `file` to a free `<name>.broken[-N]` beside it; the new name."""
    for n in range(1, 1000):
        target = file.with_name(file.name + BROKEN_SUFFIX + (f"-{n}" if n > 1 else ""))
        if not os.path.lexists(target):
            os.rename(file, target)
            return target
    raise WorkspaceError(f"{display_path(file)} cannot be set aside: too many "
                         f"{file.name}{BROKEN_SUFFIX}-N files. Delete some.")


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def start(catalog: Catalog, slug: str, directory: Path | None = None, *, force: bool = False,
          seed: int | None = None, notebook: bool = False) -> StartResult:
    """Create a workspace for `slug` in `directory` (default ./<slug>); keep existing files.

    With `notebook`, also write <slug>.ipynb: the same exercises as a notebook.
    """
    topic = catalog.topic(slug)
    path = Path(directory) if directory is not None else Path(slug)
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"{display_path(path)} exists and is not a folder.")
    if path.exists() and not _is_empty_dir(path) and not force:
        raise WorkspaceError(
            f"{display_path(path)} already exists and is not empty; nothing was changed. "
            f"To add any missing files without touching yours, run "
            f"'normquiz start {slug} {display_path(path)} --force'.")
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise WorkspaceError(f"--seed must be a whole number from 0 to {SEED_MAX}, not {seed}.")
    path.mkdir(parents=True, exist_ok=True)
    workspace = None
    set_aside: list[tuple[str, str, str]] = []
    if os.path.lexists(path / STATE_FILE):
        try:
            workspace = Workspace.load(path)
        except WorkspaceError as e:
            # Broken: kept under another name (never overwritten), then recreated below,
            # with the seed answers.yaml or the notebook recorded.
            aside = _set_aside(path / STATE_FILE)
            set_aside.append((STATE_FILE, aside.name, str(e).split(" Fix it,")[0].rstrip(".")))
        if workspace and workspace.topic != slug:
            raise WorkspaceError(
                f"{display_path(path)} is a workspace for '{workspace.topic}', not '{slug}'. "
                "Use another folder.")
    state_ok = workspace is not None
    if workspace is None:
        if seed is None:
            seed = recorded_seed(path, None, path / notebook_name(topic))
        if seed is None:
            seed = random.SystemRandom().randrange(1, 10**6)
        workspace = Workspace(path, slug, seed)
    files: dict[str, str] = {}
    if topic.module:
        files[topic.module] = topic.stub_path.read_text(encoding="utf-8")
    if topic.questions:
        files[ANSWERS_FILE] = answers_template(topic, workspace.seed)
    files[README_FILE] = readme_text(topic, workspace.seed)
    written, kept = [], []
    if notebook:
        name = notebook_name(topic)
        if (path / name).exists():
            kept.append(name)
        else:
            from normquiz.notebook import write_notebook

            write_notebook(path / name, topic, workspace.seed)
            written.append(name)
    for name, text in files.items():
        target = path / name
        if target.exists():
            kept.append(name)
            continue
        target.write_text(text, encoding="utf-8")
        written.append(name)
    if not state_ok:
        workspace.save()
        written.append(STATE_FILE)
    return StartResult(workspace, written, kept, set_aside)


def read_answers_file(path: Path, slug: str = "TOPIC") -> tuple[str, Any, Any]:
    """(text, data, YAML node) of a learner's answers.yaml, read safely.

    Capped at ANSWERS_CAP, strict UTF-8, anchors and aliases refused: every
    problem is one WorkspaceError naming the file (and line) and what to do.
    """
    where = display_path(path)
    raw = read_bytes(path, ANSWERS_CAP, where, (
        "Answers take a few KiB: keep your 'question_id: answer' lines and remove the "
        f"rest, or rename the file, run 'normquiz start {slug} . --force' for a "
        "fresh one and copy your answers into it."),
        f"Make it a plain text file (or rename it and run 'normquiz start {slug} . --force' "
        "for a fresh one).")
    text = decode(raw, where, "Save it as UTF-8 in your editor (or retype the character "
                  "at that place), then try again.")
    try:
        data, node = parse_yaml(text, where, learner=True)
    except NormquizError as e:
        raise WorkspaceError(str(e)) from None
    return text, data, node


def record_answer(path: Path, question_id: str, value: Any, slug: str = "TOPIC") -> None:
    """Set `question_id: value` in answers.yaml, keeping every comment and other answer.

    The key's lines are replaced in place (or appended when missing), and the
    file is written atomically, so an interrupted quiz never loses answers. An
    answers.yaml that cannot be read safely is a WorkspaceError, and is left as it is.
    """
    import yaml

    text, _, node = read_answers_file(path, slug) if path.exists() else ("", None, None)
    lines = text.splitlines(keepends=True)
    flow = yaml.safe_dump({question_id: value}, default_flow_style=True, width=10**6).strip()
    new_line = flow[1:-1].strip() + "\n"  # "{id: value}" -> "id: value"
    span = None
    if isinstance(node, yaml.MappingNode):
        for key, val in node.value:
            if key.value == question_id:
                end = val.end_mark.line + (1 if val.end_mark.column > 0 else 0)
                span = (key.start_mark.line, max(end, key.start_mark.line + 1))
    if span is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(new_line)
    else:
        lines[span[0]:span[1]] = [new_line]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".answers-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(lines))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
