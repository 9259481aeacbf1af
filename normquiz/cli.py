"""The `normquiz` command: a thin layer over the library.

Each command parses its options, calls the library and prints. Library errors
(NormquizError) become one `Error: ...` paragraph and exit code 2. Heavy
modules are imported inside the commands so `normquiz --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C (128 + SIGINT)


def _color() -> bool | None:
    # None lets click decide (color only on a terminal); NO_COLOR turns it off everywhere.
    return False if os.environ.get("NO_COLOR") else None


def echo(text: str = "", err: bool = False) -> None:
    click.echo(text, err=err, color=_color())


def style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs)


class _Group(click.Group):
    """Turns library errors into one readable paragraph and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from normquiz.errors import NormquizError

        try:
            return super().invoke(ctx)
        except NormquizError as e:
            echo(style("Error: ", fg="red", bold=True) + str(e), err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            # Ctrl-C: nothing half-done is reported or recorded (the quiz saves as it goes).
            echo("\nInterrupted: nothing was graded or recorded.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="normquiz")
@click.option("--content", "content", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Extra content folder (same layout as the shipped one). Repeatable; "
                   "NORMQUIZ_PATH works too.")
@click.pass_context
def cli(ctx: click.Context, content: tuple[Path, ...]) -> None:
    """Learn layer, batch and weight normalization by writing code and answering questions.

    Example:

    \b
        normquiz list
        normquiz start layernorm
        cd layernorm && normquiz grade
    """
    ctx.obj = content


def _catalog(ctx: click.Context) -> Any:
    from normquiz.content import catalog_for

    return catalog_for(ctx.find_root().obj or ())


def _workspace_or_none() -> Any:
    from normquiz.workspace import STATE_FILE, Workspace

    here = Path.cwd().resolve()
    if not any((p / STATE_FILE).exists() for p in (here, *here.parents)):
        return None
    return Workspace.find(here)


@cli.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List the topics and their exercises, with your progress in this workspace.

    Example:

    \b
        normquiz list
    """
    from normquiz.report import COLOR, SYMBOL

    workspace = _workspace_or_none()
    topics = _catalog(ctx).topics()
    width = max((len(e.id) for t in topics for e in t.exercises), default=0)
    for topic in topics:
        here = workspace is not None and workspace.topic == topic.slug
        echo(style(topic.slug, bold=True) + f"  {topic.title}"
             + (style("  (this workspace)", fg="cyan") if here else ""))
        for e in topic.exercises:
            status = workspace.progress.get(e.id, {}).get("status") if here else None
            mark = style(SYMBOL[status], fg=COLOR[status]) if status else " "
            echo(f"  {mark} {e.id:<{width}}  {e.kind:<8} {e.points:g} pt  {e.title}")
        echo()
    if workspace is None:
        echo("Start a topic with: normquiz start TOPIC")


@cli.command()
@click.argument("topic")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="Use an existing, non-empty folder: add missing files, keep every existing one.")
@click.option("--seed", type=int, help="Seed of the numeric questions (default: random).")
@click.option("--notebook", is_flag=True, help="Also write TOPIC.ipynb, the same exercises as a "
              "Jupyter notebook.")
@click.pass_context
def start(ctx: click.Context, topic: str, directory: Path | None, force: bool,
          seed: int | None, notebook: bool) -> None:
    """Create a workspace for TOPIC in DIRECTORY (default ./TOPIC).

    Never overwrites a file: with --force, files that exist are kept as they are.

    Example:

    \b
        normquiz start layernorm
        cd layernorm
        normquiz grade
        normquiz start layernorm --notebook    # also layernorm.ipynb
    """
    from normquiz.content import display_path
    from normquiz.workspace import start as start_workspace

    result = start_workspace(_catalog(ctx), topic, directory, force=force, seed=seed,
                             notebook=notebook)
    where = display_path(result.workspace.path)
    for name in result.written:
        echo(f"  wrote {Path(where) / name}")
    for name in result.kept:
        echo(f"  kept  {Path(where) / name} (yours, unchanged)")
    for name, aside, why in result.set_aside:
        echo(f"  kept  {Path(where) / name} as {Path(where) / aside}, unchanged: it could not "
             f"be used ({why.split(': ', 1)[-1]}); a fresh {name} was written")
    echo()
    echo(f"Next: cd {where} && normquiz grade")


def _find_work(ctx: click.Context, target: str | None, topic: str | None,
               seed: int) -> tuple[Any, str | None]:
    """(the work to grade, exercise id or None) from grade's ID|PATH argument."""
    from normquiz.errors import WorkspaceError
    from normquiz.submission import find_file, find_in_folder
    from normquiz.workspace import Workspace

    catalog = _catalog(ctx)
    if target and (target.endswith((".py", ".ipynb")) or os.sep in target
                   or target in (".", "..") or Path(target).is_file() or Path(target).is_dir()):
        path = Path(target)
        if path.is_dir():
            return find_in_folder(path, catalog, topic=topic, seed=seed), None
        if not path.is_file():
            raise click.UsageError(f"{target} is not a file or a folder.")
        return find_file(path, catalog, topic=topic, seed=seed), None
    try:
        folder = Workspace.find().path
    except WorkspaceError:
        folder = Path.cwd()  # the learner's files, without a state file
    return find_in_folder(folder, catalog, topic=topic, seed=seed), target


# normquiz.formats.FORMATS, spelled out so that `normquiz --help` imports nothing more.
GRADE_FORMATS = ("text", "json", "gradescope", "junit")


@cli.command()
@click.argument("target", required=False, metavar="[ID|PATH]")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON (schema in README). Same as --format json.")
@click.option("--format", "fmt", type=click.Choice(GRADE_FORMATS), default="text",
              show_default=True, help="Output: text for people, json (schema in README), "
              "gradescope (Gradescope's results.json) or junit (JUnit XML for CI).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds each code exercise may run (default 10).")
@click.option("--grader-seed", type=click.IntRange(0, 2**32 - 1), default=None, metavar="N",
              help="Replay the checks' random inputs of an earlier run: the grader_seed "
                   "printed by --json (default: new inputs every run).")
@click.option("--require-isolation", is_flag=True,
              help="Refuse to grade (exit 2) unless every isolation layer is in force "
                   "(see 'normquiz doctor'); NORMQUIZ_UNSANDBOXED=1 overrides. For graders "
                   "whose results others rely on, such as an autograder.")
@click.option("--topic", "topic_slug", default=None, metavar="TOPIC",
              help="The topic of files that are not in a workspace (a learner's folder, a "
                   "submission); a notebook names its own.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="The numeric questions' seed for files that record none.")
@click.pass_context
def grade(ctx: click.Context, target: str | None, as_json: bool, fmt: str,
          timeout: float | None, grader_seed: int | None, require_isolation: bool,
          topic_slug: str | None, seed: int) -> None:
    """Grade this workspace, one exercise (ID), a file or a learner's folder (PATH).

    Exits 0 when everything passed, 1 when anything did not, 2 on a usage error.
    With both a module and a notebook, the one you worked on last is graded (a file
    still as 'normquiz start' wrote it never is); name a file to grade that one.

    Example:

    \b
        normquiz grade
        normquiz grade layernorm_forward
        normquiz grade --json > result.json
        normquiz grade --format junit > normquiz.xml
        normquiz grade layernorm.ipynb
        normquiz grade submissions/ada --topic layernorm
    """
    import time

    from normquiz.report import render_text
    from normquiz.sandbox import DEFAULT_TIMEOUT, SandboxSettings, unsandboxed_allowed
    from normquiz.submission import grade as grade_work

    if as_json and fmt not in ("text", "json"):
        raise click.UsageError(f"--json and --format {fmt} ask for two formats; use one.")
    fmt = "json" if as_json else fmt
    if fmt != "text" or require_isolation:
        # Imported before any learner code runs (the worker runs it as soon as it has
        # started): nothing the report, the graders' helpers or the reply codec need is
        # loaded after, so learner code that could write a module could not change them.
        from normquiz import checks  # noqa: F401
        from normquiz.formats import render
        from normquiz.sandbox import codec  # noqa: F401
    settings = SandboxSettings(require_isolation=require_isolation and not unsandboxed_allowed())
    started = time.perf_counter()
    work, only = _find_work(ctx, target, topic_slug, seed)
    # A person fixes a broken file and grades again; a report for a machine must exist
    # even then, with what could be graded.
    result = grade_work(work, only=only, strict=fmt == "text", timeout=timeout or DEFAULT_TIMEOUT,
                        settings=settings, grader_seed=grader_seed)
    _isolation_notice(result.sandbox)
    if fmt != "text":
        click.echo(render(result, fmt, time.perf_counter() - started))
    else:
        graded = " and ".join(result.graded_files) or "nothing"
        why = f" ({work.why})" if work.why else ""
        echo(style(f"normquiz · {result.topic}", bold=True) + f" · grading {graded}{why}")
        echo()
        text = render_text(result, style if _color() is not False else _plain)
        if _color() is not False:  # click drops the colours again where there is no terminal
            from normquiz.diagrams import colorize

            text = colorize(text)
        echo(text)
    ctx.exit(0 if result.passed else EXIT_FAILED)


def _plain(text: str, **_: Any) -> str:
    return text


def _isolation_notice(report: dict[str, Any] | None) -> None:
    """One line on stderr when the learner's code ran without every isolation layer."""
    from normquiz.sandbox.isolation import missing

    if report is None:
        return
    gaps = missing(report)
    if gaps:
        echo(style("Note: ", fg="yellow", bold=True) + "your code ran without "
             f"{', '.join(gaps)} isolation here (fine for learning on your own; "
             "'normquiz doctor' says why).", err=True)


def _find(ctx: click.Context, exercise_id: str) -> tuple[Any, Any, Any]:
    """(topic, exercise, workspace or None), preferring the workspace's own topic."""
    catalog = _catalog(ctx)
    workspace = _workspace_or_none()
    if workspace is not None:
        topic = catalog.topic(workspace.topic)
        if any(e.id == exercise_id for e in topic.exercises):
            return topic, topic.exercise(exercise_id), workspace
    topic, exercise = catalog.find_exercise(exercise_id)
    return topic, exercise, workspace if workspace and workspace.topic == topic.slug else None


@cli.command()
@click.argument("exercise_id", metavar="ID")
@click.option("--all", "show_all", is_flag=True, help="Show every hint at once.")
@click.pass_context
def hint(ctx: click.Context, exercise_id: str, show_all: bool) -> None:
    """Show the next hint for exercise ID (one more each time you ask).

    Example:

    \b
        normquiz hint layernorm_forward
    """
    from normquiz.questions import plain_math

    topic, exercise, workspace = _find(ctx, exercise_id)
    hints = exercise.hints
    if show_all:
        shown = len(hints)
    elif workspace is not None:
        shown = workspace.next_hint(exercise.id, len(hints))
    else:
        shown = 1
    for i in range(0 if show_all else shown - 1, shown):
        echo(style(f"Hint {i + 1} of {len(hints)}", bold=True) + f" · {exercise.id}")
        echo(plain_math(hints[i].strip()))
        echo()
    if shown < len(hints):
        echo(f"Run 'normquiz hint {exercise.id}' again for the next hint.")
    else:
        echo(f"That was the last hint. 'normquiz explain {exercise.id}' shows the worked example.")


@cli.command()
@click.argument("exercise_id", metavar="ID")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE.png", help="Also write the exercise's picture as a figure to "
              "FILE (.png, .svg or .pdf); needs matplotlib: pip install 'normquiz[plots]'.")
@click.pass_context
def explain(ctx: click.Context, exercise_id: str, plot_path: Path | None) -> None:
    """Explain exercise ID: the idea, a worked example, its picture and the common mistakes.

    Example:

    \b
        normquiz explain layernorm_forward
        normquiz explain groupnorm_forward --plot groups.png
    """
    from normquiz.content import CodeExercise
    from normquiz.questions import plain_math

    topic, exercise, workspace = _find(ctx, exercise_id)
    if plot_path is not None:
        if exercise.picture is None:
            drawn = [e.id for t in sorted(_catalog(ctx).topics(), key=lambda t: t != topic)
                     for e in t.exercises if e.picture]
            more = f" and {len(drawn) - 5} more" if len(drawn) > 5 else ""
            raise click.UsageError(f"'{exercise.id}' has no picture to plot. Exercises with "
                                   f"one: {', '.join(drawn[:5])}{more}.")
        from normquiz.plots import require_matplotlib

        require_matplotlib()  # before any output: the error is all that is printed
    echo(style(f"{exercise.title}", bold=True) + f" · {exercise.id}")
    if isinstance(exercise, CodeExercise):
        echo(f"{topic.module}: {exercise.signature}")
    echo()
    echo(plain_math(exercise.explanation.strip()))
    if exercise.demonstration:
        from normquiz.questions import demonstrate

        echo()
        echo(style("Demonstration (computed now)", bold=True))
        echo(demonstrate(topic, exercise).rstrip())
    if exercise.picture:
        import textwrap

        from normquiz.diagrams import PICTURES, use_color
        from normquiz.plots import terminal

        text = terminal(exercise.picture, exercise.id,
                        color=_color() is not False and use_color(sys.stdout))
        echo()
        about = textwrap.wrap(f"Picture · {PICTURES[exercise.picture].description}", 78)
        echo(style("Picture", bold=True) + "\n".join(about)[len("Picture"):])
        if text:
            echo()
            echo(text)
        if plot_path is None:
            echo(f"(A figure of it: normquiz explain {exercise.id} --plot FILE.png)")
    mistakes = getattr(exercise, "mistakes", [])
    if mistakes:
        echo()
        echo(style("Common mistakes", bold=True))
        for m in mistakes:
            echo(f"  - {m.title} [{m.id}]")
    if plot_path is not None:
        from normquiz.content import display_path
        from normquiz.plots import save

        try:
            save(exercise.picture, plot_path, exercise.id)
        except (OSError, ValueError) as e:  # an unwritable path, an unknown extension
            raise click.ClickException(f"could not write {plot_path}: {e}") from None
        echo()
        echo(f"Wrote the figure to {display_path(plot_path)}.")


@cli.command()
@click.argument("exercise_id", required=False, metavar="[ID]")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds each code exercise may run (default 10).")
@click.option("--poll", is_flag=True,
              help="Notice saves by checking the files every 0.3 s, for folders whose changes "
                   "are not announced (network drives, some containers and VMs).")
@click.pass_context
def watch(ctx: click.Context, exercise_id: str | None, timeout: float | None,
          poll: bool) -> None:
    """Grade this workspace on every save and show what to fix next.

    Grades the whole topic, then shows the first exercise not passed yet (from
    ID on) with its feedback, and a progress bar. Each save of the module,
    answers.yaml or the notebook grades it again; once it passes, on to the
    next. Keys: h next hint, e explain, l list, r grade again, q quit (Ctrl-C
    too). If saves go unnoticed, press r, or restart with --poll.

    Example:

    \b
        normquiz watch
        normquiz watch layernorm_backward
    """
    from normquiz.sandbox import DEFAULT_TIMEOUT
    from normquiz.watch import Watch
    from normquiz.workspace import Workspace

    Watch(Workspace.find().path, _catalog(ctx), start_at=exercise_id,
          timeout=timeout or DEFAULT_TIMEOUT, poll=poll, color=_color(),
          explain=lambda exercise: ctx.invoke(explain, exercise_id=exercise)).run()


@cli.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seeds", default=50, show_default=True,
              help="How many seeds each numeric question is generated with.")
@click.option("--grader-seed", "grader_seeds", multiple=True,
              type=click.IntRange(0, 2**32 - 1), metavar="N",
              help="Grade the code under this grader seed (repeatable; default: 3 fresh ones).")
def check_cmd(directory: Path | None, seeds: int, grader_seeds: tuple[int, ...]) -> None:
    """Validate content: the shipped topics, or those of an instructor's DIRECTORY.

    Checks every manifest against the schema, that referenced files exist,
    that each reference solution passes its grader, each blank stub fails,
    each declared mistake, however it is written (VARIANTS), fails and is
    diagnosed as itself, each right implementation (the reference, CORRECT)
    passes and is diagnosed as nothing, numeric questions
    give finite, distinguishable answers, and no TODO is left. Exits 0 only
    when everything holds.

    Example:

    \b
        normquiz check
        normquiz check mycourse/
    """
    from normquiz.selfcheck import check_content

    reports = check_content(directory, seeds, grader_seeds or None)
    for r in reports:
        ok = not r.problems
        echo(style("✓" if ok else "✗", fg="green" if ok else "red", bold=True) + " "
             + style(r.slug, bold=True))
        for line in r.problems:
            echo(style("    " + line.replace("\n", "\n    "), fg="red"))
        for line in r.verified:
            echo(f"    {line}")
    problems = sum(len(r.problems) for r in reports)
    if not reports:
        echo("No topics found: is exercises/order.yaml empty?")
    elif problems:
        echo(style(f"{problems} problem(s) found in "
                   f"{sum(bool(r.problems) for r in reports)} topic(s).", fg="red", bold=True))
    else:
        echo(style(f"All {len(reports)} topic(s) check out.", fg="green", bold=True))
    raise SystemExit(1 if problems or not reports else 0)


@cli.command()
@click.argument("topic")
@click.argument("exercise_id", metavar="EXERCISE")
@click.option("--kind", type=click.Choice(["code", "numeric", "choice"]), required=True)
@click.pass_context
def new(ctx: click.Context, topic: str, exercise_id: str, kind: str) -> None:
    """Scaffold a new exercise EXERCISE in TOPIC (created if needed).

    Files go into the content folder given by --content (the first one), or
    the current folder. Then 'normquiz check DIR' lists what is left to fill in.

    Example:

    \b
        normquiz --content mycourse new extras rmsnorm_forward --kind code
        normquiz check mycourse
    """
    from normquiz.content import display_path
    from normquiz.scaffold import new_exercise

    content = ctx.find_root().obj or ()
    root = Path(content[0]) if content else Path.cwd()
    for path in new_exercise(root, topic, exercise_id, kind):
        echo(f"  wrote {display_path(path)}")
    echo()
    echo(f"Next: fill in the TODOs, then run: normquiz check {display_path(root)}")


def _quiz_workspace(ctx: click.Context, slug: str) -> Any:
    """The workspace to record a quiz in: this one, ./TOPIC, or a new ./TOPIC."""
    from normquiz.content import display_path
    from normquiz.workspace import STATE_FILE, Workspace
    from normquiz.workspace import start as start_workspace

    here = _workspace_or_none()
    if here is not None and here.topic == slug:
        return here
    folder = Path(slug)
    if (folder / STATE_FILE).exists():
        workspace = Workspace.load(folder)
        if workspace.topic == slug:
            echo(f"Recording your answers in the workspace {display_path(folder)}/.")
            return workspace
    workspace = start_workspace(_catalog(ctx), slug, folder).workspace
    echo(f"Started a workspace in {display_path(folder)}/ to record your answers.")
    return workspace


@cli.command()
@click.argument("topic")
@click.option("--open", "only_open", is_flag=True,
              help="Ask only the questions not answered correctly yet.")
@click.pass_context
def quiz(ctx: click.Context, topic: str, only_open: bool) -> None:
    """Answer TOPIC's questions one at a time, with feedback after each.

    Answers are saved to the workspace's answers.yaml as you go (Ctrl-C keeps
    them). Answers can also be piped in, one per line; an empty line skips.

    Example:

    \b
        normquiz quiz invariance
        printf 'b\n1.5\n' | normquiz quiz layernorm
    """
    from normquiz.content import display_path
    from normquiz.quiz import EndOfInput, run_quiz

    catalog_topic = _catalog(ctx).topic(topic)
    if not catalog_topic.questions:
        raise click.UsageError(f"Topic '{topic}' has no questions; try 'normquiz start {topic}'.")
    workspace = _quiz_workspace(ctx, topic)
    interactive = sys.stdin.isatty()

    def ask(prompt: str) -> str:
        click.echo(style(prompt, fg="cyan") + ": ", nl=False, color=_color())
        line = sys.stdin.readline()
        if not line:
            echo()
            raise EndOfInput
        if not interactive:
            echo(line.rstrip("\n"))  # a piped answer shows in the transcript
        return line

    answers = display_path(workspace.answers_path)
    try:
        result = run_quiz(catalog_topic, workspace, ask, echo, only_open=only_open)
    except KeyboardInterrupt:
        echo(f"\nStopped. The answers you gave are saved in {answers}.")
        ctx.exit(130)
    total = sum(r.max_score for r in result.results)
    echo()
    echo(style(f"Quiz score: {result.score:g}/{total:g}", bold=True)
         + f" on {len(result.results)} answered question(s)"
         + (f", {len(result.skipped)} skipped" if result.skipped else "")
         + ("" if result.finished else " (input ended early)") + ".")
    echo(f"Answers saved in {answers}. 'normquiz grade' grades the whole topic.")


@cli.command("grade-batch")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--topic", required=True, help="The topic every learner worked on.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the numeric questions for folders that record none (no state "
                   "file, no seed line in answers.yaml or the notebook).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Learners graded at once (default: the number of cores).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds each code exercise may run (default 10).")
@click.option("--grader-seed", type=click.IntRange(0, 2**32 - 1), default=None, metavar="N",
              help="The checks' random inputs for every learner: a grader_seed of the JSON "
                   "roster, to replay (default: new inputs for each learner).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the roster as CSV: a row per learner, a score column per exercise, "
                   "total and max.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the roster as JSON: each learner's full result and error.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the class report: one self-contained HTML page with the score "
                   "distribution, the mistakes per exercise and a learner x exercise grid.")
@click.option("--format", "fmt", type=click.Choice(GRADE_FORMATS), default=None,
              help="Write one report per learner in this format into --out.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the per-learner reports (text unless --format says otherwise).")
@click.option("--unsandboxed", is_flag=True,
              help="Grade even when an isolation layer is missing (see 'normquiz doctor'). "
                   "Learners' code could then forge its grades. NORMQUIZ_UNSANDBOXED=1 "
                   "does the same.")
@click.pass_context
def grade_batch_cmd(ctx: click.Context, directory: Path, topic: str, seed: int,
                    jobs: int | None, timeout: float | None, grader_seed: int | None,
                    csv_path: Path | None, json_path: Path | None, html_path: Path | None,
                    fmt: str | None, out_dir: Path | None, unsandboxed: bool) -> None:
    """Grade a class: DIRECTORY holds one folder per learner.

    A learner's folder is a workspace, or just their files (module, answers.yaml,
    notebook). Learners are graded in parallel, each in its own sandbox; broken
    files give that learner an error row and never affect another. Prints the
    mean score per exercise and the mistakes seen, most frequent first. Exits 0
    when the batch ran, even if learners failed.

    Example:

    \b
        normquiz grade-batch submissions/ --topic layernorm --csv grades.csv
        normquiz grade-batch submissions/ --topic layernorm --html report.html
        normquiz grade-batch submissions/ --topic layernorm --format gradescope --out results/
    """
    import contextlib

    from normquiz.batch import find_learners, grade_batch
    from normquiz.content import display_path
    from normquiz.sandbox import DEFAULT_TIMEOUT

    if fmt is not None and out_dir is None:
        raise click.UsageError("--format writes one report per learner: name their folder "
                               "with --out DIR.")
    bar = None
    if sys.stderr.isatty():  # a progress bar only for a person watching
        bar = click.progressbar(length=len(find_learners(directory)), label="Grading",
                                file=sys.stderr, show_pos=True, show_eta=True)
    with bar if bar is not None else contextlib.nullcontext():
        result = grade_batch(directory, topic, content=ctx.find_root().obj or (), seed=seed,
                             jobs=jobs, timeout=timeout or DEFAULT_TIMEOUT,
                             progress=lambda row, total: bar.update(1) if bar else None,
                             grader_seed=grader_seed, unsandboxed=unsandboxed)
    echo(result.summary_text())
    written = []
    if csv_path is not None:
        result.write_csv(csv_path)
        written.append(f"the CSV roster to {display_path(csv_path)}")
    if json_path is not None:
        result.write_json(json_path)
        written.append(f"the JSON roster to {display_path(json_path)}")
    if html_path is not None:
        from normquiz.classreport import write_html  # only here: grade-batch starts as fast

        write_html(result, html_path)
        written.append(f"the class report to {display_path(html_path)}")
    if out_dir is not None:
        reports = result.write_reports(out_dir, fmt or "text")
        written.append(f"{len(reports)} {fmt or 'text'} reports to {display_path(out_dir)}/")
    if written:
        echo()
        echo("Wrote " + "; ".join(written) + ".")


@cli.command()
def doctor() -> None:
    """Show each layer that isolates learner code here, and why one is missing.

    Starts a grading worker, as 'normquiz grade' does, and prints what it
    applied before running any learner code. Exits 0 when every layer is in
    force, 1 otherwise.

    Example:

    \b
        normquiz doctor
    """
    from normquiz.sandbox.isolation import LAYERS, missing
    from normquiz.sandbox.runner import probe_isolation

    report = probe_isolation() or {}
    plain = _color() is False
    for name in LAYERS:
        layer = report.get(name) or {"in_force": False, "detail": "not reported"}
        mark = "✓" if layer["in_force"] else "✗"
        mark = mark if plain else style(mark, fg="green" if layer["in_force"] else "red",
                                        bold=True)
        echo(f"{mark} {name:<9} {'in force' if layer['in_force'] else 'MISSING '}  "
             f"{layer['detail']}")
    gaps = missing(report)
    echo()
    if gaps:
        echo("Learner code is not fully isolated here. 'normquiz grade' still works for "
             "learning on your own; grade-batch and the Gradescope autograder refuse unless "
             "told --unsandboxed (or NORMQUIZ_UNSANDBOXED=1).")
    else:
        echo("Every layer is in force: learner code can read nothing but the Python "
             "installation and its own folder, and cannot start processes, open sockets or "
             "signal other processes.")
    ctx = click.get_current_context()
    ctx.exit(1 if gaps else 0)


@cli.group()
def export() -> None:
    """Hand grading to another platform (Gradescope, GitHub Classroom).

    Example:

    \b
        normquiz export gradescope layernorm -o autograder.zip
        normquiz export github-classroom layernorm layernorm-template/
    """


@export.command("gradescope")
@click.argument("topic")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("autograder.zip"), show_default=True, help="The zip to write.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the numeric questions for submissions that record none.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds each code exercise may run (default 10).")
@click.option("--wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Bundle this normquiz wheel instead of building one from this normquiz.")
@click.option("--unsandboxed", is_flag=True,
              help="Grade even when an isolation layer is missing on Gradescope's machine "
                   "(by default such a submission gets score 0 and the reason).")
