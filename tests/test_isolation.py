"""Learner code that tries what it must not, with the audit hook undone first.

The audit hook in the worker is plain Python: code in the same process can
rewrite it. Every attack here therefore starts by disarming it (UNDO_HOOK),
so what is tested is the operating system's walls: Landlock, seccomp, the
rlimits and the unprivileged user. Each test asserts the fact (the file not
read, the marker not written, the process alive), not the message.

Under CI on Linux every layer must be in force: the tests fail, not skip.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import COURSE, needs

from normquiz.content import builtin_root
from normquiz.grading import grade_topic
from normquiz.sandbox import Sandbox
from normquiz.sandbox.isolation import LAYERS, missing
from normquiz.sandbox.runner import probe_isolation

REFERENCE = builtin_root() / "solutions" / "layernorm" / "layernorm.py"
TOY_REFERENCE = COURSE / "solutions" / "toy" / "toy.py"

# Undo everything the audit hook holds: its module globals and its closure cells.
UNDO_HOOK = textwrap.dedent("""
    import gc, sys
    for _w in (sys.modules.get("__main__"), sys.modules.get("normquiz.sandbox.worker")):
        if hasattr(_w, "BLOCKED_EVENTS"):  # the worker runs as __main__, or forked as itself
            _w.BLOCKED_EVENTS = ("\\0never",)
            _w.FILE_EVENTS = ("\\0never",)
    for _f in gc.get_objects():
        if type(_f).__name__ == "function" and _f.__name__ == "hook" and _f.__closure__:
            for _name, _cell in zip(_f.__code__.co_freevars, _f.__closure__):
                if _name == "no_read":
                    _cell.cell_contents = ()
                elif _name == "may_write":
                    _cell.cell_contents = ("/",)
""")


def attempt(body: str) -> str:
    """A learner function `attack(*args)` that reports what happened, never raising."""
    return (UNDO_HOOK + "\n\ndef attack(*args):\n    try:\n"
            + textwrap.indent(textwrap.dedent(body), "        ")
            + "\n    except BaseException as e:\n"
            "        return 'refused: ' + type(e).__name__ + ': ' + str(e)\n")


def run_attack(tmp_path: Path, body: str, *args, setup: str = "") -> object:
    module = tmp_path / "attack.py"
    module.write_text(setup + attempt(body))
    with Sandbox(module) as box:
        return box.call("attack", list(args), {}, timeout=20).value


@pytest.fixture(scope="module")
def layers():
    report = probe_isolation()
    needs(not missing(report), f"the isolation layers {missing(report)} ({report})")
    return report


def test_every_layer_is_in_force(layers):
    assert all(layers[name]["in_force"] for name in LAYERS), layers
    if os.geteuid() == 0:
        assert "nobody" in layers["user"]["detail"] or "uid 65534" in layers["user"]["detail"]


def test_the_hook_is_really_undone(tmp_path, layers):
    # Without the hook, a refusal comes from the kernel (EACCES/EPERM), not from normquiz.
    result = run_attack(tmp_path, f"return open({str(REFERENCE)!r}).read()")
    assert result.startswith("refused: PermissionError: [Errno 13]"), result


# ---------------------------------------------------------------- 1. paths and descriptors


def test_content_cannot_be_read_through_descriptors(tmp_path, layers):
    content = str(builtin_root())
    result = run_attack(tmp_path, f"""
        import os
        fd = os.open({content!r}, os.O_RDONLY | os.O_DIRECTORY)
        f = os.open("solutions/layernorm/layernorm.py", os.O_RDONLY, dir_fd=fd)
        return os.read(f, 100000).decode()
    """)
    assert "def layernorm_forward" not in result and result.startswith("refused"), result


@pytest.mark.parametrize("call", [
    "os.listdir({hidden!r})", "open({hidden!r} + '/layernorm.py').read()",
    "os.read(os.open('layernorm.py', os.O_RDONLY, dir_fd=os.open({hidden!r}, os.O_PATH)), 99)",
    "os.link({hidden!r} + '/layernorm.py', 'copy.py') or open('copy.py').read()",
    "os.symlink({hidden!r} + '/layernorm.py', 'ln.py') or open('ln.py').read()",
])
def test_hidden_folders_cannot_be_listed_read_or_linked(tmp_path, layers, call):
    hidden = str(REFERENCE.parent)
    result = run_attack(tmp_path, "import os\nreturn " + call.format(hidden=hidden))
    assert isinstance(result, str) and result.startswith("refused"), result
    assert "def layernorm_forward" not in result


@pytest.fixture
def open_folder():
    """A folder anyone may write in: only Landlock, not file permissions, keeps writes out."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="normquiz-victim-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def test_nothing_is_written_outside_the_workers_folder(tmp_path, layers, open_folder):
    victim = open_folder
    (victim / "layernorm.py").write_text("mine")
    (victim / "layernorm.py").chmod(0o666)
    result = run_attack(tmp_path, f"""
        import os
        out = []
        fd = os.open({str(victim)!r}, os.O_PATH | os.O_DIRECTORY)  # needs no read right
        for name, how in [("marker", os.O_CREAT | os.O_WRONLY), ("layernorm.py", os.O_WRONLY)]:
            try:
                os.write(os.open(name, how, dir_fd=fd), b"forged")
            except OSError as e:
                out.append(e.errno)
        os.symlink({str(victim / 'marker2')!r}, "ln")
        try:
            open("ln", "w").write("forged")
        except OSError as e:
            out.append(e.errno)
        return out
    """)
    assert len(result) == 3, result
    assert (victim / "layernorm.py").read_text() == "mine"
    assert not (victim / "marker").exists() and not (victim / "marker2").exists()


