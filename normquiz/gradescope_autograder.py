#!/usr/bin/env python3
"""Gradescope runs this for each submission (made by `normquiz export gradescope`).

This file is `run_autograder` in the bundle, byte for byte: `normquiz export
gradescope` copies it into the zip and writes its settings (topic, module,
seed, timeout, visibility...) next to it, in `normquiz-autograder.json`. It
uses the standard library only and runs as a script; importing it does nothing.

It grades the files in $ROOT/submission (a .py module, answers.yaml and/or a
notebook, or a whole workspace) with `normquiz grade --format gradescope
--require-isolation`, and always leaves $ROOT/results/results.json behind: on
any failure, score 0 and the reason. ROOT is /autograder, or
$NORMQUIZ_AUTOGRADER_ROOT.

Only the submission's regular files and folders are graded: a symbolic link
(to the installed reference solution, say) is neither followed nor copied, nor
is a fifo, socket or device; the output names each one skipped.

A module or notebook under another name (`layernorm (1).py`, a browser's name
for a second download, or `Layernorm.py`, or the only .py file submitted) is
graded as the module (or notebook) when it is the only candidate; the output
says which file was graded as what, or, when several could be, names them
and says none was.

Grading refuses, with score 0 and the reason, unless every isolation layer is
in force around learner code (see `normquiz doctor`), except in a bundle
exported with --unsandboxed or with NORMQUIZ_UNSANDBOXED=1 set in Gradescope's
environment (which `normquiz grade` reads itself).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT_ENV = "NORMQUIZ_AUTOGRADER_ROOT"
# The settings `normquiz export gradescope` writes into the bundle, next to this script.
SETTINGS_NAME = "normquiz-autograder.json"
# Gradescope's visibility values, for the tests and for the autograder's stdout.
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# Where setup.sh moves an instructor's topic, under the autograder root.
CONTENT_HOME = "normquiz-content"
# A browser's name for a second download of the same file: `layernorm (1).py`.
DOWNLOAD_COPY = re.compile(r"\s*\(\d+\)$")

STARTED = time.monotonic()
NOTES: list[str] = []  # what was left out of the submission or renamed, for the learner


class Settings:
    """The bundle's settings, as `normquiz export gradescope` wrote them."""

    def __init__(self, data: dict) -> None:
        self.topic: str = data["topic"]
        self.module: str | None = data.get("module")  # the learner's module file, or None
        self.notebook: str = data.get("notebook") or self.topic + ".ipynb"
        self.seed: int = int(data.get("seed", 0))  # when the submission records none
        self.timeout: float = float(data["timeout"])  # seconds each code exercise may run
        # True: grade even without every isolation layer in force.
        self.unsandboxed: bool = bool(data.get("unsandboxed", False))
        self.visibility: str = data.get("visibility", "visible")
        self.stdout_visibility: str = data.get("stdout_visibility", "hidden")
        # The topic came with the bundle: setup.sh moved it here (under ROOT).
        self.content_home: str | None = data.get("content_home")


def autograder_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or "/autograder")


def settings_path() -> Path:
    """The settings file: next to this script, or in source/ (Gradescope copies
    run_autograder from source/ to the root, and the settings stay behind)."""
    here = Path(os.path.abspath(__file__)).parent / SETTINGS_NAME
    return here if here.is_file() else autograder_root() / "source" / SETTINGS_NAME


# What fail() reports before the settings are read.
FALLBACK = {"visibility": "visible", "stdout_visibility": "hidden"}


def write_results(results: dict) -> None:
    path = autograder_root() / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".results.json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def with_notes(output: str) -> str:
    return "\n".join(NOTES) + "\n\n" + output if NOTES else output


def fail(reason: str) -> None:
    print(with_notes(reason))  # for the instructor, in Gradescope's autograder output
    write_results({"score": 0.0, "execution_time": round(time.monotonic() - STARTED, 3),
                   "output": with_notes("normquiz could not grade this submission:\n" + reason),
                   "output_format": "text", "visibility": FALLBACK["visibility"],
                   "stdout_visibility": FALLBACK["stdout_visibility"], "tests": []})
    sys.exit(0)


