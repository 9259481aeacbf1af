"""docs/instructors.md, followed to the letter in a temporary folder.

Fenced blocks run in order: ```sh blocks are commands (a trailing
`# exit N` gives the expected exit code, 0 otherwise), and blocks whose info
string has `file=PATH` are written to PATH.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "instructors.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_worked_example_works(tmp_path):
    cwd = tmp_path
    outputs = []
    for lang, info, body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        target = re.search(r"file=(\S+)", info)
        if target:
            path = cwd / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            continue
        assert lang == "sh", f"unexpected block {lang}{info}"
        for line in body.strip().splitlines():
            command, _, comment = line.partition("#")
            expected = int(re.search(r"exit (\d+)", comment).group(1)) if "exit" in comment else 0
            words = shlex.split(command)
            if words[0] == "cd":
                cwd = (cwd / words[1]).resolve()
                continue
            assert words[0] == "normquiz", line
            done = subprocess.run([sys.executable, "-m", "normquiz", *words[1:]], cwd=cwd,
                                  capture_output=True, text=True)
            assert done.returncode == expected, f"{line}\n{done.stdout}{done.stderr}"
            outputs.append(done.stdout)
    assert "left to fill in" in outputs[1]                       # check lists the TODOs
    assert "All 1 topic(s) check out." in outputs[2]              # check passes when done
    assert "[subtracts-mean]" in outputs[-1]                      # the learner's diagnosis
    assert "Your function centres each case" in outputs[-1]
