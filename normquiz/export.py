"""`normquiz export gradescope`: a Gradescope autograder bundle for one topic.

The zip holds, at its root (Gradescope unpacks it into /autograder/source):

- `setup.sh`: run once, as root, when Gradescope builds the image. pip only:
  it installs the bundled normquiz wheel and its dependencies, pinned in
  `requirements.txt` to the versions installed where the bundle was built,
  from PyPI, or with `--bundle-deps` from their wheels in `wheels/` without
  an index (pip itself comes from apt only if the image lacks it). Then it
  leaves learner code nothing to read or change: it deletes the wheel (it holds every
  reference solution and grader), moves an instructor's `content/` out of
  /autograder/source to /autograder/normquiz-content (root only), makes the
  installed package writable by root only and its `solutions` and `grader`
  folders readable by root only. Grading runs as root; learner code runs as
  `nobody` under Landlock, so the file modes are a second wall.
- `run_autograder`: run for each submission. It is normquiz/gradescope_autograder.py
  as it is, a Python script that uses only the standard library and the
  `normquiz` command, with its settings (topic, seed, timeout, visibility...)
  in `normquiz-autograder.json` beside it: it copies the
  submission into a fresh folder (regular files and folders only: symbolic
  links, fifos and devices are skipped and named in the output), gives a
  module or notebook submitted under another name (`layernorm (1).py`) its
  own when it is the only candidate, makes it a
  workspace with `normquiz start TOPIC DIR --force --seed N` when it has no
  state file (which adds only the missing files), grades it with `normquiz
  grade --format gradescope --require-isolation`, and writes
  /autograder/results/results.json, with the exported visibility on the score
  and each test and `stdout_visibility` on its own output. Whatever fails, it still writes
  results.json: score 0 and the reason in `output`. A bundle exported with
  `--unsandboxed` (or NORMQUIZ_UNSANDBOXED=1 in Gradescope's environment)
  grades without every isolation layer in force.
- `normquiz-<version>-py3-none-any.whl`, `requirements.txt`, `wheels/` with
  `--bundle-deps`, and `content/` when the topic comes from an instructor's
  content folder.

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
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from normquiz import gradescope_autograder
from normquiz.content import (
    CONTENT_FOLDERS,
    PACKAGE_DIR,
    Topic,
    display_path,
)
from normquiz.errors import NormquizError
from normquiz.gradescope_autograder import CONTENT_HOME, ROOT_ENV, SETTINGS_NAME, VISIBILITIES
from normquiz.sandbox import DEFAULT_TIMEOUT

__all__ = ["CONTENT_HOME", "ROOT_ENV", "SETTINGS_NAME", "VISIBILITIES", "ExportError",
           "export_gradescope", "requirements_text"]

# CONTENT_HOME: where setup.sh moves an instructor's topic, under the autograder root:
# out of source/ (which stays as uploaded) and readable by root only.


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
# pip only: normquiz from the wheel bundled here, its dependencies {deps_from}.
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
python3 -m pip install --no-cache-dir --disable-pip-version-check {index}\\
    -r requirements.txt ./{wheel}

# Leave learner code no copy of the reference solutions and graders to read, and
# no way to change the normquiz that grades it. run_autograder grades as root;
# learner code runs as the user nobody under Landlock: these modes are a second wall.
# The wheel holds every solution and grader: installed, it goes.
rm -f ./{wheel}
rm -rf ./{wheels_dir}
# run_autograder's settings: root's to change.
chmod go-w {settings}
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

# run_autograder is normquiz/gradescope_autograder.py, copied as it is: a script of
# the standard library only, which reads its settings from SETTINGS_NAME beside it.
AUTOGRADER_SOURCE = Path(gradescope_autograder.__file__).with_suffix(".py")


def autograder_script() -> str:
    """The text of run_autograder: normquiz/gradescope_autograder.py."""
    text = AUTOGRADER_SOURCE.read_text(encoding="utf-8")
    if not text.startswith("#!/usr/bin/env python3\n"):
        raise ExportError(f"{AUTOGRADER_SOURCE} does not start with its #! line.")
    return text


def autograder_settings(topic: Topic, *, seed: int, timeout: float, unsandboxed: bool,
                        visibility: str | None, stdout_visibility: str,
                        content_home: str | None) -> str:
    """The JSON that run_autograder reads its settings from.

    `visibility` None: the topic's default for the score and each test, and each
    exercise's own where it has one; given, it holds for the score and every test.
    """
    tests = {} if visibility is not None else {
        e.id: e.gradescope_visibility for e in topic.exercises if e.gradescope_visibility}
    visibility = visibility or topic.manifest.gradescope_visibility
    for value in (visibility, stdout_visibility):
        if value not in VISIBILITIES:
            raise ExportError(f"unknown visibility {value!r}: choose one of "
                              + ", ".join(VISIBILITIES) + ".")
    settings = {
        "exported_by": f"normquiz {importlib.metadata.version('normquiz')}",
        "topic": topic.slug,
        "module": topic.module,           # the learner's module file, or None
        "notebook": f"{topic.slug}.ipynb",
        "seed": seed,                     # numeric questions' seed when the submission has none
        "timeout": float(timeout),        # seconds each code exercise may run
        "unsandboxed": bool(unsandboxed),  # True: grade without every isolation layer
        "visibility": visibility,         # of the score and of each test not below
        "test_visibility": tests,         # exercise id: its test's own visibility
        "stdout_visibility": stdout_visibility,  # of run_autograder's output (the log)
        "content_home": content_home,     # where setup.sh moved the bundled topic, or None
    }
    return json.dumps(settings, indent=2) + "\n"


def _requirement_name(requirement: str) -> str:
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not found:
        raise ExportError(f"normquiz's metadata lists a requirement it cannot read: "
                          f"{requirement!r}")
    return found.group(1)


def wheel_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA: what pip installs with it."""
    try:
        with zipfile.ZipFile(wheel) as z:
            name = next(n for n in z.namelist()
                        if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            metadata = z.read(name).decode("utf-8", errors="replace")
    except (OSError, zipfile.BadZipFile, StopIteration):
        raise ExportError(f"{display_path(wheel)} is not a wheel with its METADATA.") from None
    return re.findall(r"^Requires-Dist:\s*(.+?)\s*$", metadata.split("\n\n", 1)[0],
                      re.MULTILINE)


def requirements_text(wheel: Path | None = None) -> str:
    """normquiz's runtime dependencies (no extras), pinned to the versions installed here.

    The dependencies are those of `wheel`, the one bundled (or, without it, of
    the installed normquiz's metadata, which an old editable install may have
    left behind). A dependency not installed here (its environment marker is
    false on this machine, say) keeps its range.
    """
    reqs = wheel_requirements(wheel) if wheel else importlib.metadata.requires("normquiz") or []
    lines = []
    for req in reqs:
        if "extra ==" in req:
            continue
        spec, _, marker = req.partition(";")
        name = _requirement_name(spec)
        try:
            pinned = f"{name}=={importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"{req.strip()}  # not installed where the bundle was built")
            continue
        lines.append(pinned + (f"; {marker.strip()}" if marker.strip() else ""))
    return ("# normquiz's dependencies, pinned to the versions installed where this bundle\n"
            "# was built, so that grading does not change across image rebuilds.\n"
            + "\n".join(lines) + "\n")


# Gradescope's images: x86_64 Linux, Ubuntu 22.04 (glibc 2.35) or newer. pip does not
# widen a manylinux_2_X tag to older ones, so each is named.
BUNDLE_PLATFORMS = ("manylinux_2_35_x86_64", "manylinux_2_34_x86_64", "manylinux_2_31_x86_64",
                    "manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
                    "manylinux_2_17_x86_64", "manylinux2014_x86_64")
WHEELS_DIR = "wheels"
PIP = [sys.executable, "-m", "pip"]


def download_wheels(requirements: Path, dest: Path, python_version: str) -> list[Path]:
    """The wheels of every dependency (and theirs) for Gradescope's machine, into `dest`."""
    if not re.fullmatch(r"3\.\d+", python_version):
        raise ExportError(f"--python-version {python_version!r}: give it as 3.X (3.11, say).")
    cmd = [*PIP, "download", "--only-binary=:all:", "--disable-pip-version-check", "--quiet",
           "--dest", str(dest), "--implementation", "cp", "--python-version", python_version]
    for platform in BUNDLE_PLATFORMS:
        cmd += ["--platform", platform]
    cmd += ["-r", str(requirements)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise ExportError(f"pip could not be run: {e}") from None
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise ExportError("'pip download' could not fetch the dependencies' wheels for "
                          f"x86_64 Linux, Python {python_version}:\n"
                          f"{(proc.stderr or proc.stdout).strip()[-2000:]}\n"
                          "The versions are pinned to those installed here: a version too "
                          "new for that Python has no wheel for it. Export from an "
                          "environment with the Python of Gradescope's image.")
    return wheels


# ---------------------------------------------------------------- the bundle


def _add(z: zipfile.ZipFile, name: str, data: bytes | str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    z.writestr(info, data)


def export_gradescope(topic: Topic, output: Path, *, seed: int = 0,
                      timeout: float = DEFAULT_TIMEOUT, wheel: Path | None = None,
                      unsandboxed: bool = False,
                      visibility: str | None = None, stdout_visibility: str = "hidden",
                      bundle_deps: bool = False,
                      python_version: str | None = None) -> list[str]:
    """Write the autograder zip for `topic` to `output`; return the names it holds.

    `unsandboxed` makes run_autograder grade even when an isolation layer is
    missing (without it, such a grading is refused with score 0 and the reason).
    `visibility` is Gradescope's for the score and each test (None: the topic's and
    its exercises' own, from the content), `stdout_visibility` for run_autograder's
    output. `bundle_deps` puts the dependencies' wheels for
    x86_64 Linux and Python `python_version` (default: the running one) into the
    zip, and setup.sh installs from them alone, without an index.
    """
    with tempfile.TemporaryDirectory(prefix="normquiz-export-") as tmp:
        wheel_path = Path(wheel) if wheel else build_wheel(Path(tmp))
        extra_root = None if topic.shipped else topic.root
        settings = autograder_settings(
            topic, seed=seed, timeout=timeout, unsandboxed=unsandboxed, visibility=visibility,
            stdout_visibility=stdout_visibility,
            content_home=CONTENT_HOME if extra_root is not None else None)
        requirements = requirements_text(wheel_path)
        dep_wheels: list[Path] = []
        if bundle_deps:
            req_file = Path(tmp) / "requirements.txt"
            req_file.write_text(requirements, encoding="utf-8")
            deps = Path(tmp) / WHEELS_DIR
            deps.mkdir()
            version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
            dep_wheels = download_wheels(req_file, deps, version)
        index = f"--no-index --find-links ./{WHEELS_DIR} " if bundle_deps else ""
        setup = SETUP_SH.format(wheel=wheel_path.name, root_env=ROOT_ENV,
                                content_home=CONTENT_HOME, index=index, wheels_dir=WHEELS_DIR,
                                settings=SETTINGS_NAME,
                                deps_from="from the wheels in wheels/" if bundle_deps
                                else "from PyPI")
        output = Path(output)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(output, "w") as z:
                _add(z, "setup.sh", setup, executable=True)
                _add(z, "run_autograder", autograder_script(), executable=True)
                _add(z, SETTINGS_NAME, settings)
                _add(z, "requirements.txt", requirements)
                _add(z, wheel_path.name, wheel_path.read_bytes())
                for dep in dep_wheels:
                    _add(z, f"{WHEELS_DIR}/{dep.name}", dep.read_bytes())
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
