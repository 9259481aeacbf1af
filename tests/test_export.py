"""`normquiz export gradescope`: the bundle, setup.sh and run_autograder end to end.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once (as
root), then /autograder/run_autograder per submission. Here the tree lives in a
temporary folder (NORMQUIZ_AUTOGRADER_ROOT) and both scripts run for real, with
one stand-in: setup.sh's `python3` is a small shim whose `pip install` lays
out, in a folder of the test's own, the bundled wheel as a real `pip install
--target` installed it once for the module (installing into this environment
would replace the normquiz under test, and would be slow). Every other step of
setup.sh (deleting the wheel, moving an instructor's content, the chmods on the
package it finds with `python3 -c 'import normquiz'`) runs as written, on that
copy. run_autograder grades with the normquiz already installed here, on PATH
as `normquiz`; this machine has every isolation layer, so it grades with
--require-isolation in force.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import textwrap
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import learners
import pytest
import yaml
from click.testing import CliRunner
from helpers import COURSE

import normquiz
import normquiz.export
import normquiz.formats
from normquiz import gradescope_autograder
from normquiz.cli import cli
from normquiz.content import Catalog, CodeExercise, default_catalog
from normquiz.export import CONTENT_HOME, ROOT_ENV, SETTINGS_NAME, wheel_requirements
from normquiz.sandbox import UNSANDBOXED_ENV, missing_layers_message
from normquiz.selfcheck import mistake_source

TOPIC = default_catalog().topic("layernorm")
TOTAL = float(sum(e.points for e in TOPIC.exercises))
BIN = str(Path(sys.executable).parent)  # python3 and normquiz of this environment
CODE_IDS = [e.id for e in TOPIC.exercises if isinstance(e, CodeExercise)]

# setup.sh's python3: `-m pip install ... WHEEL` copies the module's real pip install
# (after checking that WHEEL is there), writable by all as under a careless umask, for
# setup.sh to lock; anything else runs with that copy first on the path.
PYTHON3_SHIM = """\
#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ "$3" = "install" ]; then
    for wheel; do :; done
    [ -f "$wheel" ] || {{ echo "no wheel $wheel" >&2; exit 1; }}
    echo "$@" >> "{log}"
    cp -R "{installed}/." "{site}" && exec chmod -R go+rw "{site}"
fi
PYTHONPATH="{site}" exec "{python}" "$@"
"""

# A stand-in `normquiz` for run_autograder: records its arguments and the override
# variable, and grades nothing (or refuses, as `grade --require-isolation` does).
FAKE_NORMQUIZ = """\
#!{python}
import json, os, sys
with open({log!r}, "a") as f:
    f.write(json.dumps([sys.argv[1:], os.environ.get({env!r})]) + "\\n")
if sys.argv[1] == "grade":
    if os.environ.get("FAKE_REFUSAL"):
        print("Error: " + os.environ["FAKE_REFUSAL"], file=sys.stderr)
        sys.exit(2)
    print(json.dumps({{"score": 1.0, "max_score": 1.0, "output": "", "tests": []}}))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    zip_path = tmp / "autograder.zip"
    result = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(zip_path),
                                      "--timeout", "5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return zip_path


def bundle_settings(zip_path: Path) -> dict:
    with zipfile.ZipFile(zip_path) as z:
        return json.loads(z.read(SETTINGS_NAME))


def bundled_wheel(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as z:
        name = next(n for n in z.namelist() if n.endswith(".whl"))
        z.extract(name, dest)
    return dest / name


@pytest.fixture(scope="module")
def installed(bundle, tmp_path_factory) -> Path:
    """The bundled wheel, installed once by pip (no dependencies) into a folder."""
    tmp = tmp_path_factory.mktemp("installed")
    wheel = bundled_wheel(bundle, tmp)
    site = tmp / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-index", "--disable-pip-version-check", "--target", str(site),
                           str(wheel)], capture_output=True, text=True,
                          env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"})
    assert proc.returncode == 0, proc.stderr
    assert (site / "normquiz" / "content" / "solutions").is_dir()
    return site


