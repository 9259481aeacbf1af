"""`normquiz export gradescope`: a Gradescope autograder bundle for one topic.

The zip holds, at its root (Gradescope unpacks it into /autograder/source):

- `setup.sh`: run once, as root, when Gradescope builds the image. pip only:
  it installs the bundled normquiz wheel and its dependencies from PyPI (pip
  itself comes from apt only if the image lacks it). Then it leaves learner
  code nothing to read or change: it deletes the wheel (it holds every
  reference solution and grader), moves an instructor's `content/` out of
  /autograder/source to /autograder/normquiz-content (root only), makes the
  installed package writable by root only and its `solutions` and `grader`
  folders readable by root only. Grading runs as root; learner code runs as
  `nobody` under Landlock, so the file modes are a second wall.
- `run_autograder`: run for each submission. A small Python script that
  uses only the standard library and the `normquiz` command: it copies the
  submission into a fresh folder (regular files and folders only: symbolic
  links, fifos and devices are skipped and named in the output), makes it a
  workspace with `normquiz start TOPIC DIR --force --seed N` when it has no
  state file (which adds only the missing files), grades it with `normquiz
  grade --format gradescope --require-isolation`, and writes
  /autograder/results/results.json. Whatever fails, it still writes
  results.json: score 0 and the reason in `output`. A bundle exported with
  `--unsandboxed` (or NORMQUIZ_UNSANDBOXED=1 in Gradescope's environment)
  grades without every isolation layer in force.
- `normquiz-<version>-py3-none-any.whl`, `requirements.txt`, and `content/`
  when the topic comes from an instructor's content folder.

The wheel is the normquiz that is running now. From a source checkout it is
built with `pip wheel --no-deps` (without build isolation when hatchling is
installed, so it works offline); from an installed wheel it is re-packed from
the installed files listed in the distribution's RECORD, which is exactly the
wheel pip installed. `--wheel FILE` bundles a given wheel instead.

The root /autograder can be moved with NORMQUIZ_AUTOGRADER_ROOT, so that a
test can run the bundle end to end in a temporary folder.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from normquiz.content import PACKAGE_DIR, Catalog, Topic, builtin_root, display_path
from normquiz.errors import NormquizError
from normquiz.sandbox import DEFAULT_TIMEOUT

ROOT_ENV = "NORMQUIZ_AUTOGRADER_ROOT"
CONTENT_FOLDERS = ("exercises", "solutions", "grader", "quizzes")
# Where setup.sh moves an instructor's topic, under the autograder root: out of
# source/ (which stays as uploaded) and readable by root only.
CONTENT_HOME = "normquiz-content"


class ExportError(NormquizError):
    """The bundle could not be built (no wheel to bundle, an unwritable output)."""


# ---------------------------------------------------------------- the wheel


def source_tree() -> Path | None:
    """The source checkout this normquiz runs from, or None when it is installed."""
    root = PACKAGE_DIR.parent
    pyproject = root / "pyproject.toml"
    if not (pyproject.is_file() and (root / "exercises").is_dir()):
        return None
    text = pyproject.read_text(encoding="utf-8", errors="replace")
    return root if re.search(r'^name\s*=\s*"normquiz"\s*$', text, re.MULTILINE) else None


def _pip_wheel(source: Path, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
           "--disable-pip-version-check", "-w", str(dest), str(source)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.insert(4, "--no-build-isolation")  # the backend is here: no download needed
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("normquiz-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise ExportError(f"'pip wheel' could not build normquiz from {source}:\n"
                          f"{(proc.stderr or proc.stdout).strip()[-2000:]}\n"
                          "Build one yourself ('pip wheel --no-deps .') and pass it with --wheel.")
    return wheels[-1]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _repack_installed(dest: Path) -> Path:
    """The installed normquiz, zipped back into the wheel it was installed from."""
    dist = importlib.metadata.distribution("normquiz")
    files = [f for f in dist.files or []
             if not f.parts[0].startswith("..") and "__pycache__" not in f.parts
             and f.suffix != ".pyc"]
    if not any(f.parts[0] == "normquiz" for f in files):
        raise ExportError("normquiz is installed in editable mode from a folder that is not "
                          "its source tree, so there is no wheel to bundle. Build one "
                          "('pip wheel --no-deps .') and pass it with --wheel.")
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    tag = re.search(r"^Tag:\s*(\S+)", dist.read_text("WHEEL") or "", re.MULTILINE)
    name = f"normquiz-{dist.version}-{tag.group(1) if tag else 'py3-none-any'}.whl"
    skip = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}  # written by the installer
    record = []
    path = dest / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            if f.parts[0] == info and f.name in skip:
                continue
            data = Path(str(dist.locate_file(f))).read_bytes()
            z.writestr(f.as_posix(), data)
            record.append(f"{f.as_posix()},{_record_hash(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def build_wheel(dest: Path) -> Path:
    """A wheel of the running normquiz, written into `dest`."""
    source = source_tree()
    return _pip_wheel(source, dest) if source is not None else _repack_installed(dest)


# ---------------------------------------------------------------- the scripts

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# pip only: normquiz from the wheel bundled here, its dependencies from PyPI.
# normquiz needs Python 3.10 or newer (Gradescope's Ubuntu 22.04 image or newer).
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -m pip --version >/dev/null 2>&1; then
    # Only pip itself, when the base image lacks it.
    apt-get update && apt-get install -y python3-pip
fi
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else
    "normquiz needs Python 3.10 or newer: choose a newer Gradescope base image.")'
# The image is this autograder's alone: installing into the system Python is intended.
export PIP_BREAK_SYSTEM_PACKAGES=1
python3 -m pip install --no-cache-dir --disable-pip-version-check \\
    -r requirements.txt ./{wheel}

# Leave learner code no copy of the reference solutions and graders to read, and
# no way to change the normquiz that grades it. run_autograder grades as root;
# learner code runs as the user nobody under Landlock: these modes are a second wall.
# The wheel holds every solution and grader: installed, it goes.
rm -f ./{wheel}
# An instructor's topic moves out of source/, readable by root only;
# run_autograder points NORMQUIZ_PATH at its new place.
ROOT="${{{root_env}:-/autograder}}"
if [ -e content ]; then
    rm -rf "$ROOT/{content_home}"
    mv content "$ROOT/{content_home}"
    chmod -R go-rwx "$ROOT/{content_home}"
fi
# The installed package: writable by root only; its solutions and graders
# readable by root only.
PACKAGE="$(python3 -c 'import normquiz, os; print(os.path.dirname(normquiz.__file__))')"
chmod -R go-w "$PACKAGE"
chmod -R go-rwx "$PACKAGE/content/solutions" "$PACKAGE/content/grader"
normquiz --version
"""