@click.option("--visibility", default=None,
              type=click.Choice(["visible", "hidden", "after_due_date", "after_published"]),
              help="When learners see the score and every test (Gradescope's values). "
                   "Default: the topic's gradescope_visibility and each exercise's own "
                   "(visible unless the content says otherwise).")
@click.option("--stdout-visibility", default="hidden", show_default=True,
              type=click.Choice(["visible", "hidden", "after_due_date", "after_published"]),
              help="When learners see the autograder's own output (the instructor's log).")
@click.option("--bundle-deps", is_flag=True,
              help="Put the dependencies' wheels (x86_64 Linux) into the zip, so that "
                   "setup.sh installs without a package index.")
@click.option("--python-version", metavar="3.X", default=None,
              help="With --bundle-deps: the Python of Gradescope's image "
                   "(default: the running one).")
@click.pass_context
def export_gradescope_cmd(ctx: click.Context, topic: str, output: Path, seed: int,
                          timeout: float | None, wheel: Path | None, unsandboxed: bool,
                          visibility: str | None, stdout_visibility: str, bundle_deps: bool,
                          python_version: str | None) -> None:
    """Build a Gradescope autograder zip for TOPIC.

    The zip holds setup.sh (pip installs the bundled normquiz wheel and its
    dependencies, pinned to the versions installed here) and run_autograder,
    which grades each submission (a module, answers.yaml and/or a notebook,
    or a whole workspace) with 'normquiz grade --format gradescope
    --require-isolation' and always writes results.json. Upload it as the
    autograder of a Gradescope programming assignment.

    Example:

    \b
        normquiz export gradescope layernorm -o autograder.zip
    """
    from normquiz.content import display_path
    from normquiz.export import export_gradescope
    from normquiz.sandbox import DEFAULT_TIMEOUT

    catalog = _catalog(ctx)
    if python_version is not None and not bundle_deps:
        raise click.UsageError("--python-version goes with --bundle-deps.")
    names = export_gradescope(catalog.topic(topic), output, seed=seed,
                              timeout=timeout or DEFAULT_TIMEOUT, wheel=wheel,
                              unsandboxed=unsandboxed, visibility=visibility,
                              stdout_visibility=stdout_visibility, bundle_deps=bundle_deps,
                              python_version=python_version)
    shown = [n for n in names if not n.startswith(("content/", "wheels/"))]
    deps = sum(n.startswith("wheels/") for n in names)
    extras = [f"{deps} dependency wheel(s)"] if deps else []
    if any(n.startswith("content/") for n in names):
        extras.append("the topic's content")
    echo(f"Wrote {display_path(output)}: " + ", ".join(shown)
         + (" and " + " and ".join(extras) if extras else ""))
    echo("Upload it in Gradescope: assignment → Configure Autograder → Zip file upload.")


