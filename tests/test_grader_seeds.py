"""Grader inputs are drawn fresh on every run, from a grader seed that --grader-seed replays.

With fixed inputs every learner would get the same calls, and a module that
looks its answers up in a table of those calls would score full marks. Here:
that attack fails under any other seed and passes only when its seed is
replayed; `grade --json` reports the seed; and the content holds for every
seed: the reference passes, the stub scores 0, each mistake fails and is
diagnosed as itself, under several fixed grader seeds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import GRADER_SEEDS

from normquiz.content import default_catalog, load_reference
from normquiz.grading import grader_rng, run_graders
from normquiz.sandbox import CallResult
from normquiz.selfcheck import (
    grade_with_seeds,
    mistake_source,
    write_submission,
)

CATALOG = default_catalog()
MISTAKES = [(t, e, m.id) for t in CATALOG.topics() for e in t.code_exercises
            for m in e.mistakes]

# ---------------------------------------------------------------- the lookup-table attack

RECORDED_SEED = 1_234_567
OTHER_SEED = 7_654_321

# The attacker's module: the reference's outputs for the recorded calls, zeros otherwise.
ATTACK = '''
import hashlib

import numpy as np


def _part(a):
    if isinstance(a, np.ndarray):
        return (a.dtype.str, a.shape, a.tobytes().hex())
    if isinstance(a, tuple):
        return tuple(_part(b) for b in a)
    return repr(a)


def _key(name, args, kwargs):
    parts = [name, *(_part(a) for a in args), *(_part(kv) for kv in sorted(kwargs.items()))]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


TABLE = {TABLE}


def layernorm_forward(*args, **kwargs):
    hit = TABLE.get(_key("layernorm_forward", args, kwargs))
    return hit if hit is not None else np.zeros_like(args[0])


def layernorm_backward(*args, **kwargs):
    hit = TABLE.get(_key("layernorm_backward", args, kwargs))
    if hit is not None:
        return hit
    dy, x, gain = args[:3]
    return np.zeros_like(x), np.zeros_like(gain), np.zeros_like(gain)


def layernorm_rnn_step(*args, **kwargs):
    hit = TABLE.get(_key("layernorm_rnn_step", args, kwargs))
    return hit if hit is not None else np.zeros_like(args[1])
'''


def _key(name, args, kwargs):
    """The attacker's key, computed here the way the attacker's module computes it."""
    namespace: dict = {}
    exec(ATTACK.replace("TABLE = {TABLE}", "TABLE = {}"), namespace)
    return namespace["_key"](name, tuple(args), kwargs)


def _literal(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ",)"
    return f"np.array({np.asarray(value).tolist()!r})"


class RecordingSandbox:
    """Stands in for the learner's worker: answers with the reference, records every call."""

    def __init__(self, reference) -> None:
        self.reference = reference
        self.calls: list[tuple[str, tuple, dict, object]] = []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def call(self, func, args, kwargs, timeout):
        args, kwargs = copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs))
        value = getattr(self.reference, func)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        self.calls.append((func, tuple(args), kwargs, value))
        return CallResult(value, args, kwargs)


def record_calls(topic, grader_seed: int) -> list[tuple[str, tuple, dict, object]]:
    """Every call the graders of `topic` make when grading the reference with `grader_seed`."""
    reference = load_reference(topic)
    sandbox = RecordingSandbox(reference)
    outcomes = run_graders(topic, topic.code_exercises, sandbox, reference, 10.0, grader_seed)
    assert all(all(c.passed for c in o.checks) for o in outcomes.values())
    return sandbox.calls


def attack_source(topic, grader_seed: int) -> str:
    table = {_key(name, args, kwargs): value
             for name, args, kwargs, value in record_calls(topic, grader_seed)}
    body = ",\n    ".join(f"{k!r}: {_literal(v)}" for k, v in table.items())
    return ATTACK.replace("TABLE = {TABLE}", "TABLE = {\n    " + body + ",\n}")


def code_results(output: str) -> tuple[dict, dict[str, dict]]:
    data = json.loads(output)
    return data, {e["id"]: e for e in data["exercises"] if e["kind"] == "code"}


def test_a_lookup_table_of_one_runs_inputs_fails_every_other_run(run, tmp_path):
    topic = CATALOG.topic("layernorm")
    assert run("start", "layernorm", "ws").exit_code == 0
    ws = tmp_path / "ws"
    (ws / "layernorm.py").write_text(attack_source(topic, RECORDED_SEED), encoding="utf-8")

    # Replayed: the very inputs it recorded, so the table answers every call.
    data, replayed = code_results(run("grade", "--json", "--grader-seed", str(RECORDED_SEED),
                                      cwd=ws).stdout)
    assert data["grader_seed"] == RECORDED_SEED
    assert set(replayed) == {e.id for e in topic.code_exercises}
    assert all(r["status"] == "passed" and r["score"] == r["max_score"]
               for r in replayed.values()), replayed

    # Any other seed: new inputs the table does not hold.
    for seed in (OTHER_SEED, None):
        args = ["grade", "--json"] + (["--grader-seed", str(seed)] if seed is not None else [])
        data, results = code_results(run(*args, cwd=ws).stdout)
        assert isinstance(data["grader_seed"], int)
        if data["grader_seed"] == RECORDED_SEED:  # a fresh draw hit it: 1 chance in 2**32
            continue
        for r in results.values():
            assert r["status"] == "failed" and r["score"] < r["max_score"] / 2, r