RUN_AUTOGRADER = '''\
#!/usr/bin/env python3
\"\"\"Gradescope runs this for each submission (made by `normquiz export gradescope`).

It grades the files in $ROOT/submission (a .py module, answers.yaml and/or a
notebook, or a whole workspace) with `normquiz grade --format gradescope
--require-isolation`, and always leaves $ROOT/results/results.json behind: on
any failure, score 0 and the reason. ROOT is /autograder, or
$NORMQUIZ_AUTOGRADER_ROOT.

Only the submission's regular files and folders are graded: a symbolic link
(to the installed reference solution, say) is neither followed nor copied, nor
is a fifo, socket or device; the output names each one skipped.

Grading refuses, with score 0 and the reason, unless every isolation layer is
in force around learner code (see `normquiz doctor`), except in a bundle
exported with --unsandboxed or with NORMQUIZ_UNSANDBOXED=1 set in Gradescope's
environment (which `normquiz grade` reads itself).
\"\"\"

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOPIC = {topic!r}
MODULE = {module!r}           # the learner's module file, or None
SEED = {seed!r}               # numeric questions' seed when the submission records none
TIMEOUT = {timeout!r}         # seconds each code exercise may run
UNSANDBOXED = {unsandboxed!r}     # True: grade even without every isolation layer in force
ROOT = Path(os.environ.get("{root_env}") or "/autograder")
RESULTS = ROOT / "results" / "results.json"
STARTED = time.monotonic()
NOTES = []                    # what was left out of the submission, for the learner


def write_results(results):
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_name(".results.json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, RESULTS)


def with_notes(output):
    return "\\n".join(NOTES) + "\\n\\n" + output if NOTES else output


def fail(reason):
    print(with_notes(reason))  # for the instructor, in Gradescope's autograder output
    write_results({{"score": 0.0, "execution_time": round(time.monotonic() - STARTED, 3),
                   "output": with_notes("normquiz could not grade this submission:\\n" + reason),
                   "output_format": "text", "visibility": "visible", "tests": []}})
    sys.exit(0)


def holds_learner_files(folder):
    names = [n for n in (MODULE, "answers.yaml", TOPIC + ".ipynb", ".normquiz.json") if n]
    return any(os.path.lexists(folder / n) for n in names)


def learner_files(submission):
    \"\"\"The folder holding the learner's files: the submission, or the one folder in it.

    A linked folder is never a candidate, nor walked into.
    \"\"\"
    if holds_learner_files(submission):
        return submission
    folders = []
    for parent, dirnames, _ in os.walk(submission):  # does not follow links
        folders += [Path(parent, d) for d in dirnames if not Path(parent, d).is_symlink()]
    for folder in sorted(folders):
        if holds_learner_files(folder):
            return folder
    return submission


def copy_submission(source, dest, shown=""):
    \"\"\"Copy the regular files and folders of `source` into `dest`, nothing else.

    A symbolic link is neither followed nor copied: a link to the installed
    reference solution must not be graded as the learner's work. Fifos, sockets
    and devices are skipped too. Each one skipped is named in NOTES. copy2 keeps
    modification times: with both a .py and a notebook, the newer is graded.
    \"\"\"
    dest.mkdir(parents=True)
    with os.scandir(source) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        name = shown + entry.name
        if entry.is_symlink():
            NOTES.append(f"{{name}} is a symbolic link: not graded; submit the file itself")
        elif entry.is_dir(follow_symlinks=False):
            copy_submission(Path(entry.path), dest / entry.name, name + "/")
        elif entry.is_file(follow_symlinks=False):
            shutil.copy2(entry.path, dest / entry.name, follow_symlinks=False)
        else:
            NOTES.append(f"{{name}} is not a regular file (a fifo, socket or device): "
                         "not graded")
    shutil.copystat(source, dest, follow_symlinks=False)


def recorded_seed(folder):
    \"\"\"The seed the learner's own files recorded (answers.yaml, notebook), or None.\"\"\"
    answers = folder / "answers.yaml"
    if answers.is_file():
        found = re.search(r"^# normquiz seed: (\\d+)\\s*$",
                          answers.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if found:
            return int(found.group(1))
    notebook = folder / (TOPIC + ".ipynb")
    try:
        seed = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["normquiz"]["seed"]
        return seed if isinstance(seed, int) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def normquiz(*args, cwd):
    command = [shutil.which("normquiz") or "normquiz", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1800)


def main():
    if shutil.which("normquiz") is None:
        fail("the normquiz command is not installed (did setup.sh run?).")
    submission = ROOT / "submission"
    if not submission.is_dir():
        fail(f"there is no submission folder ({{submission}}).")
    source = learner_files(submission)
    work = Path(tempfile.mkdtemp(prefix="normquiz-gradescope-")) / TOPIC
    shown = source.relative_to(submission).as_posix() + "/" if source != submission else ""
    copy_submission(source, work, shown)
    had_module = bool(MODULE) and (work / MODULE).is_file()
    had_notebook = (work / (TOPIC + ".ipynb")).is_file()
    state = work / ".normquiz.json"
    if state.is_file():
        try:
            topic = json.loads(state.read_text(encoding="utf-8")).get("topic")
        except (OSError, ValueError, AttributeError):
            topic = None  # a broken state file: `normquiz grade` says what is wrong with it
        if topic is not None and topic != TOPIC:
            fail(f"this submission is a workspace for the topic '{{topic}}', not '{{TOPIC}}'.")
    else:
        seed = recorded_seed(work)
        made = normquiz("start", TOPIC, str(work), "--force",
                        "--seed", str(SEED if seed is None else seed), cwd=work.parent)
        if made.returncode != 0:
            fail("preparing a workspace failed:\\n" + (made.stderr or made.stdout).strip())
    # `start` wrote a blank stub if the module was missing: grade the notebook then.
    target = [TOPIC + ".ipynb"] if had_notebook and not had_module else []
    # Grades others rely on: refuse (exit 2) unless every isolation layer is in force.
    isolation = [] if UNSANDBOXED else ["--require-isolation"]
    graded = normquiz("grade", *target, "--format", "gradescope", "--timeout", str(TIMEOUT),
                      *isolation, cwd=work)
    if graded.returncode not in (0, 1):  # 1 is a graded submission that did not pass all
        fail((graded.stderr or graded.stdout).strip() or f"exit code {{graded.returncode}}")
    try:
        results = json.loads(graded.stdout)
    except ValueError:
        fail("normquiz printed something that is not JSON:\\n" + graded.stdout[:2000])
    if not isinstance(results, dict) or "score" not in results:
        fail("normquiz printed JSON without a score.")
    results["execution_time"] = round(time.monotonic() - STARTED, 3)
    results["output"] = with_notes(str(results.get("output", "")))
    write_results(results)
    print(results["output"])


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: B036 - whatever happens, results.json is written
        fail(f"the autograder failed: {{type(e).__name__}}: {{e}}")
'''