@dataclass
class Autograder:
    """/autograder as Gradescope lays it out, after setup.sh ran (or not)."""

    root: Path
    package: Path | None  # the normquiz package setup.sh found and locked

    def grade(self, files: dict[str, str | Path], path: str | None = None,
              env: dict[str, str] | None = None) -> dict:
        """Put `files` in submission/, run run_autograder, return results.json.

        A Path value is copied; a string is the file's text.
        """
        submission = self.root / "submission"
        submission.mkdir()
        for name, content in files.items():
            (submission / name).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copy2(content, submission / name)
            else:
                (submission / name).write_text(content)
        return self.run(path=path, env=env)

    def run(self, path: str | None = None, env: dict[str, str] | None = None) -> dict:
        full_env = {**os.environ, ROOT_ENV: str(self.root),
                    "PATH": path if path is not None else BIN + os.pathsep + os.environ["PATH"]}
        full_env.pop("NORMQUIZ_PATH", None)
        full_env.pop(UNSANDBOXED_ENV, None)  # grades here with every layer required
        full_env.update(env or {})
        proc = subprocess.run([str(self.root / "run_autograder")], cwd=self.root, env=full_env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads((self.root / "results" / "results.json").read_text())


@pytest.fixture
def autograder(tmp_path, installed):
    """autograder(zip, setup=True): the zip unpacked in a fresh /autograder, set up."""
    made = []

    def make(zip_path: Path, setup: bool = True) -> Autograder:
        base = tmp_path / f"gradescope{len(made)}"
        made.append(base)
        root = base / "autograder"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(root / "source")
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
        (root / "run_autograder").chmod(0o755)  # zipfile does not restore modes
        if not setup:
            return Autograder(root, None)
        shim, site, log = base / "shim", base / "site", base / "pip.log"
        shim.mkdir()
        (shim / "python3").write_text(PYTHON3_SHIM.format(
            log=log, installed=installed, site=site, python=sys.executable))
        (shim / "python3").chmod(0o755)
        env = {**os.environ, ROOT_ENV: str(root),
               "PATH": os.pathsep.join([str(shim), BIN, os.environ["PATH"]])}
        proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert ".whl" in log.read_text()  # its pip step installed the bundled wheel
        return Autograder(root, site / "normquiz")

    return make


def modes_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.lstat().st_mode
            for p in [folder, *folder.rglob("*")]}


def code_scores(results: dict) -> dict[str, float]:
    """The scores of the code exercises (Gradescope's tests come in the topic's order)."""
    assert len(results["tests"]) == len(TOPIC.exercises)
    return {e.id: t["score"] for e, t in zip(TOPIC.exercises, results["tests"])
            if e.id in CODE_IDS}


def stubs() -> str:
    """Every graded function, unanswered."""
    return "".join(f"\n\ndef {e.function}(*args, **kwargs):\n    raise NotImplementedError\n"
                   for e in TOPIC.exercises if isinstance(e, CodeExercise))


