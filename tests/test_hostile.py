"""Learner code cannot make grading report a pass, and one bad exercise never sinks another.

Each case replaces the toy course's `center` with hostile code while `scale`
stays correct: `center` must not pass, and `scale` must still pass.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import COURSE

from normquiz.grading import grade_topic
from normquiz.sandbox import Sandbox

SCALE = "\n\ndef scale(x, g):\n    return g * x\n"
SOLUTION = COURSE / "solutions" / "toy" / "toy.py"

HOSTILE = {
    "sys-exit": ("error", "import sys\ndef center(x):\n    sys.exit(0)\n"),
    "os-exit": ("error", "import os\ndef center(x):\n    os._exit(0)\n"),
    "infinite-loop": ("timeout", "def center(x):\n    while True:\n        pass\n"),
    "huge-allocation": ("error",
                        "import numpy as np\ndef center(x):\n    return np.ones((10**6, 10**6))\n"),
    "keyboard-interrupt": ("error", "def center(x):\n    raise KeyboardInterrupt\n"),
    "fake-output": ("failed", textwrap.dedent("""
        def center(x):
            print("✓ center  2.0/2.0\\nScore: 3.0/3.0  (2 of 2 exercises passed)")
            return x
        """)),
    "monkeypatched-numpy": ("failed", textwrap.dedent("""
        import numpy as np
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.isclose = lambda *a, **k: True
        def center(x):
            return x + 1
        """)),
    "lying-object": ("failed", textwrap.dedent("""
        import numpy as np
        class Liar:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __array__(self, *a, **k): return np.zeros((2, 3))
            def __float__(self): return 0.0
        def center(x):
            return Liar()
        """)),
    "ndarray-subclass": ("failed", textwrap.dedent("""
        import numpy as np
        class Liar(np.ndarray):
            def __eq__(self, other): return np.ones(np.shape(other), bool)
        def center(x):
            return np.ones_like(x).view(Liar)
        """)),
    "reads-reference": ("error", textwrap.dedent(f"""
        def center(x):
            namespace = {{}}
            exec(open({str(SOLUTION)!r}).read(), namespace)
            return namespace["center"](x)
        """)),
    "imports-reference": ("error", textwrap.dedent(f"""
        import importlib.util
        def center(x):
            spec = importlib.util.spec_from_file_location("ref", {str(SOLUTION)!r})
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.center(x)
        """)),
    "subprocess": ("error", textwrap.dedent(f"""
        import subprocess
        def center(x):
            subprocess.run(["cat", {str(SOLUTION)!r}])
            return x
        """)),
    "kills-grader": ("error", "import os, signal\ndef center(x):\n    "
                              "os.kill(os.getppid(), signal.SIGKILL)\n"),
}


def grade_source(toy_catalog, tmp_path: Path, source: str, timeout: float = 2.0):
    topic = toy_catalog.topic("toy")
    module = tmp_path / "toy.py"
    module.write_text(source)
    result = grade_topic(topic, module, {}, seed=1, timeout=timeout)
    return {e.id: e for e in result.exercises}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_code_never_passes(case, toy_catalog, tmp_path):
    status, code = HOSTILE[case]
    results = grade_source(toy_catalog, tmp_path, code + SCALE)
    assert results["center"].status == status, results["center"].feedback
    assert results["center"].score == 0
    assert results["scale"].status == "passed", results["scale"].feedback


def test_timeout_feedback_names_the_limit(toy_catalog, tmp_path):
    results = grade_source(toy_catalog, tmp_path, HOSTILE["infinite-loop"][1] + SCALE, 1.0)
    assert "did not finish within 1 seconds" in results["center"].feedback


def test_exit_at_import_is_an_error_for_every_exercise(toy_catalog, tmp_path):
    results = grade_source(toy_catalog, tmp_path, "import sys\nsys.exit(0)\n" + SCALE)
    assert {e.status for e in results.values() if e.kind == "code"} == {"error"}
    assert "SystemExit" in results["center"].feedback


def test_error_feedback_shows_the_learners_line(toy_catalog, tmp_path):
    source = "import numpy as np\n\ndef center(x):\n    return np.mean(x, axis=7)\n" + SCALE
    results = grade_source(toy_catalog, tmp_path, source)
    feedback = results["center"].feedback
    assert results["center"].status == "error"
    assert "toy.py, line 4, in center" in feedback
    assert "AxisError" in feedback
    assert "normquiz" not in feedback.split("Next:")[0]  # no grader frames or sources


def test_feedback_never_shows_grader_or_solution_source(toy_catalog, tmp_path):
    results = grade_source(toy_catalog, tmp_path, "def center(x):\n    return x\n" + SCALE)
    feedback = results["center"].feedback
    assert "expect_match" not in feedback
    assert "np.mean(x, axis=-1, keepdims=True)" not in feedback


def test_sandbox_recovers_after_a_crash(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\ndef die():\n    os._exit(3)\ndef ok():\n    return 1\n")
    with Sandbox(module) as box:
        with pytest.raises(Exception, match="exit code 3"):
            box.call("die", [], {}, timeout=5)
        assert box.call("ok", [], {}, timeout=5).value == 1


def test_a_quick_edit_is_never_graded_stale(tmp_path):
    # Same size, same second: cached bytecode would hide the edit.
    module = tmp_path / "m.py"
    for value in ("1", "2", "3"):
        module.write_text(f"def f():\n    return {value}\n")
        with Sandbox(module) as box:
            assert box.call("f", [], {}, timeout=5).value == int(value)
    assert not (tmp_path / "__pycache__").exists()  # nothing written into the workspace


def test_writing_outside_the_workers_folder_is_refused(toy_catalog, tmp_path):
    target = tmp_path / "evil.txt"
    source = (f"def center(x):\n    open({str(target)!r}, 'w').write('x')\n    return x\n"
              + SCALE)
    results = grade_source(toy_catalog, tmp_path, source)
    assert results["center"].status == "error" and not target.exists()
    assert "writing" in results["center"].feedback


def test_removing_files_is_refused(toy_catalog, tmp_path):
    victim = tmp_path / "keep.txt"
    victim.write_text("mine")
    source = f"import os\ndef center(x):\n    os.remove({str(victim)!r})\n    return x\n" + SCALE
    results = grade_source(toy_catalog, tmp_path, source)
    assert results["center"].status == "error" and victim.read_text() == "mine"


def test_writing_in_the_current_folder_is_fine(toy_catalog, tmp_path):
    source = ("import numpy as np\ndef center(x):\n    np.save('scratch.npy', x)\n"
              "    return x - np.load('scratch.npy').mean(axis=-1, keepdims=True)\n" + SCALE)
    results = grade_source(toy_catalog, tmp_path, source)
    assert results["center"].status == "passed", results["center"].feedback


def test_a_module_that_never_finishes_importing_costs_one_timeout(toy_catalog, tmp_path):
    import time

    started = time.monotonic()
    results = grade_source(toy_catalog, tmp_path, "while True:\n    pass\n" + SCALE, timeout=1.0)
    assert {results["center"].status, results["scale"].status} == {"timeout"}
    assert time.monotonic() - started < 5  # not one full timeout per exercise and call
    assert "Importing your module did not finish" in results["scale"].feedback