def test_the_learners_own_workspace_is_not_visible(tmp_path, layers):
    (tmp_path / "answers.yaml").write_text("secret: 1\n")
    result = run_attack(tmp_path, f"return open({str(tmp_path / 'answers.yaml')!r}).read()")
    assert "secret" not in result


# ---------------------------------------------------------------- 3. processes, signals, network


def test_no_process_can_be_started_or_outlive_the_grader(tmp_path, layers):
    marker = tmp_path / "child-was-here"
    result = run_attack(tmp_path, f"""
        import os, _posixsubprocess
        out = []
        for start in ("fork", "system", "posix_spawn", "fork_exec"):
            try:
                if start == "fork":
                    if os.fork() == 0:
                        open({str(marker)!r}, "w").close()
                        os._exit(0)
                elif start == "system":
                    if os.system("touch {marker}") != 0:  # the C library reports, no raise
                        raise OSError("system failed")
                elif start == "posix_spawn":
                    os.posix_spawn("/bin/touch", ["touch", {str(marker)!r}], os.environ)
                else:
                    import subprocess
                    subprocess.Popen(["/bin/sh", "-c", "sleep 1; touch {marker}"],
                                     start_new_session=True)
                out.append(start + " ran")
            except OSError as e:
                out.append(start + " refused")
        return out
    """)
    time.sleep(1.5)
    assert not marker.exists(), result
    assert all(r.endswith("refused") for r in result), result


def test_threads_still_work(tmp_path, layers):
    result = run_attack(tmp_path, """
        import threading
        box = []
        t = threading.Thread(target=lambda: box.append(42))
        t.start(); t.join()
        return box
    """)
    assert result == [42], result