@export.command("github-classroom")
@click.argument("topic")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the numeric questions' data: every student gets the same data.")
@click.option("--force", is_flag=True,
              help="Write into a folder that is not empty, adding only missing files.")
@click.option("--install-spec", metavar="SPEC", default=None,
              help="What the workflow pip installs (default: normquiz==<this version>), "
                   "e.g. a git URL or a wheel committed to the template.")
@click.option("--python", "python_version", default="3.12", show_default=True,
              help="The Python version the workflow sets up.")
@click.option("--unsandboxed", is_flag=True,
              help="Grade without --require-isolation, for runners that lack Landlock or "
                   "seccomp (see 'normquiz doctor' in the job's log).")
@click.pass_context
def export_github_classroom_cmd(ctx: click.Context, topic: str, directory: Path, seed: int,
                                force: bool, install_spec: str | None, python_version: str,
                                unsandboxed: bool) -> None:
    """Write a GitHub Classroom template repository for TOPIC into DIR.

    DIR gets the workspace 'normquiz start TOPIC --seed N' writes, a
    .gitignore and .github/workflows/classroom.yml, which installs normquiz
    and grades each exercise on every push with 'normquiz grade ID
    --require-isolation': its points when it passes, none otherwise. Push DIR
    as a template repository and use it as an assignment's starter code.

    Example:

    \b
        normquiz export github-classroom layernorm layernorm-template
    """
    from normquiz.classroom import WORKFLOW_PATH, export_github_classroom
    from normquiz.content import display_path

    result = export_github_classroom(_catalog(ctx), topic, directory, seed=seed, force=force,
                                     install_spec=install_spec, unsandboxed=unsandboxed,
                                     python=python_version)
    where = display_path(directory)
    echo(f"Wrote into {where}: {', '.join(result.written) or 'nothing'}")
    if result.kept:
        echo(f"Kept as they were: {', '.join(result.kept)}")
    echo(f"Every student gets the question data of seed {result.seed}; each push is graded "
         f"by {WORKFLOW_PATH}.")
    echo(f"Next: cd {where} && git init && git add -A && git commit -m template, push it to "
         "GitHub, mark it a template repository (Settings → Template repository) and "
         "use it as the assignment's starter code. See docs/github-classroom.md.")


def main() -> None:
    cli(prog_name="normquiz")


if __name__ == "__main__":
    main()
    sys.exit(0)