def test_recorded_inputs_are_those_the_seed_gives_again():
    topic = CATALOG.topic("layernorm")
    first, again = record_calls(topic, RECORDED_SEED), record_calls(topic, RECORDED_SEED)
    other = record_calls(topic, OTHER_SEED)
    keys = [_key(n, a, k) for n, a, k, _ in first]
    assert keys == [_key(n, a, k) for n, a, k, _ in again]
    assert not set(keys) & {_key(n, a, k) for n, a, k, _ in other}


def test_each_check_has_its_own_stream():
    draws = {(s, e, c): grader_rng(s, e, c).random(4).tolist()
             for s in (0, 1) for e in ("center", "scale") for c in ("test_a", "test_b")}
    assert len({tuple(v) for v in draws.values()}) == len(draws)
    assert grader_rng(5, "center", "test_a").random(4).tolist() == \
        grader_rng(5, "center", "test_a").random(4).tolist()


# ---------------------------------------------------------------- grade --json, --grader-seed

WRONG_AXIS = ("import numpy as np\n\ndef center(x):\n    return x - x.mean(axis=0, keepdims=True)\n"
              "\n\ndef scale(x, g):\n    return g * x\n")


@pytest.fixture
def toy_ws(run, tmp_path: Path) -> Path:
    assert run("start", "toy", "ws", "--seed", "7", toy=True).exit_code == 0
    (tmp_path / "ws" / "toy.py").write_text(WRONG_AXIS)
    return tmp_path / "ws"


def failed_messages(output: str) -> list[str]:
    data = json.loads(output)
    return [c["message"] for e in data["exercises"] if e["kind"] == "code"
            for c in e["checks"] if not c["passed"]]


def test_grade_json_prints_a_fresh_grader_seed_that_replays(run, toy_ws):
    seeds = []
    for _ in range(2):
        result = run("grade", "--json", cwd=toy_ws, toy=True)
        assert result.exit_code == 1
        seeds.append(json.loads(result.stdout)["grader_seed"])
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds)
    assert seeds[0] != seeds[1]

    replays = [run("grade", "--json", "--grader-seed", "42", cwd=toy_ws, toy=True).stdout
               for _ in range(2)]
    assert [json.loads(r)["grader_seed"] for r in replays] == [42, 42]
    messages = failed_messages(replays[0])
    assert messages and messages == failed_messages(replays[1])
    # Another seed, other random inputs: the random check's message shows other numbers.
    other = run("grade", "--json", "--grader-seed", "43", cwd=toy_ws, toy=True).stdout
    assert failed_messages(other) != messages


def test_grade_batch_draws_a_seed_per_learner_unless_given(run, tmp_path):
    for name in ("a", "b"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "toy.py").write_text(WRONG_AXIS)
    rosters = []
    for extra in ([], ["--grader-seed", "9"]):
        result = run("grade-batch", "class", "--topic", "toy", "--jobs", "1", "--json",
                     "roster.json", *extra, toy=True)
        assert result.exit_code == 0, result.output
        roster = json.loads((tmp_path / "roster.json").read_text())["learners"]
        rosters.append({row["learner"]: row for row in roster})
    fresh, given = rosters
    assert all(isinstance(row["grader_seed"], int) for row in fresh.values())
    assert fresh["a"]["grader_seed"] != fresh["b"]["grader_seed"]
    assert given["a"]["grader_seed"] == given["b"]["grader_seed"] == 9
    # The same code on the same inputs: the same failing checks, word for word.
    messages = [failed_messages(json.dumps(given[name])) for name in ("a", "b")]
    assert messages[0] and messages[0] == messages[1]


def test_grader_seed_is_null_without_code(run, toy_ws):
    result = run("grade", "toy_choice", "--json", cwd=toy_ws, toy=True)
    assert json.loads(result.stdout)["grader_seed"] is None


def test_grader_seed_must_be_32_bits(run, toy_ws):
    result = run("grade", "--grader-seed", str(2**32), cwd=toy_ws, toy=True)
    assert result.exit_code == 2


# ---------------------------------------------------------------- every mistake, many seeds


@pytest.mark.parametrize("topic, exercise, mistake_id", MISTAKES,
                         ids=[f"{t.slug}:{e.id}:{m}" for t, e, m in MISTAKES])
def test_each_mistake_fails_under_every_seed_and_is_diagnosed_as_itself(
        topic, exercise, mistake_id, tmp_path):
    module = write_submission(tmp_path, topic, mistake_source(topic, exercise, mistake_id))
    first_line = exercise.mistake(mistake_id).feedback.strip().splitlines()[0]
    for seed, result in grade_with_seeds(topic, exercise, module, GRADER_SEEDS):
        assert result.status in ("failed", "error"), (seed, result.status)
        assert result.score < result.max_score, seed
        assert result.mistakes == [mistake_id], (seed, result.feedback)
        assert first_line in result.feedback, seed