def requirements_text() -> str:
    """The runtime dependencies of normquiz, as its metadata lists them (no extras)."""
    reqs = [r for r in importlib.metadata.requires("normquiz") or [] if "extra ==" not in r]
    return ("# normquiz's dependencies (pip also reads them from the wheel). Pin versions\n"
            "# here to make grading reproducible across image rebuilds.\n"
            + "\n".join(reqs) + "\n")


# ---------------------------------------------------------------- the bundle


def _add(z: zipfile.ZipFile, name: str, data: bytes | str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    z.writestr(info, data)


def export_gradescope(topic: Topic, output: Path, *, seed: int = 0,
                      timeout: float = DEFAULT_TIMEOUT, wheel: Path | None = None,
                      catalog: Catalog | None = None, unsandboxed: bool = False) -> list[str]:
    """Write the autograder zip for `topic` to `output`; return the names it holds.

    `unsandboxed` makes run_autograder grade even when an isolation layer is
    missing (without it, such a grading is refused with score 0 and the reason).
    """
    with tempfile.TemporaryDirectory(prefix="normquiz-export-") as tmp:
        wheel_path = Path(wheel) if wheel else build_wheel(Path(tmp))
        extra_root = None
        if catalog is not None and catalog.root_of(topic.slug).resolve() != \
                builtin_root().resolve():
            extra_root = catalog.root_of(topic.slug)
        run = RUN_AUTOGRADER.format(topic=topic.slug, module=topic.module, seed=seed,
                                    timeout=float(timeout), unsandboxed=bool(unsandboxed),
                                    root_env=ROOT_ENV)
        if extra_root is not None:
            run = run.replace('STARTED = time.monotonic()\n',
                              'STARTED = time.monotonic()\n# The topic comes with the bundle; '
                              'setup.sh moved it here, readable by root only.\n'
                              f'os.environ["NORMQUIZ_PATH"] = str(ROOT / "{CONTENT_HOME}")\n',
                              1)
        output = Path(output)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(output, "w") as z:
                _add(z, "setup.sh", SETUP_SH.format(wheel=wheel_path.name, root_env=ROOT_ENV,
                                                 content_home=CONTENT_HOME), executable=True)
                _add(z, "run_autograder", run, executable=True)
                _add(z, "requirements.txt", requirements_text())
                _add(z, wheel_path.name, wheel_path.read_bytes())
                if extra_root is not None:
                    for folder in CONTENT_FOLDERS:
                        for f in sorted((extra_root / folder).rglob("*")):
                            if f.is_file() and "__pycache__" not in f.parts:
                                _add(z, f"content/{f.relative_to(extra_root).as_posix()}",
                                     f.read_bytes())
                names = z.namelist()
        except OSError as e:
            raise ExportError(f"{display_path(output)} cannot be written: {e.strerror}.") from None
    return names