def load_settings() -> Settings:
    path = settings_path()
    try:
        settings = Settings(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"the autograder's settings ({path}) cannot be read: {type(e).__name__}: {e}")
    for value in (settings.visibility, settings.stdout_visibility):
        if value not in VISIBILITIES:
            fail(f"the autograder's settings ({path}) name an unknown visibility: {value!r}")
    FALLBACK.update(visibility=settings.visibility,
                    stdout_visibility=settings.stdout_visibility)
    return settings


def holds_learner_files(folder: Path, settings: Settings) -> bool:
    names = [n for n in (settings.module, "answers.yaml", settings.notebook, ".normquiz.json")
             if n]
    return any(os.path.lexists(folder / n) for n in names)


def learner_files(submission: Path, settings: Settings) -> Path:
    """The folder holding the learner's files: the submission, or the one folder in it.

    A linked folder is never a candidate, nor walked into.
    """
    if holds_learner_files(submission, settings):
        return submission
    folders = []
    for parent, dirnames, _ in os.walk(submission):  # does not follow links
        folders += [Path(parent, d) for d in dirnames if not Path(parent, d).is_symlink()]
    for folder in sorted(folders):
        if holds_learner_files(folder, settings):
            return folder
    return submission


def copy_submission(source: Path, dest: Path, shown: str = "") -> None:
    """Copy the regular files and folders of `source` into `dest`, nothing else.

    A symbolic link is neither followed nor copied: a link to the installed
    reference solution must not be graded as the learner's work. Fifos, sockets
    and devices are skipped too. Each one skipped is named in NOTES. copy2 keeps
    modification times: with both a .py and a notebook, the newer is graded.
    """
    dest.mkdir(parents=True)
    with os.scandir(source) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        name = shown + entry.name
        if entry.is_symlink():
            NOTES.append(f"{name} is a symbolic link: not graded; submit the file itself")
        elif entry.is_dir(follow_symlinks=False):
            copy_submission(Path(entry.path), dest / entry.name, name + "/")
        elif entry.is_file(follow_symlinks=False):
            shutil.copy2(entry.path, dest / entry.name, follow_symlinks=False)
        else:
            NOTES.append(f"{name} is not a regular file (a fifo, socket or device): "
                         "not graded")
    shutil.copystat(source, dest, follow_symlinks=False)