def test_other_processes_cannot_be_signalled(tmp_path, layers):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = run_attack(tmp_path, """
            import os, signal
            out = []
            pid = args[0]
            for how in ("kill", "killpg", "pidfd", "ppid"):
                try:
                    if how == "kill":
                        os.kill(pid, signal.SIGKILL)
                    elif how == "killpg":
                        os.killpg(os.getpgid(pid), signal.SIGKILL)
                    elif how == "pidfd":
                        signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL)
                    else:
                        os.kill(os.getppid(), signal.SIGINT)
                    out.append(how + " sent")
                except OSError:
                    out.append(how + " refused")
            return out
        """, victim.pid)
        time.sleep(0.2)
        assert victim.poll() is None, result  # alive
        assert all(r.endswith("refused") for r in result), result
    finally:
        victim.kill()
        victim.wait()


def test_no_network(tmp_path, layers):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.5)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    try:
        # Through the socket module where the worker can import it, and straight
        # through libc (ctypes is loaded in every worker) where it cannot.
        result = run_attack(tmp_path, """
            import ctypes
            out = []
            try:
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(b"forged", ("127.0.0.1", args[0]))
                out.append("udp sent")
            except (OSError, ImportError):
                out.append("udp refused")
            try:
                import socket
                socket.create_connection(("127.0.0.1", args[1]), timeout=1)
                out.append("tcp connected")
            except (OSError, ImportError):
                out.append("tcp refused")
            fd = ctypes.CDLL(None, use_errno=True).socket(2, 2, 0)  # AF_INET, SOCK_DGRAM
            out.append("libc socket refused" if fd < 0 else "libc socket made")
            return out
        """, server.getsockname()[1], listener.getsockname()[1])
        with pytest.raises(socket.timeout):
            server.recvfrom(100)
        with pytest.raises(socket.timeout):
            listener.accept()
        assert result == ["udp refused", "tcp refused", "libc socket refused"], result
    finally:
        server.close()
        listener.close()


def test_resource_limits_hold(tmp_path, layers):
    result = run_attack(tmp_path, """
        import resource
        return [resource.getrlimit(getattr(resource, n))[1] for n in
                ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_CPU",
                 "RLIMIT_NPROC")]
    """)
    import resource

    assert all(v != resource.RLIM_INFINITY for v in result), result
    assert result[3] == 0, result
    raised = run_attack(tmp_path, """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        return "raised"
    """)
    assert raised.startswith("refused"), raised


# ---------------------------------------------------------------- 4. the grader's memory


def test_the_grading_process_memory_cannot_be_read(tmp_path, layers):
    result = run_attack(tmp_path, """
        import os
        out = []
        for name in ("mem", "environ", "cmdline", "maps"):
            try:
                with open(f"/proc/{os.getppid()}/{name}", "rb") as f:
                    f.read(100)
                out.append(name + " read")
            except OSError:
                out.append(name + " refused")
        return out
    """)
    assert all(r.endswith("refused") for r in result), result


# ---------------------------------------------------------------- 2. through grading itself


def test_an_undone_hook_gives_no_marks(toy_catalog, tmp_path, layers):
    topic = toy_catalog.topic("toy")
    module = tmp_path / "toy.py"
    module.write_text(UNDO_HOOK + textwrap.dedent(f"""
        def center(x):
            namespace = {{}}
            exec(open({str(TOY_REFERENCE)!r}).read(), namespace)
            return namespace["center"](x)

        def scale(x, g):
            return g * x
    """))
    result = {e.id: e for e in grade_topic(topic, module, {}, seed=1).exercises}
    assert result["center"].status == "error" and result["center"].score == 0
    assert result["scale"].status == "passed"
    assert not missing(grade_topic(topic, module, {}, seed=1).sandbox)


# ---------------------------------------------------------------- 5. an unfinished session


def toy_workspace(tmp_path: Path, center_body: str) -> Path:
    from normquiz.content import Catalog
    from normquiz.workspace import start

    ws = start(Catalog([COURSE]), "toy", tmp_path / "ws", seed=3).workspace
    (ws.path / "toy.py").write_text(f"def center(x):\n{center_body}\n\n"
                                    "def scale(x, g):\n    return g * x\n")
    return ws.path


