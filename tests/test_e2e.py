"""The learner's loop on the real layernorm topic, as the README shows it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import learners
import pytest
import yaml

from normquiz.content import default_catalog

TOPIC = default_catalog().topic("layernorm")


def correct_answers(seed: int, topic=TOPIC) -> dict:
    return learners.correct_answers(topic, seed)


def with_unbiased_variance(source: str) -> str:
    """The reference with the walk-through's mistake: np.var(ddof=1) in layernorm_forward."""
    buggy = ("\n\ndef layernorm_forward(x, gain, bias, eps=1e-5):\n"
             "    mu = x.mean(axis=-1, keepdims=True)\n"
             "    var = np.var(x, axis=-1, ddof=1, keepdims=True)\n"
             "    return gain * (x - mu) / np.sqrt(var + eps) + bias\n")
    return source + buggy


def test_walk_through(run, tmp_path):
    assert "layernorm" in run("list").output
    started = run("start", "layernorm", "--seed", "42")
    assert started.exit_code == 0, started.output
    ws = tmp_path / "layernorm"
    assert {"layernorm.py", "answers.yaml", "README.md", ".normquiz.json"} <= {
        p.name for p in ws.iterdir()}

    blank = run("grade", cwd=ws)
    assert blank.exit_code == 1
    assert "Score: 0.0/" in blank.output

    (ws / "layernorm.py").write_text(with_unbiased_variance(TOPIC.solution_path.read_text()))
    one = run("grade", "layernorm_forward", cwd=ws)
    assert one.exit_code == 1
    assert "[unbiased-variance]" in one.output
    mistake = TOPIC.exercise("layernorm_forward").mistake("unbiased-variance")
    assert mistake.feedback.strip().splitlines()[0] in one.output
    assert "normquiz hint layernorm_forward" in one.output

    hint = run("hint", "layernorm_forward", cwd=ws)
    assert hint.exit_code == 0 and "Hint 1 of" in hint.output
    explain = run("explain", "layernorm_forward", cwd=ws)
    assert explain.exit_code == 0 and "[unbiased-variance]" in explain.output

    (ws / "layernorm.py").write_text(TOPIC.solution_path.read_text())
    (ws / "answers.yaml").write_text(yaml.safe_dump(correct_answers(42)))
    done = run("grade", cwd=ws)
    assert done.exit_code == 0, done.output
    total = sum(e.points for e in TOPIC.exercises)
    assert f"Score: {total:.1f}/{total:.1f}" in done.output

    data = json.loads(run("grade", "--json", cwd=ws).output)
    assert data["topic"] == "layernorm" and data["score"] == data["max_score"] == total
    assert [e["id"] for e in data["exercises"]] == [e.id for e in TOPIC.exercises]
    assert {e["status"] for e in data["exercises"]} == {"passed"}


def test_walk_through_with_the_installed_command(tmp_path):
    """The same loop through a real process, from a folder outside the repository."""

    def normquiz(*args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "normquiz", *args], cwd=cwd,
                              capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})

    assert normquiz("start", "layernorm", "--seed", "3", cwd=tmp_path).returncode == 0
    ws = tmp_path / "layernorm"
    assert normquiz("grade", cwd=ws).returncode == 1
    (ws / "layernorm.py").write_text(TOPIC.solution_path.read_text())
    (ws / "answers.yaml").write_text(yaml.safe_dump(correct_answers(3)))
    done = normquiz("grade", cwd=ws)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\x1b[" not in done.stdout  # not a terminal: no colors


@pytest.mark.parametrize("topic", default_catalog().topics(), ids=lambda t: t.slug)
def test_every_topic_from_blank_to_full_marks(run, tmp_path, topic):
    assert run("start", topic.slug, "--seed", "8").exit_code == 0
    ws = tmp_path / topic.slug
    blank = json.loads(run("grade", "--json", cwd=ws).output)
    assert blank["score"] == 0 and blank["max_score"] == sum(e.points for e in topic.exercises)
    if topic.module:
        (ws / topic.module).write_text(topic.solution_path.read_text())
    (ws / "answers.yaml").write_text(yaml.safe_dump(correct_answers(8, topic)))
    done = run("grade", cwd=ws)
    assert done.exit_code == 0, done.output
    assert "All exercises passed" in done.output


def test_content_outside_the_package_via_normquiz_path(run, tmp_path):
    from helpers import COURSE

    env = {"NORMQUIZ_PATH": str(COURSE)}
    listing = run("list", env=env)
    assert "toy" in listing.output and "layernorm" in listing.output
    assert run("start", "toy", "--seed", "2", env=env).exit_code == 0
    assert run("grade", "center", cwd=tmp_path / "toy", env=env).exit_code == 1
