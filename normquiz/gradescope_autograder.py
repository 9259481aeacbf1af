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

What is graded in the submission (the module or the notebook, under another
name such as `layernorm (1).py` too, and the seed) is decided by `normquiz
grade` itself, by the one rule of normquiz.submission; its output says which
file was graded as what.

Grading refuses, with score 0 and the reason, unless every isolation layer is
in force around learner code (see `normquiz doctor`), except in a bundle
exported with --unsandboxed or with NORMQUIZ_UNSANDBOXED=1 set in Gradescope's
environment (which `normquiz grade` reads itself).
"""

from __future__ import annotations

import json
import os
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
        # exercise id: its test's own visibility (the others have `visibility`)
        self.test_visibility: dict = data.get("test_visibility") or {}
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
    for value in (settings.visibility, settings.stdout_visibility,
                  *settings.test_visibility.values()):
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
    # `normquiz grade` finds the learner's files by the rule of normquiz.submission (a
    # misnamed module or notebook too, said in the output) and the seed they record.
    # Grades others rely on: it refuses (exit 2) unless every isolation layer is in force.
    isolation = [] if settings.unsandboxed else ["--require-isolation"]
    graded = normquiz("grade", str(work), "--topic", settings.topic, "--seed", str(settings.seed),
                      "--format", "gradescope", "--timeout", str(settings.timeout), *isolation,
                      cwd=work.parent)
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
        if isinstance(test, dict):  # named "<exercise id>: <title>"
            exercise = str(test.get("name", "")).split(":", 1)[0]
            test["visibility"] = settings.test_visibility.get(exercise, settings.visibility)
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