def test_ctrl_c_records_nothing_and_exits_130(tmp_path):
    folder = toy_workspace(tmp_path, "    import time\n    time.sleep(30)\n")
    state = (folder / ".normquiz.json").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "normquiz", "--content", str(COURSE),
                             "grade"], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # well into the first check, which sleeps
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "passed" not in out and "✓" not in out
    assert (folder / ".normquiz.json").read_bytes() == state


def test_a_session_that_stops_early_is_an_error_never_a_pass(tmp_path):
    import shutil

    from normquiz.content import Catalog

    course = tmp_path / "course"
    shutil.copytree(COURSE, course)
    grader = course / "grader" / "toy" / "test_center.py"
    text = grader.read_text()
    # The third check of center ends the pytest session: the fourth never runs.
    grader.write_text(text.replace('    """right output, with x left unchanged"""\n',
                                   '    """right output, with x left unchanged"""\n'
                                   '    pytest.exit("stopped", returncode=3)\n', 1))
    assert grader.read_text() != text
    topic = Catalog([course]).topic("toy")
    module = tmp_path / "toy.py"
    module.write_text((course / "solutions" / "toy" / "toy.py").read_text())
    result = {e.id: e for e in grade_topic(topic, module, {}, seed=1).exercises}
    assert result["center"].status == "error" and result["center"].score == 0
    assert "did not finish" in result["center"].feedback


# ---------------------------------------------------------------- 6. replies as memory bombs

GRADE_AND_MEASURE = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from normquiz.content import Catalog
    from normquiz.grading import grade_topic
    course, module = sys.argv[1], sys.argv[2]
    started = time.monotonic()
    result = grade_topic(Catalog([Path(course)]).topic("toy"), Path(module), {}, 1, timeout=5)
    # The peak of this process's own memory: VmHWM (ru_maxrss would keep the peak of the
    # process it was forked from, across exec).
    peak = next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmHWM:"))
    print(json.dumps({"status": {e.id: e.status for e in result.exercises},
                      "score": {e.id: e.score for e in result.exercises},
                      "seconds": time.monotonic() - started, "peak_mib": peak / 1024}))
