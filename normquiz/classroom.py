"""`normquiz export github-classroom`: a template repository graded by GitHub Actions.

GitHub Classroom gives each student a copy of a template repository and grades
every push with the workflow in `.github/workflows/`. The template written here
is a workspace exactly as `normquiz start TOPIC --seed N` writes it (the state
file included: grading needs the topic and seed it records), a `.gitignore`, and
a workflow that installs normquiz and grades each exercise as one test of
GitHub Classroom's command grader: `normquiz grade ID` exits 0 only when that
exercise passed, so the test earns the exercise's points or none.

Nothing that exists is overwritten: a folder that is not empty is refused
unless `force`, and then only missing files are added.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from normquiz import __version__
from normquiz.content import Catalog, Topic, display_path
from normquiz.errors import WorkspaceError
from normquiz.text import points as points_label
from normquiz.workspace import README_FILE, STATE_FILE, start

WORKFLOW_PATH = ".github/workflows/classroom.yml"
GITIGNORE = ".gitignore"
GRADING_NOTE = "GRADING.md"  # the students' section, when README.md was already there
# What GitHub Classroom's reporter requires of a handwritten workflow: this name and
# one job of this name (classroom-resources/autograding-grading-reporter, README).
WORKFLOW_NAME = "Autograding Tests"
JOB_NAME = "run-autograding-tests"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
DEFAULT_PYTHON = "3.12"
STEP_TIMEOUT_MINUTES = 5  # the command grader's timeout is in minutes

GITIGNORE_TEXT = f"""\
# Written by 'normquiz export github-classroom'.
# {STATE_FILE} is NOT ignored: it records the topic and the seed of the questions'
# data, which grading on GitHub needs. Commit it.
__pycache__/
*.py[cod]
.ipynb_checkpoints/
.venv/
venv/
# normquiz's temporary files and set-aside broken state files
.normquiz-*.tmp
.answers-*.tmp
{STATE_FILE}.broken*
"""


@dataclass
class ClassroomResult:
    path: Path
    seed: int
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def install_command(install_spec: str | None) -> str:
    return f"python -m pip install {shlex.quote(install_spec or f'normquiz=={__version__}')}"


def grade_command(exercise_id: str, unsandboxed: bool) -> str:
    """The command of one test: exit 0 only when this exercise passed.

    The command grader runs it with PATH and HOME only (no job environment), so
    nothing it needs may come from the workflow's `env`.
    """
    return f"normquiz grade {exercise_id}" + ("" if unsandboxed else " --require-isolation")


def _points(topic: Topic) -> dict[str, int]:
    points = {}
    for e in topic.exercises:
        if e.points != int(e.points):
            raise WorkspaceError(
                f"Exercise '{e.id}' of topic '{topic.slug}' is worth {e.points:g} points, but "
                "GitHub Classroom's command grader takes whole points only (its max-score "
                "is an integer). Give every exercise whole points to export it.")
        points[e.id] = int(e.points)
    return points


def workflow_text(topic: Topic, *, install_spec: str | None = None, unsandboxed: bool = False,
                  python: str = DEFAULT_PYTHON) -> str:
    """`.github/workflows/classroom.yml`: install normquiz, show doctor, one test per exercise."""
    points = _points(topic)
    pin = install_spec or f"normquiz=={__version__}"
    lines = [
        f"# Written by 'normquiz export github-classroom {topic.slug}' (normquiz {__version__}).",
        "# GitHub Classroom grades each push with this workflow: one test per exercise, worth",
        "# the exercise's points when 'normquiz grade ID' exits 0, else none. The reporter",
        "# needs this workflow's name and its single job's name as they are.",
        f"name: {WORKFLOW_NAME}",
        "'on':",
        "  - push",
        "  - workflow_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        f"  {JOB_NAME}:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v5",
        "        with:",
        f"          python-version: {_q(python)}",
        f"      - name: {_q('Install ' + pin)}",
        f"        run: {_q(install_command(install_spec))}",
        "      - name: Isolation layers (normquiz doctor)",
        "        # For the log. " + ("Exported --unsandboxed: the tests grade even without "
                                    "every layer." if unsandboxed else
                                    "A missing layer makes each test below fail, saying why."),
        "        run: normquiz doctor",
        "        continue-on-error: true",
    ]
    for e in topic.exercises:
        n = points[e.id]
        lines += [
            f"      - name: {_q(f'{e.id} ({points_label(n)})')}",
            f"        id: {e.id}",
            f"        uses: {COMMAND_GRADER}",
            "        with:",
            f"          test-name: {_q(e.id)}",
            f"          command: {_q(grade_command(e.id, unsandboxed))}",
            f"          timeout: {STEP_TIMEOUT_MINUTES}",
            f"          max-score: {n}",
        ]
    lines += ["      - name: Autograding Reporter", f"        uses: {REPORTER}", "        env:"]
    for e in topic.exercises:
        lines.append(f"          {e.id.upper()}_RESULTS: "
                     + _q("${{ steps." + e.id + ".outputs.result }}"))
    lines += ["        with:", f"          runners: {','.join(e.id for e in topic.exercises)}"]
    return "\n".join(lines) + "\n"


def students_section(topic: Topic, *, install_spec: str | None = None) -> str:
    points = _points(topic)
    total = sum(points.values())
    pin = install_spec or f"normquiz=={__version__}"
    return "\n".join([
        "## Grading on GitHub", "",
        "Every push is graded by GitHub Actions (the *Autograding Tests* workflow, under the",
        "repository's Actions tab). Each exercise above is one test, worth its points when",
        f"`normquiz grade ID` passes it and 0 otherwise: {total} points in all. A check that",
        "fails costs the whole exercise there, so grade on your machine first:", "",
        "```sh",
        f"pip install {shlex.quote(pin)}",
        "normquiz grade            # everything, with feedback on what is wrong",
        "```", "",
        "The job's log shows normquiz's full feedback for each exercise. Commit",
        f"`{STATE_FILE}` with your work (it records the topic and your questions' data)",
        "and leave `.github/` as it is.", "",
    ])


def export_github_classroom(catalog: Catalog, slug: str, directory: Path, *, seed: int = 0,
                            force: bool = False, install_spec: str | None = None,
                            unsandboxed: bool = False,
                            python: str = DEFAULT_PYTHON) -> ClassroomResult:
    """Write the template repository for `slug` into `directory`; never overwrite a file."""
    topic = catalog.topic(slug)
    directory = Path(directory)
    if not topic.shipped:
        raise WorkspaceError(
            f"Topic '{slug}' is not shipped with normquiz, and the workflow grades with the "
            "normquiz it installs, which knows only the shipped topics. Putting the topic's "
            "content in the students' repository would hand them its solutions and graders; "
            "grade such a topic with 'normquiz grade-batch' or 'normquiz export gradescope'.")
    if install_spec is not None and not install_spec.strip():
        raise WorkspaceError("--install-spec is empty: give a pip requirement, a wheel path "
                             "or a git URL.")
    workflow = workflow_text(topic, install_spec=install_spec, unsandboxed=unsandboxed,
                             python=python)  # checks the points before anything is written
    if directory.exists() and not directory.is_dir():
        raise WorkspaceError(f"{display_path(directory)} exists and is not a folder.")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise WorkspaceError(
            f"{display_path(directory)} is not empty; nothing was changed. To add only the "
            f"missing files, keeping yours, run 'normquiz export github-classroom {slug} "
            f"{display_path(directory)} --force'.")
    readme_existed = (directory / README_FILE).exists()
    started = start(catalog, slug, directory, force=True, seed=seed)
    result = ClassroomResult(directory, started.workspace.seed, list(started.written),
                             list(started.kept))
    section = students_section(topic, install_spec=install_spec)
    if README_FILE in started.written and not readme_existed:
        readme = directory / README_FILE
        readme.write_text(readme.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + section,
                          encoding="utf-8")
        extra = {}
    else:
        extra = {GRADING_NOTE: section}
    extra |= {GITIGNORE: GITIGNORE_TEXT, WORKFLOW_PATH: workflow}
    for name, text in extra.items():
        target = directory / name
        if target.exists() or target.is_symlink():
            result.kept.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        result.written.append(name)
    return result