def test_the_zip_holds_the_scripts_at_its_root(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        wheel = next(n for n in names if n.endswith(".whl"))
        wheel_names = zipfile.ZipFile(z.open(wheel)).namelist()
    assert {"setup.sh", "run_autograder", "requirements.txt", SETTINGS_NAME} <= set(names)
    assert wheel.startswith("normquiz-") and "/" not in wheel
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    # The wheel carries the package and its content.
    assert "normquiz/cli.py" in wheel_names
    assert "normquiz/content/grader/layernorm/test_layernorm_forward.py" in wheel_names
    assert any(n.endswith(".dist-info/RECORD") for n in wheel_names)
    # setup.sh: pip only, installing the bundled wheel.
    assert setup.startswith("#!/usr/bin/env bash")
    install = " ".join(setup.split("python3 -m pip install", 1)[1].replace("\\\n", " ").split())
    assert f"-r requirements.txt ./{wheel}" in install
    assert "conda" not in setup and "mamba" not in setup


def test_setup_leaves_no_copy_of_the_content_and_locks_the_package(bundle, autograder):
    grader = autograder(bundle)
    # The wheel, which holds every solution and grader, is gone once installed.
    assert not list((grader.root / "source").rglob("*.whl"))
    assert sorted(p.name for p in (grader.root / "source").iterdir()) == \
        [SETTINGS_NAME, "requirements.txt", "run_autograder", "setup.sh"]
    # run_autograder's settings: root's alone to change.
    assert not (grader.root / "source" / SETTINGS_NAME).stat().st_mode & 0o022
    # The installed package: nothing in it writable but by its owner (root) ...
    package = modes_under(grader.package)
    assert "cli.py" in package and "content/solutions/layernorm/layernorm.py" in package
    assert not [p for p, m in package.items() if m & (stat.S_IWGRP | stat.S_IWOTH)]
    # ... its solutions and graders readable by root only; the rest still readable.
    for folder in ("solutions", "grader"):
        locked = modes_under(grader.package / "content" / folder)
        assert len(locked) > 5
        assert not [p for p, m in locked.items() if m & 0o077], folder
    assert package["content/exercises"] & stat.S_IROTH and package["formats.py"] & stat.S_IROTH


def learner_files(tmp: Path, source: str) -> dict[str, str]:
    """A module and the answers.yaml of a workspace (its seed line included), no state file."""
    folder = tmp / "learner"
    learners.bare(TOPIC, folder)
    return {"layernorm.py": source, "answers.yaml": (folder / "answers.yaml").read_text()}


def assert_gradescope_types(results: dict) -> None:
    assert isinstance(results["score"], float) and isinstance(results["max_score"], float)
    assert isinstance(results["execution_time"], float)
    assert isinstance(results["output"], str) and results["visibility"] == "visible"
    for number, test in enumerate(results["tests"], 1):
        assert test["number"] == str(number) and test["status"] in ("passed", "failed")
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["tags"], list) and test["visibility"] == "visible"


def test_a_correct_submission_scores_full_marks(bundle, autograder, tmp_path):
    # NORMQUIZ_UNSANDBOXED is unset: grading requires every layer, and they are all here.
    files = learner_files(tmp_path, learners.reference_source(TOPIC))
    results = autograder(bundle).grade(files)
    assert_gradescope_types(results)
    assert results["score"] == results["max_score"] == TOTAL
    assert len(results["tests"]) == len(TOPIC.exercises)
    assert all(t["status"] == "passed" for t in results["tests"])


def test_a_buggy_submission_is_diagnosed(bundle, autograder, tmp_path):
    exercise = TOPIC.exercise("layernorm_forward")
    files = learner_files(tmp_path, mistake_source(TOPIC, exercise, "unbiased-variance"))
    results = autograder(bundle, setup=False).grade(files)
    assert_gradescope_types(results)
    assert 0 < results["score"] < results["max_score"]
    forward = results["tests"][0]
    assert forward["name"].startswith("layernorm_forward")
    assert forward["status"] == "failed" and forward["tags"] == ["unbiased-variance"]
    assert "Diagnosis" in forward["output"]
    assert "layernorm_forward" in results["output"]


def test_a_notebook_alone_is_graded_with_its_own_seed(bundle, autograder, tmp_path):
    learners.notebook_only(TOPIC, tmp_path / "nb")
    notebook = tmp_path / "nb" / "layernorm.ipynb"
    results = autograder(bundle, setup=False).grade({"layernorm.ipynb": notebook})
    assert results["score"] == results["max_score"] == TOTAL


def test_a_syntax_error_costs_the_code_exercises_not_the_questions(bundle, autograder,
                                                                      tmp_path):
    files = learner_files(tmp_path, "def layernorm_forward(x, gain, bias, eps=1e-5)\n")
    results = autograder(bundle, setup=False).grade(files)
    code = [e.id for e in TOPIC.code_exercises]
    assert len(results["tests"]) == len(TOPIC.exercises)  # every exercise is reported
    for t in results["tests"]:
        if any(i in t["name"] for i in code):
            assert t["score"] == 0.0 and "layernorm.py, line 1: syntax error" in t["output"]
            assert "?." not in t["output"]
    assert results["score"] == sum(q.points for q in TOPIC.questions)  # the answers count