def same_name(name: str, wanted: str) -> bool:
    """`name` is `wanted` but for case and a browser's ` (1)` before the suffix."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        return False
    return f"{DOWNLOAD_COPY.sub('', stem)}.{suffix}".casefold() == wanted.casefold()


def find_misnamed(work: Path, wanted: str, shown: str, any_name: bool) -> int:
    """Rename the one file in `work` that must be `wanted` (missing) to `wanted`.

    A candidate is a regular file that is `wanted` but for case or a ` (1)`;
    without such, and when `any_name`, any file with the same suffix. Only when
    there is exactly one is it renamed; the learner is told which file was
    graded as what, or, when several could be, that none was. Returns how
    many candidates there were.
    """
    if (work / wanted).is_file():
        return 0
    suffix = Path(wanted).suffix.casefold()
    files = sorted(p.name for p in work.iterdir()
                   if p.suffix.casefold() == suffix and p.is_file() and not p.is_symlink())
    candidates = [n for n in files if same_name(n, wanted)] or (files if any_name else [])
    if len(candidates) == 1:
        os.replace(work / candidates[0], work / wanted)
        NOTES.append(f"{shown}{candidates[0]} was graded as {wanted} (submit it as {wanted})")
    elif len(candidates) > 1:
        NOTES.append(f"There is no {wanted}, and several files could be it: "
                     + ", ".join(shown + n for n in candidates)
                     + f". None was graded as {wanted}: submit one file named {wanted}.")
    return len(candidates)


def find_learner_files(work: Path, settings: Settings, shown: str) -> None:
    """Give a module or notebook submitted under another name its proper name.

    First a file named as it should be but for case or a ` (1)`; then, only
    when the submission has neither a module nor a notebook, the one .py (or
    .ipynb) file under any name: a stray helper never displaces a notebook.
    """
    wanted = [n for n in (settings.module, settings.notebook) if n]
    unfound = [n for n in wanted if not find_misnamed(work, n, shown, any_name=False)]
    if not any((work / name).is_file() for name in wanted):
        for name in unfound:
            find_misnamed(work, name, shown, any_name=True)


def recorded_seed(folder: Path, settings: Settings) -> int | None:
    """The seed the learner's own files recorded (answers.yaml, notebook), or None."""
    answers = folder / "answers.yaml"
    if answers.is_file():
        found = re.search(r"^# normquiz seed: (\d+)\s*$",
                          answers.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if found:
            return int(found.group(1))
    notebook = folder / settings.notebook
    try:
        seed = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["normquiz"]["seed"]
        return seed if isinstance(seed, int) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def normquiz(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [shutil.which("normquiz") or "normquiz", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1800)


def main() -> None:
    settings = load_settings()
    root = autograder_root()
    if settings.content_home:
        # The topic comes with the bundle; setup.sh moved it here, readable by root only.
        os.environ["NORMQUIZ_PATH"] = str(root / settings.content_home)
    if shutil.which("normquiz") is None:
        fail("the normquiz command is not installed (did setup.sh run?).")
    submission = root / "submission"
    if not submission.is_dir():
        fail(f"there is no submission folder ({submission}).")
    source = learner_files(submission, settings)
    work = Path(tempfile.mkdtemp(prefix="normquiz-gradescope-")) / settings.topic
    shown = source.relative_to(submission).as_posix() + "/" if source != submission else ""
    copy_submission(source, work, shown)
    state = work / ".normquiz.json"
    find_learner_files(work, settings, shown)
    had_module = settings.module is not None and (work / settings.module).is_file()
    had_notebook = (work / settings.notebook).is_file()
    if state.is_file():
        try:
            topic = json.loads(state.read_text(encoding="utf-8")).get("topic")
        except (OSError, ValueError, AttributeError):
            topic = None  # a broken state file: `normquiz grade` says what is wrong with it
        if topic is not None and topic != settings.topic:
            fail(f"this submission is a workspace for the topic '{topic}', "
                 f"not '{settings.topic}'.")
    else:
        seed = recorded_seed(work, settings)
        made = normquiz("start", settings.topic, str(work), "--force",
                        "--seed", str(settings.seed if seed is None else seed), cwd=work.parent)
        if made.returncode != 0:
            fail("preparing a workspace failed:\n" + (made.stderr or made.stdout).strip())
    # `start` wrote a blank stub if the module was missing: grade the notebook then.
    target = [settings.notebook] if had_notebook and not had_module else []
    # Grades others rely on: refuse (exit 2) unless every isolation layer is in force.
    isolation = [] if settings.unsandboxed else ["--require-isolation"]
    graded = normquiz("grade", *target, "--format", "gradescope",
                      "--timeout", str(settings.timeout), *isolation, cwd=work)
    if graded.returncode not in (0, 1):  # 1 is a graded submission that did not pass all
        fail((graded.stderr or graded.stdout).strip() or f"exit code {graded.returncode}")
    try:
        results = json.loads(graded.stdout)
    except ValueError:
        fail("normquiz printed something that is not JSON:\n" + graded.stdout[:2000])
    if not isinstance(results, dict) or "score" not in results:
        fail("normquiz printed JSON without a score.")
    results["execution_time"] = round(time.monotonic() - STARTED, 3)
    results["output"] = with_notes(str(results.get("output", "")))
    results["visibility"] = settings.visibility
    results["stdout_visibility"] = settings.stdout_visibility
    for test in results.get("tests") or []:
        if isinstance(test, dict):
            test["visibility"] = settings.visibility
    write_results(results)
    print(results["output"])


def run() -> None:
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: B036 - whatever happens, results.json is written
        fail(f"the autograder failed: {type(e).__name__}: {e}")


if __name__ == "__main__":
    run()
