"""The learner's files are read safely: answers.yaml, the notebook and the state file.

Whatever a learner's folder holds (an alias bomb, invalid UTF-8, a huge file,
a state file with odd values), every command that reads it ends with one
`Error: ...` paragraph naming the file and exit code 2: never a traceback,
never a blow-up, and never a change to the learner's bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import COURSE

import normquiz
from normquiz import learnerfiles
from normquiz.learnerfiles import ANSWERS_CAP, NOTEBOOK_CAP, STATE_CAP
from normquiz.workspace import STATE_FILE


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" answers.yaml: a list of 9 strings, then `levels` levels of `width`
    aliases each to the level below.

    About 480 bytes; expanded, toy_mean's answer would hold 9**10 (3.5 billion) strings.
    """
    lines = ["toy_mean:", "  - &a [" + ", ".join(['"lol"'] * width) + "]"]
    names = "abcdefghijklmnopqrstuvwxyz"
    for i in range(1, levels + 1):
        lines.append(f"  - &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def ws(run, tmp_path: Path) -> Path:
    result = run("start", "toy", "ws", "--seed", "7", toy=True)
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a folder, by name, with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_error(result, *names: str) -> None:
    """Exit 2, one `Error:` paragraph naming each of `names`, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for name in names:
        assert name in result.output, result.output


# ---------------------------------------------------------------- answers.yaml


def test_the_alias_bomb_is_small():
    text = alias_bomb()
    assert len(text.encode()) < 600 and text.count("*") == 9 * 9


def test_alias_bomb_in_a_real_process_under_a_memory_limit(ws):
    """`normquiz grade` as a process limited to 1 GiB of address space: exit 2 in seconds."""
    import resource

    (ws / "answers.yaml").write_text(alias_bomb())
    before = snapshot(ws)
    package_parent = str(Path(normquiz.__file__).resolve().parents[1])
    env = dict(os.environ, NO_COLOR="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [package_parent,
                                                        os.environ.get("PYTHONPATH")])))
    env.pop("NORMQUIZ_PATH", None)

    def limit_memory() -> None:  # runs in the child, before normquiz starts
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "normquiz", "--content", str(COURSE), "grade"],
                          cwd=ws, env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=limit_memory)
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert proc.stderr.startswith("Error: answers.yaml, line 2: an anchor (&a)"), output
    assert "Traceback" not in output and "MemoryError" not in output
    assert elapsed < 20, f"{elapsed:.1f} s"
    assert snapshot(ws) == before


@pytest.mark.parametrize("args", [["grade"], ["grade", "toy_mean"], ["quiz", "toy"]],
                         ids=["grade", "grade-one", "quiz"])
def test_alias_bomb_in_every_command_that_reads_answers(run, ws, args):
    (ws / "answers.yaml").write_text(alias_bomb())
    before = snapshot(ws)
    started = time.monotonic()
    result = run(*args, cwd=ws, toy=True, input="b\n0.5\n")
    assert time.monotonic() - started < 20
    assert_error(result, "answers.yaml, line 2", "anchors and aliases are not allowed")
    assert snapshot(ws) == before  # the quiz recorded nothing into the file it refused


def test_alias_bomb_typed_into_the_quiz_is_not_an_answer(run, ws):
    # The same bomb on one line, as a flow list, typed (piped) as the answer to toy_mean.
    flow = "[" + ", ".join(line.strip()[2:] for line in alias_bomb().splitlines()[1:]) + "]"
    before = snapshot(ws)
    started = time.monotonic()
    result = run("quiz", "toy", cwd=ws, toy=True, input=flow + "\n")
    assert time.monotonic() - started < 20
    assert result.exit_code == 0, result.output
    assert "Not an answer: expected a list of 2 numbers" in result.output
    assert "Traceback" not in result.output
    assert snapshot(ws)["answers.yaml"] == before["answers.yaml"]


def test_a_single_alias_is_refused_too(run, ws):
    (ws / "answers.yaml").write_text("toy_choice: &c b\ntoy_mean: *c\n")
    result = run("grade", "toy_choice", cwd=ws, toy=True)
    assert_error(result, "answers.yaml, line 1", "an anchor (&c)")
    (ws / "answers.yaml").write_text("toy_choice: b\ntoy_mean: [*c]\n")
    result = run("grade", "toy_choice", cwd=ws, toy=True)
    assert_error(result, "answers.yaml, line 2", "an alias (*c)")


def test_invalid_utf8_in_answers_yaml(run, ws):
    (ws / "answers.yaml").write_bytes(b"toy_mean: null\ntoy_choice: \"caf\xe9\"\n")
    before = snapshot(ws)
    for args in (["grade"], ["grade", "toy_choice"], ["quiz", "toy"]):
        result = run(*args, cwd=ws, toy=True, input="b\n")
        assert_error(result, "answers.yaml, line 2, column 17", "not valid UTF-8", "0xe9")
    assert snapshot(ws) == before


@pytest.mark.parametrize("text, message", [
    ("toy_mean: null\ntoy_choice: \"\x00\"\n", "line 2: YAML does not allow the control"),
    ("toy_mean: " + "9" * 5000 + "\n", "line 1: this value cannot be read"),
    ("toy_mean: 2001-13-45\n", "line 1: this value cannot be read"),
    ("toy_mean: " + "[" * 100_000 + "\n", "nested too deeply"),
], ids=["control-character", "5000-digits", "13th-month", "deep"])
def test_odd_yaml_is_an_error_not_a_traceback(run, ws, text, message):
    (ws / "answers.yaml").write_text(text)
    assert_error(run("grade", "toy_mean", cwd=ws, toy=True), "answers.yaml", message)


def test_oversized_answers_yaml(run, ws):
    answers = ws / "answers.yaml"
    answers.write_text(answers.read_text() + "#" * ANSWERS_CAP + "\n")
    before = snapshot(ws)
    result = run("grade", cwd=ws, toy=True)
    assert_error(result, "answers.yaml is larger than the 1.0 MiB")
    assert snapshot(ws) == before


def test_answers_yaml_that_is_a_fifo_does_not_hang(run, ws):
    answers = ws / "answers.yaml"
    answers.unlink()
    os.mkfifo(answers)
    result = run("grade", "toy_mean", cwd=ws, toy=True)
    assert_error(result, "answers.yaml is not a regular file")


def test_a_file_growing_while_read_cannot_pass_the_cap(tmp_path, monkeypatch):
    path = tmp_path / "answers.yaml"
    path.write_bytes(b"#" * (ANSWERS_CAP + 10))
    real_fstat = os.fstat

    def small_fstat(fd):  # the size seen before reading: still under the cap
        info = list(real_fstat(fd))
        info[6] = 10  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(learnerfiles.os, "fstat", small_fstat)
    with pytest.raises(learnerfiles.WorkspaceError, match="larger than"):
        learnerfiles.read_bytes(path, ANSWERS_CAP, "answers.yaml", "")


def test_answers_yaml_with_anchors_is_fine_for_manifests_only(tmp_path):
    # Instructor content keeps the YAML it always had: anchors parse in manifests.
    from normquiz.content import parse_yaml

    data, _ = parse_yaml("a: &x [1, 2]\nb: *x\n", "topic.yaml")
    assert data == {"a": [1, 2], "b": [1, 2]}


# ---------------------------------------------------------------- the notebook


@pytest.fixture
def nb_ws(run, tmp_path: Path) -> Path:
    result = run("start", "toy", "nb", "--seed", "7", "--notebook", toy=True)
    assert result.exit_code == 0, result.output
    return tmp_path / "nb"


def test_invalid_utf8_in_the_notebook(run, nb_ws):
    notebook = nb_ws / "toy.ipynb"
    data = notebook.read_bytes()
    at = data.index(b"def center")
    notebook.write_bytes(data[:at] + b"\xff" + data[at:])
    line = data[:at].count(b"\n") + 1
    before = snapshot(nb_ws)
    result = run("grade", "toy.ipynb", cwd=nb_ws, toy=True)
    assert_error(result, f"toy.ipynb, line {line}, column", "not valid UTF-8", "0xff")
    assert snapshot(nb_ws) == before


def test_oversized_notebook(run, nb_ws):
    notebook = nb_ws / "toy.ipynb"
    data = json.loads(notebook.read_text())
    data["metadata"]["padding"] = "x" * NOTEBOOK_CAP
    notebook.write_text(json.dumps(data))
    before = snapshot(nb_ws)
    result = run("grade", "toy.ipynb", cwd=nb_ws, toy=True)
    assert_error(result, "toy.ipynb is larger than the 20.0 MiB", "Clear")
    assert snapshot(nb_ws) == before


@pytest.mark.parametrize("text", [
    '{"cells": [1], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    "[1, 2]",
    "[" * 100_000,
], ids=["cell-not-an-object", "list", "deep"])
def test_odd_notebook_json(run, nb_ws, text):
    (nb_ws / "toy.ipynb").write_text(text)
    assert_error(run("grade", "toy.ipynb", cwd=nb_ws, toy=True), "toy.ipynb")


# ---------------------------------------------------------------- the state file

ODD_STATES = {
    "seed-string": {"topic": "toy", "seed": "x"},
    "seed-negative": {"topic": "toy", "seed": -1},
    "seed-huge": {"topic": "toy", "seed": 10**40},
    "seed-bool": {"topic": "toy", "seed": True},
    "hints-list": {"topic": "toy", "seed": 7, "hints_shown": []},
    "hints-string-count": {"topic": "toy", "seed": 7, "hints_shown": {"a": "b"}},
    "hints-negative": {"topic": "toy", "seed": 7, "hints_shown": {"center": -2}},
    "progress-list": {"topic": "toy", "seed": 7, "progress": []},
    "progress-number": {"topic": "toy", "seed": 7, "progress": {"x": 3}},
    "progress-status": {"topic": "toy", "seed": 7,
                        "progress": {"center": {"status": "great", "score": 1}}},
    "progress-score": {"topic": "toy", "seed": 7,
                       "progress": {"center": {"status": "passed", "score": "1"}}},
    "topic-number": {"topic": 5, "seed": 7},
    "topic-path": {"topic": "../toy", "seed": 7},
    "not-an-object": [1, 2, 3],
    "truncated": '{"topic": "toy", "seed": 7, "hints_',
    "nan-score": '{"topic": "toy", "seed": 7, "progress": {"center": '
                 '{"status": "passed", "score": NaN}}}',
    "digits": '{"topic": "toy", "seed": ' + "9" * 5000 + "}",
    "deep": "[" * 100_000,
    "invalid-utf8": b'{"topic": "to\xffy", "seed": 7}',
    "oversized": '{"topic": "toy", "seed": 7, "x": "' + "x" * STATE_CAP + '"}',
}


def state_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()


@pytest.mark.parametrize("case", list(ODD_STATES))
@pytest.mark.parametrize("args", [["list"], ["hint", "center"], ["grade"]],
                         ids=["list", "hint", "grade"])
def test_odd_state_file(run, ws, case, args):
    state = ws / STATE_FILE
    state.write_bytes(state_bytes(ODD_STATES[case]))
    before = snapshot(ws)
    result = run(*args, cwd=ws, toy=True)
    assert_error(result, STATE_FILE, "normquiz start")
    assert snapshot(ws) == before


@pytest.mark.parametrize("args", [["explain", "center"], ["quiz", "toy"],
                                  ["grade", "toy_mean"], ["hint", "center", "--all"]],
                         ids=["explain", "quiz", "grade-one", "hint-all"])
def test_odd_state_file_in_other_commands(run, ws, args):
    state = ws / STATE_FILE
    state.write_bytes(state_bytes(ODD_STATES["hints-string-count"]))
    before = snapshot(ws)
    result = run(*args, cwd=ws, toy=True, input="b\n")
    assert_error(result, STATE_FILE, "'hints_shown' → 'a' must be a count")
    assert snapshot(ws) == before


def test_the_message_says_what_is_wrong_and_what_to_do(run, ws):
    (ws / STATE_FILE).write_text(json.dumps({"topic": "toy", "seed": "x"}))
    output = run("list", cwd=ws, toy=True).output
    assert output.count("\n") == 1  # one paragraph
    assert "the field 'seed' must be a whole number" in output
    assert "not a string 'x'" in output
    assert "'normquiz start toy . --force'" in output


def test_start_force_keeps_a_broken_state_file(run, ws):
    broken = state_bytes(ODD_STATES["seed-string"])
    (ws / STATE_FILE).write_bytes(broken)
    result = run("start", "toy", str(ws), "--force", toy=True)
    assert result.exit_code == 0, result.output
    assert f"{STATE_FILE}.broken" in result.output and "could not be used" in result.output
    assert (ws / f"{STATE_FILE}.broken").read_bytes() == broken
    # The fresh state file has the seed recorded in answers.yaml, and works.
    assert json.loads((ws / STATE_FILE).read_text())["seed"] == 7
    assert run("hint", "center", cwd=ws, toy=True).exit_code == 0
    # A second broken one never overwrites the first one kept.
    (ws / STATE_FILE).write_bytes(b"[")
    assert run("start", "toy", str(ws), "--force", toy=True).exit_code == 0
    assert (ws / f"{STATE_FILE}.broken").read_bytes() == broken
    assert (ws / f"{STATE_FILE}.broken-2").read_bytes() == b"["


def test_start_refuses_a_seed_out_of_range(run, tmp_path):
    result = run("start", "toy", "ws", "--seed", str(10**40), toy=True)
    assert_error(result, "--seed must be a whole number")
    assert not (tmp_path / "ws").exists()


def test_a_valid_state_file_still_loads(run, ws):
    (ws / STATE_FILE).write_text(json.dumps({
        "normquiz": "0.1.0", "topic": "toy", "seed": 0, "hints_shown": {"center": 1},
        "progress": {"center": {"status": "passed", "score": 2.0, "max_score": 2.0},
                     "scale": {"status": "failed", "score": 0, "max_score": 1}}}))
    result = run("list", cwd=ws, toy=True)
    assert result.exit_code == 0, result.output
    assert "✓ center" in result.output
    result = run("hint", "center", cwd=ws, toy=True)
    assert "Hint 2 of" in result.output


# ---------------------------------------------------------------- grade-batch


def test_broken_learner_files_cost_what_they_hold_in_grade_batch(run, tmp_path):
    root = tmp_path / "class"
    for name in ("bomb", "state", "notebook", "fine"):
        assert run("start", "toy", str(root / name), "--seed", "7", toy=True).exit_code == 0
    (root / "bomb" / "answers.yaml").write_text(alias_bomb())
    (root / "state" / STATE_FILE).write_text(json.dumps({"topic": "toy", "seed": -1}))
    (root / "notebook" / "toy.ipynb").write_bytes(b'{"cells": "\xff"}')
    before = {p.name: snapshot(p) for p in root.iterdir()}
    result = run("grade-batch", str(root), "--topic", "toy", "--jobs", "2", "--json",
                 str(tmp_path / "roster.json"), toy=True)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = {r["learner"]: r for r in json.loads((tmp_path / "roster.json").read_text())
            ["learners"]}
    assert rows["fine"]["status"] == "graded", rows["fine"]
    # answers.yaml costs the questions only; the code is graded.
    bomb = {e["id"]: e for e in rows["bomb"]["exercises"]}
    assert rows["bomb"]["status"] == "graded"
    assert bomb["toy_mean"]["status"] == "error"
    assert "answers.yaml, line 2: an anchor (&a)" in bomb["toy_mean"]["feedback"]
    assert bomb["center"]["status"] == "unanswered"  # the stub, graded as such
    expected = {"state": "the field 'seed' must be a whole number",
                "notebook": "toy.ipynb, line 1, column 12 (byte 11): this is not valid UTF-8"}
    for name, message in expected.items():
        assert rows[name]["status"] == "error", rows[name]
        assert message in rows[name]["error"], rows[name]["error"]
    assert {p.name: snapshot(p) for p in root.iterdir()} == before