def test_without_normquiz_installed_results_json_is_still_written(bundle, autograder):
    # PATH without this environment: no normquiz (setup.sh did not run, say).
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if p and p != BIN and not (Path(p) / "normquiz").exists())
    assert shutil.which("python3", path=path), "run_autograder needs a python3 on PATH"
    results = autograder(bundle, setup=False).grade({"layernorm.py": "x = 1\n"}, path=path)
    assert results["score"] == 0.0 and "not installed" in results["output"]


def test_an_instructors_topic_travels_with_the_bundle(bundle, autograder, tmp_path):
    # The toy course is outside the package: its content goes into the zip. The wheel
    # of the first bundle is reused through --wheel. Its topic hides its tests until the
    # due date, and one exercise's test for good.
    course = tmp_path / "course"
    shutil.copytree(COURSE, course)
    with open(course / "exercises" / "toy" / "topic.yaml", "a") as f:
        f.write("gradescope_visibility: after_due_date\n")
    with open(course / "exercises" / "toy" / "center.yaml", "a") as f:
        f.write("gradescope_visibility: hidden\n")
    wheel = bundled_wheel(bundle, tmp_path)
    zip_path = tmp_path / "toy.zip"
    result = CliRunner().invoke(cli, ["--content", str(course), "export", "gradescope", "toy",
                                      "-o", str(zip_path), "--wheel", str(wheel)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(zip_path) as z:
        assert "content/grader/toy/test_center.py" in z.namelist()
        assert z.read(wheel.name) == wheel.read_bytes()
    grader = autograder(zip_path)
    # setup.sh moved the content out of source/, to a folder only root can read.
    assert not (grader.root / "source" / "content").exists()
    content = grader.root / CONTENT_HOME
    assert (content / "grader" / "toy" / "test_center.py").is_file()
    assert not [p for p, m in modes_under(content).items() if m & 0o077]
    topic = Catalog([COURSE]).topic("toy")
    answers = yaml.safe_dump(learners.correct_answers(topic, 0))
    results = grader.grade({"toy.py": learners.reference_source(topic), "answers.yaml": answers})
    assert results["score"] == results["max_score"] > 0  # graded from its new place
    visibility = {t["name"].split(":")[0]: t["visibility"] for t in results["tests"]}
    assert visibility == {"center": "hidden", "scale": "after_due_date",
                          "toy_mean": "after_due_date", "toy_choice": "after_due_date"}
    assert results["visibility"] == "after_due_date"


# ---------------------------------------------------------------- learners who forge grades


@pytest.mark.parametrize("link", ["module", "folder"])
def test_a_link_to_the_reference_solution_is_not_graded(bundle, autograder, tmp_path, link):
    grader = autograder(bundle)
    submission = grader.root / "submission"
    submission.mkdir()
    if link == "module":
        (submission / "answers.yaml").write_text(learner_files(tmp_path, "")["answers.yaml"])
        (submission / "layernorm.py").symlink_to(TOPIC.solution_path)
    else:
        # No learner file at the top: a folder that is a link to the solutions
        # (which hold layernorm.py) must not be taken for the learner's folder.
        (submission / "work").symlink_to(TOPIC.solution_path.parent, target_is_directory=True)
    results = grader.run()
    assert set(code_scores(results).values()) == {0.0}
    assert (link == "module") == (results["score"] > 0)  # the answers still count
    assert ("layernorm.py" if link == "module" else "work") in results["output"]


def test_special_files_are_skipped(bundle, autograder, tmp_path):
    grader = autograder(bundle, setup=False)
    submission = grader.root / "submission"
    submission.mkdir()
    for name, text in learner_files(tmp_path, learners.reference_source(TOPIC)).items():
        (submission / name).write_text(text)
    os.mkfifo(submission / "notes.txt")  # reading it would wait forever for a writer
    results = grader.run()
    assert results["score"] == results["max_score"] == TOTAL
    assert "notes.txt" in results["output"]


def test_learner_code_gets_nothing_from_the_wheel_or_the_solutions(bundle, autograder, tmp_path):
    grader = autograder(bundle)
    assert not list(grader.root.rglob("*.whl"))  # setup.sh deleted it
    # The wheel as it was uploaded, put back where the learner would look for it: the
    # sandbox alone must keep it out of reach too.
    bundled_wheel(bundle, grader.root / "source")
    installed = grader.package / "content" / "solutions" / "layernorm" / "layernorm.py"
    source = stubs() + textwrap.dedent(f"""\
        import glob
        import zipfile


        def steal():
            for path in glob.glob({str(grader.root)!r} + "/**/*.whl", recursive=True):
                with zipfile.ZipFile(path) as z:
                    return z.read("normquiz/content/solutions/layernorm/layernorm.py")
            for path in [{str(TOPIC.solution_path)!r}, {str(installed)!r}]:
                with open(path, "rb") as f:
                    return f.read()


        try:
            exec(steal(), globals())
        except Exception:
            pass
        """)
    results = grader.grade(learner_files(tmp_path, source))
    assert set(code_scores(results).values()) == {0.0}


def test_learner_code_cannot_change_the_installed_normquiz(bundle, autograder, tmp_path):
    grader = autograder(bundle)
    token = "NQ_FORGED_" + uuid.uuid4().hex
    formats = Path(normquiz.formats.__file__)  # the package that grades (this checkout)
    new_module = formats.with_name(f"_{token.lower()}.py")
    pth = Path(sysconfig.get_paths()["purelib"]) / f"{token.lower()}.pth"
    locked = grader.package / "formats.py"  # the copy setup.sh installed and locked
    # What a forger would append: full marks, for this submission and every next one.
    # Guarded by a variable only this test sets, should the walls ever fail.
    payload = (f"\nimport os as _os\nif _os.environ.get({token!r}):\n"
               "    def render(result, fmt, elapsed=0.0):\n"
               "        return '{\"score\": 17.0, \"max_score\": 17.0, \"tests\": []}'\n")
    before = {p: p.read_bytes() for p in (formats, locked)}
    source = stubs() + textwrap.dedent(f"""\

        for path, text in [({str(formats)!r}, {payload!r}), ({str(locked)!r}, {payload!r}),
                           ({str(new_module)!r}, {payload!r}), ({str(pth)!r}, "import os\\n")]:
            try:
                with open(path, "a") as f:
                    f.write(text)
            except Exception:
                pass
        """)
    try:
        results = grader.grade(learner_files(tmp_path, source), env={token: "1"})
        assert {p: p.read_bytes() for p in before} == before
        assert not new_module.exists() and not pth.exists()
        assert set(code_scores(results).values()) == {0.0}
        assert results["score"] < results["max_score"]
    finally:  # never leave a forged file in the tree or the environment
        for path, data in before.items():
            if path.read_bytes() != data:
                path.write_bytes(data)
        new_module.unlink(missing_ok=True)
        pth.unlink(missing_ok=True)


def test_grading_imports_all_of_normquiz_before_the_worker_starts(tmp_path):
    # Learner code runs as soon as the worker has started: any part of normquiz the
    # grading process imported after that could be one the learner's code had written.
    learners.with_mistake(default_catalog(), TOPIC, tmp_path / "ws", "layernorm_forward",
                          "unbiased-variance")  # the diagnosis runs too
    probe = textwrap.dedent("""\
        import json, sys
        def ours():
            return sorted(m for m in sys.modules if m == "normquiz" or m.startswith("normquiz."))
        loaded = []
        def hook(event, args):
            if (event == "subprocess.Popen" and not loaded
                    and "normquiz.sandbox.worker" in " ".join(map(str, args[1]))):
                loaded.append(ours())
        sys.addaudithook(hook)
        from normquiz.cli import cli
        code = None
        try:
            cli(["grade", "--format", "gradescope", "--require-isolation"], prog_name="normquiz")
        except SystemExit as e:
            code = e.code
        with open(sys.argv[1], "w") as f:
            json.dump({"code": code, "at_start": loaded[0] if loaded else None,
                       "after": ours()}, f)
        """)
    report = tmp_path / "imports.json"
    proc = subprocess.run([sys.executable, "-c", probe, str(report)], cwd=tmp_path / "ws",
                          capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != UNSANDBOXED_ENV})
    data = json.loads(report.read_text())
    assert data["code"] == 1, proc.stderr  # graded: one exercise failed
    assert json.loads(proc.stdout)["score"] < TOTAL
    assert data["at_start"] is not None, "no worker was started"
    assert "normquiz.formats" in data["at_start"]
    assert sorted(set(data["after"]) - set(data["at_start"])) == []


# ---------------------------------------------------------------- isolation required


def fake_normquiz(tmp: Path) -> tuple[str, Path]:
    """PATH with a stand-in normquiz first, and the file it logs its calls to."""
    fake, log = tmp / "fakebin", tmp / "calls.log"
    fake.mkdir()
    (fake / "normquiz").write_text(FAKE_NORMQUIZ.format(python=sys.executable, log=str(log),
                                                        env=UNSANDBOXED_ENV))
    (fake / "normquiz").chmod(0o755)
    return os.pathsep.join([str(fake), BIN, os.environ["PATH"]]), log


def grade_calls(log: Path) -> list[tuple[list[str], str | None]]:
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return [(args, env) for args, env in calls if args[0] == "grade"]


def test_only_an_unsandboxed_bundle_grades_without_every_layer(bundle, autograder, tmp_path):
    wheel = bundled_wheel(bundle, tmp_path)
    loose = tmp_path / "unsandboxed.zip"
    result = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(loose),
                                      "--wheel", str(wheel), "--unsandboxed"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for zip_path, unsandboxed in ((bundle, False), (loose, True)):
        assert bundle_settings(zip_path)["unsandboxed"] is unsandboxed
    # What run_autograder asks of normquiz: the default bundle requires every layer ...
    path, log = fake_normquiz(tmp_path)
    autograder(bundle, setup=False).grade({"layernorm.py": "x = 1\n"}, path=path)
    (args, _), = grade_calls(log)
    assert "--require-isolation" in args and args[0] == "grade"
    assert args[2:6] == ["--topic", "layernorm", "--seed", "0"] and "gradescope" in args
    # ... and passes NORMQUIZ_UNSANDBOXED=1 from Gradescope's environment on to it ...
    log.unlink()
    autograder(bundle, setup=False).grade({"layernorm.py": "x = 1\n"}, path=path,
                                          env={UNSANDBOXED_ENV: "1"})
    (args, env), = grade_calls(log)
    assert "--require-isolation" in args and env == "1"
    # ... the --unsandboxed bundle does not require them.
    log.unlink()
    autograder(loose, setup=False).grade({"layernorm.py": "x = 1\n"}, path=path)
    (args, _), = grade_calls(log)
    assert "--require-isolation" not in args and args[0] == "grade" and "gradescope" in args


def test_a_refused_grading_scores_0_with_the_reason(bundle, autograder, tmp_path):
    reason = missing_layers_message(["landlock"], {"landlock": {
        "in_force": False, "detail": "Landlock is not supported by this kernel"}})
    path, _ = fake_normquiz(tmp_path)
    results = autograder(bundle, setup=False).grade(
        learner_files(tmp_path, learners.reference_source(TOPIC)), path=path,
        env={"FAKE_REFUSAL": reason})
    assert results["score"] == 0.0 and results["tests"] == []
    assert reason in results["output"]


# ---------------------------------------------------------------- run_autograder, its settings


def test_run_autograder_is_the_packaged_script_with_its_settings_beside_it(bundle):
    with zipfile.ZipFile(bundle) as z:
        script = z.read("run_autograder").decode()
    # The linted module itself, byte for byte: no template, no placeholders left.
    assert script == Path(gradescope_autograder.__file__).read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env python3\n")
    assert bundle_settings(bundle) == {
        "exported_by": f"normquiz {normquiz.__version__}", "topic": "layernorm",
        "module": "layernorm.py", "notebook": "layernorm.ipynb", "seed": 0, "timeout": 5.0,
        "unsandboxed": False, "visibility": "visible", "test_visibility": {},
        "stdout_visibility": "hidden", "content_home": None}


def test_without_its_settings_run_autograder_still_writes_results(bundle, autograder):
    grader = autograder(bundle, setup=False)
    (grader.root / "source" / SETTINGS_NAME).unlink()
    results = grader.grade({"layernorm.py": "x = 1\n"})
    assert results["score"] == 0.0 and SETTINGS_NAME in results["output"]


# ---------------------------------------------------------------- files under another name


@pytest.mark.parametrize("name", ["layernorm (1).py", "Layernorm.py", "my_solution.py"])
def test_a_misnamed_module_is_graded_when_it_is_the_only_candidate(bundle, autograder, tmp_path,
                                                                    name):
    files = learner_files(tmp_path, learners.reference_source(TOPIC))
    files[name] = files.pop("layernorm.py")
    results = autograder(bundle, setup=False).grade(files)
    assert results["score"] == results["max_score"] == TOTAL
    assert f"{name} was graded as layernorm.py" in results["output"]


@pytest.mark.parametrize("name", ["layernorm (2).ipynb", "homework.ipynb"])
def test_a_misnamed_notebook_is_graded_when_it_is_the_only_candidate(bundle, autograder,
                                                                      tmp_path, name):
    learners.notebook_only(TOPIC, tmp_path / "nb")
    results = autograder(bundle, setup=False).grade({name: tmp_path / "nb" / "layernorm.ipynb"})
    assert results["score"] == results["max_score"] == TOTAL
    assert f"{name} was graded as layernorm.ipynb" in results["output"]


@pytest.mark.parametrize("names", [("Layernorm.py", "layernorm (1).py"), ("a.py", "b.py")])
def test_several_candidates_none_named_right_none_is_graded(bundle, autograder, tmp_path, names):
    files = learner_files(tmp_path, learners.reference_source(TOPIC))
    source = files.pop("layernorm.py")
    files.update({name: source for name in names})
    results = autograder(bundle, setup=False).grade(files)
    assert set(code_scores(results).values()) == {0.0}
    assert results["score"] == sum(q.points for q in TOPIC.questions)  # the answers count
    assert all(name in results["output"] for name in names)
    assert "None was graded: keep one named layernorm.py" in results["output"]
    assert "(submit it as" not in results["output"]  # no file was renamed


def test_a_stray_py_file_never_displaces_a_notebook(bundle, autograder, tmp_path):
    learners.notebook_only(TOPIC, tmp_path / "nb")
    results = autograder(bundle, setup=False).grade({
        "layernorm.ipynb": tmp_path / "nb" / "layernorm.ipynb",
        "helpers.py": learners.reference_source(TOPIC).replace("def ", "def _x"),
    })
    assert results["score"] == results["max_score"] == TOTAL
    assert "graded as" not in results["output"] and "helpers.py" not in results["output"]


# ---------------------------------------------------------------- visibility


def test_the_exported_visibility_is_in_results_json(bundle, autograder, tmp_path):
    wheel = bundled_wheel(bundle, tmp_path)
    zip_path = tmp_path / "hidden.zip"
    result = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(zip_path),
                                      "--wheel", str(wheel), "--visibility", "after_due_date",
                                      "--stdout-visibility", "visible"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    files = learner_files(tmp_path, learners.reference_source(TOPIC))
    results = autograder(zip_path, setup=False).grade(files)
    assert results["score"] == TOTAL and len(results["tests"]) == len(TOPIC.exercises)
    assert results["visibility"] == "after_due_date"
    assert {t["visibility"] for t in results["tests"]} == {"after_due_date"}
    assert results["stdout_visibility"] == "visible"
    # The default bundle: visible tests, a hidden log; a failure carries them too.
    path, _ = fake_normquiz(tmp_path)
    failed = autograder(bundle, setup=False).grade(files, path=path,
                                                   env={"FAKE_REFUSAL": "no layers"})
    assert failed["score"] == 0.0
    assert (failed["visibility"], failed["stdout_visibility"]) == ("visible", "hidden")
    bad = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(zip_path),
                                   "--wheel", str(wheel), "--visibility", "later"])
    assert bad.exit_code == 2 and "later" in bad.output


