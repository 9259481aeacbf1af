"""Grade a class: one folder per learner, graded in parallel, none affecting another.

A learner's folder is a workspace made by `normquiz start`, or just their
files: the topic's module (`layernorm.py`), `answers.yaml` and/or a notebook
(`layernorm.ipynb`). What is there is graded, by the same library calls as
`normquiz grade`, and nothing in the folder is changed:

- the seed of the numeric questions is the state file's; without a state
  file, the one recorded in the notebook or in answers.yaml
  (`# normquiz seed: N`), else the batch's `seed`;
- the notebook is graded when it changed more recently than the module (or
  there is no module), as `normquiz grade` does;
- a missing module leaves the code exercises unanswered, a missing
  answers.yaml the questions.

Learners are graded in a process pool (ProcessPoolExecutor), one learner per
task. Each learner's code runs in its own sandbox worker, forked from a warm
fork server (normquiz.sandbox.forkserver) that each pool process keeps; the
worker sees a private copy of that learner's module and nothing else. A
learner folder, or a learner file, that is a symbolic link is refused with an
error row naming it: a link could point at a classmate's work or the
reference. Unless told otherwise (`unsandboxed`), grading refuses to start
when an isolation layer is missing, since learners could then forge grades. A learner
whose files are broken (YAML, syntax, notebook tags) gets a row with status
`error` and the message; a pool process that dies is replaced, and the
learners it may have been grading are graded again one at a time, so that
only the one that kills it gets an error.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from normquiz.content import Catalog, Topic, catalog_for, display_path
from normquiz.errors import NormquizError, WorkspaceError
from normquiz.report import TopicResult
from normquiz.roster import BatchResult, LearnerResult
from normquiz.sandbox import DEFAULT_TIMEOUT, SandboxSettings


def default_jobs() -> int:
    """The cores this process may use (a container's limit, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def find_learners(root: Path) -> list[Path]:
    """The learner folders in `root`: every sub-folder not starting with '.' or '_'.

    Links to folders are listed too (under their own names), to be refused.
    """
    if not root.is_dir():
        raise WorkspaceError(f"{display_path(root)} is not a folder.")
    folders = sorted(p for p in root.iterdir()
                     if (p.is_symlink() or p.is_dir()) and not p.name.startswith((".", "_")))
    if not folders:
        raise WorkspaceError(f"{display_path(root)} has no learner folders: it needs one "
                             "sub-folder per learner, each a workspace or the learner's files.")
    return folders


# ---------------------------------------------------------------- one learner


def grade_learner(folder: Path, topic: Topic, *, seed: int = 0,
                  timeout: float = DEFAULT_TIMEOUT,
                  settings: SandboxSettings | None = None,
                  grader_seed: int | None = None) -> TopicResult:
    """Grade one learner's folder without changing it; NormquizError if it cannot be.

    A broken file costs what it holds (see normquiz.submission). `grader_seed` seeds
    the code checks' random inputs; None draws a fresh one.
    """
    from normquiz.submission import find_in_folder, grade

    work = find_in_folder(folder, None, topic=topic, seed=seed, record=False)
    return grade(work, strict=False, timeout=timeout, settings=settings,
                 grader_seed=grader_seed)


# ---------------------------------------------------------------- the pool

_catalog: Catalog | None = None  # set in each pool process
_forks: Any = None  # this pool process's fork server


def _init_pool(content: tuple[Path, ...]) -> None:
    global _catalog, _forks
    from multiprocessing.util import Finalize

    from normquiz.sandbox.forkserver import ForkServer

    if _catalog is None:  # inherited when the pool forks; built when it spawns
        _catalog = catalog_for(content)
    _forks = ForkServer()
    _forks.start()
    # Run as the pool process exits (atexit is not: it ends with os._exit), so the fork
    # server, with every worker, is gone before the pool is joined.
    Finalize(_forks, _forks.stop, exitpriority=10)
    # Everything imported so far lives as long as the process: the collector need not
    # walk it again after every learner (pytest collects garbage at each session's end).
    gc.freeze()


def _grade_task(folder: str, slug: str, seed: int, timeout: float,
                strict: bool, grader_seed: int | None = None) -> LearnerResult:
    """One learner, in a pool process: every failure becomes that learner's error row."""
    started = time.perf_counter()
    path = Path(folder)
    # No learner may read another's folder: the whole class is hidden from each worker.
    settings = SandboxSettings(hidden=(path.parent,), require_isolation=strict,
                               spawn=_forks.spawn if _forks is not None else None)
    try:
        assert _catalog is not None
        result = grade_learner(path, _catalog.topic(slug), seed=seed, timeout=timeout,
                               settings=settings, grader_seed=grader_seed)
    except NormquizError as e:
        return LearnerResult(path.name, None, str(e), time.perf_counter() - started)
    except Exception as e:  # a bug of ours must not cost the other learners their grades
        return LearnerResult(path.name, None, f"normquiz failed on this folder "
                             f"({type(e).__name__}: {e}). Please report it.",
                             time.perf_counter() - started)
    return LearnerResult(path.name, result, None, time.perf_counter() - started)


def _pool(jobs: int, content: tuple[Path, ...]) -> ProcessPoolExecutor:
    import multiprocessing

    # fork on Linux: pool processes start warm (numpy, pytest, the topic's reference are
    # imported here already); the executor forks them before it starts its own thread.
    # Elsewhere fork is unsafe (macOS frameworks) or missing: spawn, and each builds its own.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                               initializer=_init_pool, initargs=(content,))


def _run(tasks: list[tuple[str, str, int, float, bool, int | None]], jobs: int,
         content: tuple[Path, ...], done: Callable[[LearnerResult], None]) -> None:
    pending = list(reversed(tasks))
    suspects: list[tuple[str, str, int, float, bool, int | None]] = []
    while pending:
        with _pool(jobs, content) as pool:
            running: dict[Any, tuple[str, str, int, float, bool, int | None]] = {}
            broken = False
            while (pending or running) and not broken:
                # A few tasks per process at most: if a process dies, few learners are suspect.
                while pending and len(running) < 2 * jobs:
                    task = pending.pop()
                    running[pool.submit(_grade_task, *task)] = task
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    try:
                        done(future.result())
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(task)
            for future, task in running.items():  # the pool broke while these were out
                if future.done() and not future.cancelled() and future.exception() is None:
                    done(future.result())
                else:
                    suspects.append(task)
    for task in suspects:  # alone, so that a learner who kills the process harms only itself
        with _pool(1, content) as pool:
            try:
                done(pool.submit(_grade_task, *task).result())
            except BrokenProcessPool:
                done(LearnerResult(Path(task[0]).name, None,
                                   "the grading process died while grading this folder "
                                   "(out of memory?); nothing could be graded.", 0.0))


def grade_batch(root: Path, slug: str, *, content: Sequence[Path] = (), seed: int = 0,
                jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                unsandboxed: bool = False,
                progress: Callable[[LearnerResult, int], None] | None = None,
                grader_seed: int | None = None) -> BatchResult:
    """Grade every learner folder in `root` for topic `slug`, `jobs` at a time.

    Each learner's code checks get their own fresh grader seed, unless `grader_seed`
    is given (then every learner gets those same inputs).

    Refuses (IsolationMissing) when a layer is missing, unless `unsandboxed`.
    `progress(row, total)` is called in this process as each learner is done.
    """
    from normquiz.content import load_mistakes, load_reference
    from normquiz.sandbox import IsolationMissing, missing_layers_message, unsandboxed_allowed
    from normquiz.sandbox.isolation import missing
    from normquiz.sandbox.runner import probe_isolation

    catalog = catalog_for(content)
    topic = catalog.topic(slug)  # an unknown topic is a usage error, before any work
    folders = find_learners(root)
    unsandboxed = unsandboxed or unsandboxed_allowed()
    isolation = probe_isolation() if topic.code_exercises else None
    if isolation is not None and missing(isolation) and not unsandboxed:
        raise IsolationMissing("grade-batch refuses to grade: "
                               + missing_layers_message(missing(isolation), isolation))
    global _catalog
    _catalog = catalog
    load_reference(topic)  # loaded once here, inherited by forked pool processes
    for e in topic.code_exercises:
        if e.mistakes:
            load_mistakes(topic, e.id)
    import normquiz.grading  # noqa: F401 - pytest and numpy, inherited warm as well

    rows: list[LearnerResult] = []

    def done(row: LearnerResult) -> None:
        rows.append(row)
        if progress is not None:
            progress(row, len(folders))

    started = time.perf_counter()
    root = root.resolve()
    tasks = [(str(root / f.name), slug, seed, timeout, not unsandboxed, grader_seed)
             for f in folders]
    _run(tasks, max(1, jobs or default_jobs()), tuple(content), done)
    rows.sort(key=lambda r: r.learner)
    return BatchResult(topic, rows, time.perf_counter() - started, isolation, unsandboxed,
                       seed=seed, grader_seed=grader_seed)