""")


@pytest.mark.parametrize("megabytes", [128, 24])  # over the byte bound; under it, many items
def test_a_reply_bomb_is_an_error_and_costs_little(tmp_path, megabytes):
    module = tmp_path / "toy.py"
    module.write_text(textwrap.dedent(f"""
        import json, os, sys

        def center(x):
            fd = json.loads(sys.argv[1])["resp_fd"]
            chunk = b"[]," * (1 << 20)
            for _ in range({megabytes} // 3):
                os.write(fd, chunk)
            os.write(fd, b"[]]\\n")
            return x

        def scale(x, g):
            return g * x
    """))
    proc = subprocess.run([sys.executable, "-c", GRADE_AND_MEASURE, str(COURSE), str(module)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"]["center"] in ("error", "timeout") and report["score"]["center"] == 0
    assert report["status"]["scale"] == "passed"
    assert report["peak_mib"] < 300, report
    assert report["seconds"] < 30, report


# ---------------------------------------------------------------- 9. grade-batch


def toy_class(root: Path) -> None:
    """Learners on the toy course, with the ways a roster can be turned against grading."""
    from normquiz.content import Catalog
    from normquiz.selfcheck import reference_source

    right = reference_source(Catalog([COURSE]).topic("toy"))
    for name in ("ann", "bob"):
        (root / name).mkdir(parents=True)
        (root / name / "toy.py").write_text(right)
    elsewhere = root.parent / "elsewhere" / "hw"
    elsewhere.mkdir(parents=True)
    (elsewhere / "toy.py").write_text(right)
    (root / "hw").symlink_to(elsewhere)  # two roster entries, one target
    (root / "hw2").symlink_to(elsewhere)
    (root / "linky").mkdir()
    (root / "linky" / "toy.py").symlink_to(TOY_REFERENCE)
    (root / "pipe").mkdir()
    os.mkfifo(root / "pipe" / "toy.py")  # reading it would block the grading for ever
    # Overwrites a classmate's module at import, then copies the reference in its place.
    (root / "eve").mkdir()
    (root / "eve" / "toy.py").write_text(UNDO_HOOK + textwrap.dedent(f"""
        for path in ({str(root / 'bob' / 'toy.py')!r}, {str(root / 'ann' / 'toy.py')!r}):
            try:
                open(path, "w").write("def center(x):\\n    return 0\\n")
            except OSError:
                pass
        try:
            exec(open({str(root / 'ann' / 'toy.py')!r}).read())
        except OSError:
            pass
    """))


def marked_processes(mark: str) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                if mark.encode() in Path(f"/proc/{name}/environ").read_bytes():
                    pids.append(int(name))
            except OSError:
                continue
    return pids


def test_grade_batch_refuses_links_keeps_names_and_isolates_learners(tmp_path, layers,
                                                                        monkeypatch):
    import uuid

    from normquiz.batch import grade_batch

    root = tmp_path / "class"
    toy_class(root)
    before = {p: p.read_bytes() for p in root.rglob("*.py") if p.is_file() and not p.is_symlink()}
    mark = f"NQ_TEST_{uuid.uuid4().hex}"
    monkeypatch.setenv(mark, "1")  # inherited by every process the batch starts
    result = grade_batch(root, "toy", content=[COURSE], jobs=2)
    rows = {r.learner: r for r in result.learners}
    assert sorted(rows) == ["ann", "bob", "eve", "hw", "hw2", "linky", "pipe"]
    for name in ("hw", "hw2", "linky"):
        assert rows[name].status == "error" and "symbolic link" in rows[name].error
    assert rows["pipe"].status == "error" and "not a regular file" in rows["pipe"].error
    for name in ("ann", "bob"):  # graded on their own, unchanged files
        center = next(e for e in rows[name].result.exercises if e.id == "center")
        assert center.status == "passed", center.feedback
    eve = {e.id: e for e in rows["eve"].result.exercises}
    assert eve["center"].score == 0
    assert {p: p.read_bytes() for p in before} == before
    assert marked_processes(mark) == []  # no worker or fork server outlived the batch
    assert result.to_json()["sandbox"]["complete"] and not result.to_json()["unsandboxed"]


def test_grade_batch_refuses_without_every_layer(tmp_path, run, monkeypatch):
    from normquiz.sandbox import runner

    root = tmp_path / "class"
    toy_class(root)
    report = {"rlimits": {"in_force": True, "detail": "x"},
              "user": {"in_force": True, "detail": "x"},
              "landlock": {"in_force": False, "detail": "kernel too old"},
              "seccomp": {"in_force": True, "detail": "x"}}
    monkeypatch.setattr(runner, "probe_isolation", lambda *a, **k: report)
    csv = tmp_path / "grades.csv"
    refused = run("--content", str(COURSE), "grade-batch", str(root), "--topic", "toy",
                  "--csv", str(csv))
    assert refused.exit_code == 2 and "landlock" in refused.output
    assert "kernel too old" in refused.output and "--unsandboxed" in refused.output
    assert not csv.exists()
    graded = run("--content", str(COURSE), "grade-batch", str(root), "--topic", "toy",
                 "--csv", str(csv), "--unsandboxed")
    assert graded.exit_code == 0 and csv.exists(), graded.output
    assert "Warning: graded without landlock" in graded.output


# ---------------------------------------------------------------- what else a worker could reach


def test_the_environment_holds_no_secrets(tmp_path, layers, monkeypatch):
    monkeypatch.setenv("GRADING_TOKEN", "s3cret")
    monkeypatch.setenv("NORMQUIZ_PATH", str(COURSE))
    result = run_attack(tmp_path, "import os\nreturn dict(os.environ)")
    assert "s3cret" not in json.dumps(result) and "NORMQUIZ_PATH" not in result, result


def test_no_channel_between_workers(tmp_path, layers):
    # System V shared memory and message queues outlive a worker and are shared by every
    # worker of a user: learners of one class could pass answers along.
    result = run_attack(tmp_path, """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return [libc.shmget(0, 4096, 0o1666), libc.msgget(0, 0o1666), libc.semget(0, 1, 0o1666)]
    """)
    assert result == [-1, -1, -1], result


def test_no_worker_outlives_a_killed_grading_process(tmp_path, layers):
    module = tmp_path / "spin.py"
    module.write_text("def spin():\n    while True:\n        pass\n")
    script = ("import sys\nfrom pathlib import Path\nfrom normquiz.sandbox import Sandbox\n"
              "box = Sandbox(Path(sys.argv[1]))\nbox.start()\n"
              "print(box._proc.pid, flush=True)\nbox.call('spin', [], {}, timeout=120)\n")
    grader = subprocess.Popen([sys.executable, "-c", script, str(module)],
                              stdout=subprocess.PIPE, text=True)
    worker = int(grader.stdout.readline())
    time.sleep(1.5)  # the learner's loop is running
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
        if Path(f"/proc/{worker}/stat").read_text().split()[2] == "Z":
            break  # dead, waiting for init to reap it
        time.sleep(0.1)
    alive = Path(f"/proc/{worker}").exists() and \
        Path(f"/proc/{worker}/stat").read_text().split()[2] != "Z"
    assert not alive


# ---------------------------------------------------------------- the grading process's own reading


@pytest.mark.parametrize("source, message", [
    ("x = " + "+".join(["a"] * 300_000) + "\n", "nested too deeply"),
    ("# padding\n" * 400_000, "larger than"),
])
def test_a_module_built_to_choke_the_compiler_is_an_error(tmp_path, run, source, message):
    folder = toy_workspace(tmp_path, "    return x")
    (folder / "toy.py").write_text(source)
    result = run("--content", str(COURSE), "grade", cwd=folder)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_learning_alone_without_a_layer_grades_with_a_notice(tmp_path, run, monkeypatch):
    from normquiz.sandbox import runner

    real = runner.Sandbox._wait_ready

    def without_landlock(self, deadline):
        real(self, deadline)
        self.isolation = {**self.isolation,
                          "landlock": {"in_force": False, "detail": "kernel too old"}}

    monkeypatch.setattr(runner.Sandbox, "_wait_ready", without_landlock)
    folder = toy_workspace(tmp_path, "    return x - x.mean(axis=-1, keepdims=True)")
    result = run("--content", str(COURSE), "grade", "--json", cwd=folder)
    assert result.exit_code == 1  # graded: the questions are not answered
    report = json.loads(result.stdout)
    assert report["sandbox"]["complete"] is False
    assert "landlock" not in report["sandbox"]["layers_in_force"]
    assert "without landlock isolation" in result.stderr
    assert report["exercises"][0]["status"] == "passed"


def test_learner_text_cannot_drive_the_terminal(toy_catalog, tmp_path):
    escape = "\x1b[2J\x1b[32m✓ center  4.0/4.0\u202e"  # real escapes, in the learner's strings
    module = tmp_path / "toy.py"
    module.write_text(f"def center(x):\n    raise ValueError({escape!r})\n\n"
                      f"Odd = type({escape!r}, (), {{}})\n\n"
                      "def scale(x, g):\n    return Odd()\n")
    result = {e.id: e for e in grade_topic(toy_catalog.topic("toy"), module, {}, 1).exercises}
    for e in (result["center"], result["scale"]):
        assert e.status != "passed"
        assert "\x1b" not in e.feedback and "\u202e" not in e.feedback, e.feedback