# ---------------------------------------------------------------- dependencies


def test_requirements_are_pinned_to_the_installed_versions(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as z:
        lines = [line for line in z.read("requirements.txt").decode().splitlines()
                 if line and not line.startswith("#")]
    # The dependencies of the bundled wheel (the installed metadata may be older).
    wanted = {re.match(r"[A-Za-z0-9._-]+", r).group(0).lower()
              for r in wheel_requirements(bundled_wheel(bundle, tmp_path))
              if "extra ==" not in r}
    assert {"numpy", "click", "landlockpy"} <= wanted
    pinned = {}
    for line in lines:
        spec, _, marker = line.partition(";")
        found = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", spec.strip())
        assert found, line
        name, version = found.groups()
        assert version == importlib.metadata.version(name), line
        pinned[name.lower()] = marker.strip()
    assert set(pinned) == wanted
    assert pinned["numpy"] == "" and "linux" in pinned.get("landlockpy", "linux")


# `pip download` for the test: logs its arguments, and writes a wheel for each
# pinned requirement into --dest (a real download is slow and needs the network).
FAKE_PIP = """\
#!{python}
import json, pathlib, sys
args = sys.argv[1:]
with open({log!r}, "w") as f:
    json.dump(args, f)
dest = pathlib.Path(args[args.index("--dest") + 1])
for line in pathlib.Path(args[args.index("-r") + 1]).read_text().splitlines():
    if line and not line.startswith("#"):
        name, version = line.split(";")[0].strip().split("==")
        (dest / f"{{name}}-{{version}}-py3-none-any.whl").write_bytes(b"wheel")
"""


def test_bundle_deps_puts_the_wheels_in_the_zip_and_installs_without_an_index(
        bundle, autograder, tmp_path, monkeypatch):
    fake, log = tmp_path / "pip", tmp_path / "pip-args.json"
    fake.write_text(FAKE_PIP.format(python=sys.executable, log=str(log)))
    fake.chmod(0o755)
    monkeypatch.setattr(normquiz.export, "PIP", [str(fake)])
    wheel = bundled_wheel(bundle, tmp_path)
    zip_path = tmp_path / "offline.zip"
    result = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(zip_path),
                                      "--wheel", str(wheel), "--bundle-deps",
                                      "--python-version", "3.10"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "dependency wheel(s)" in result.output
    args = json.loads(log.read_text())
    assert args[0] == "download" and "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.10"
    platforms = {args[i + 1] for i, a in enumerate(args) if a == "--platform"}
    assert "manylinux2014_x86_64" in platforms
    assert all(p.endswith("_x86_64") for p in platforms)
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        setup = z.read("setup.sh").decode()
    numpy = f"wheels/numpy-{importlib.metadata.version('numpy')}-py3-none-any.whl"
    assert numpy in names
    install = " ".join(setup.split("python3 -m pip install", 1)[1].replace("\\\n", " ").split())
    assert f"--no-index --find-links ./wheels -r requirements.txt ./{wheel.name}" in install
    # setup.sh, run: pip was asked to install from the bundled wheels alone, which then go.
    grader = autograder(zip_path)
    assert "--no-index --find-links ./wheels" in (grader.root.parent / "pip.log").read_text()
    assert not (grader.root / "source" / "wheels").exists()
    # Without --bundle-deps, pip reads PyPI and --python-version makes no sense.
    assert "--no-index" not in zipfile.ZipFile(bundle).read("setup.sh").decode()
    bad = CliRunner().invoke(cli, ["export", "gradescope", "layernorm", "-o", str(zip_path),
                                   "--wheel", str(wheel), "--python-version", "3.10"])
    assert bad.exit_code == 2 and "--bundle-deps" in bad.output
