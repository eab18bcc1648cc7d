"""The sandbox runs untrusted programs: right answers come back, and every escape (time, memory,
processes, files, network, environment, output) is contained. Limits are small so each case takes
at most a few seconds."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from r1pipe.rewards import sandbox
from r1pipe.rewards.code import code_accuracy, same_output
from r1pipe.rewards.sandbox import SandboxLimits, run_python, sandbox_info

LIMITS = SandboxLimits(
    cpu_seconds=1, wall_seconds=2, memory_mb=256, max_processes=8, max_file_mb=1, max_output_bytes=64 * 1024
)
# For programs that must finish or stop on another limit: a loaded machine (three test workers on
# two cores) can spend a 2 s wall clock before the program has started.
ROOMY = dataclasses.replace(LIMITS, wall_seconds=120)

INFO = sandbox_info()
DROPS_UID = INFO["uid_scheme"] != "same-user"
needs_uid_drop = pytest.mark.skipif(not DROPS_UID, reason=f"sandbox runs as this user here: {INFO}")


@pytest.mark.parametrize(
    ("code", "stdin", "status", "stdout"),
    [
        pytest.param(
            "a, b = map(int, input().split())\nprint(a + b)", "2 40\n", "ok", "42\n", id="stdin-stdout"
        ),
        pytest.param(
            "import sys\nprint(len(sys.stdin.read()))", "x" * 1_000_000, "ok", "1000000\n", id="1MB-stdin"
        ),
        pytest.param("print('never reads')", "y" * 1_000_000, "ok", "never reads\n", id="unread-stdin"),
        pytest.param("raise ValueError('boom')", "", "error", "", id="exception"),
        pytest.param("import sys\nprint('partial')\nsys.exit(3)", "", "error", "partial\n", id="exit-code"),
        pytest.param("while True:\n    pass", "", "timeout", "", id="cpu-loop"),
        pytest.param("import time\ntime.sleep(60)", "", "timeout", "", id="sleep"),
        pytest.param("b = bytearray(4 * 1024**3)", "", "memory", "", id="4GB-at-once"),
        pytest.param("x = [0] * 10**9", "", "memory", "", id="8GB-list"),
        pytest.param("xs = []\nwhile True:\n    xs.append(' ' * 10**6)", "", "memory", "", id="gradual"),
        pytest.param("open('big', 'wb').write(b'0' * (32 << 20))", "", "error", "", id="file-size-limit"),
        pytest.param(
            "open('f.txt', 'w').write('hi')\nprint(open('f.txt').read())", "", "ok", "hi\n", id="own-dir"
        ),
    ],
)
def test_run_python(code, stdin, status, stdout):
    # A loop ends as "timeout" (the sandbox's own wall limit); every other case ends on its own limit.
    result = run_python(code, stdin, LIMITS if status == "timeout" else ROOMY)
    assert result.status == status, result
    if stdout:
        assert result.stdout == stdout


@pytest.mark.parametrize(
    ("code", "passes"),
    [
        ("a, b = map(int, input().split())\nprint(a + b)", True),
        ("a, b = map(int, input().split())\nprint(a * b)", False),
        ("print(42, end='  \\n\\n')", True),  # trailing whitespace does not count
    ],
)
def test_stdin_stdout_program_is_judged_by_its_output(code, passes):
    result = run_python(code, "2 40\n", ROOMY)
    assert result.status == "ok"
    assert same_output(result.stdout, "42\n") is passes


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("while True:\n    print('flood' * 100)", id="stdout"),
        pytest.param("import sys\nwhile True:\n    sys.stderr.write('flood' * 100)", id="stderr"),
        pytest.param("import sys\nsys.stdout.write('x' * (100 << 20))", id="one-write"),
    ],
)
def test_output_flood_is_truncated(code):
    result = run_python(code, "", ROOMY)
    assert result.status == "output_limit", result.status
    assert len(result.stdout.encode()) <= LIMITS.max_output_bytes
    assert len(result.stderr.encode()) <= LIMITS.max_output_bytes


FORK_LOOP = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
SETSID_CHILDREN = "import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(60)\n"
SPAWN_LOOP = (
    "import subprocess, sys\nps = []\nwhile True:\n    try:\n"
    "        ps.append(subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']))\n"
    "    except OSError:\n        pass"
)
SHELL_BOMB = "import subprocess\nsubprocess.run(['bash', '-c', ':(){ :|:& };:'])"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(FORK_LOOP, id="fork-loop"),
        pytest.param("import os\nwhile True:\n    os.fork()", id="fork-until-error"),
        pytest.param(SETSID_CHILDREN, id="setsid-escape"),
        pytest.param(SPAWN_LOOP, id="subprocess-spawn"),
        pytest.param(
            SHELL_BOMB, id="bash-bomb", marks=pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
        ),
    ],
)
def test_fork_bomb_is_contained(code):
    tell = "import os as _os\nprint(_os.getuid(), _os.environ['R1PIPE_SANDBOX_RUN'], flush=True)\n"
    result = run_python(tell + code, "", LIMITS)
    assert result.status in {"timeout", "error", "ok"}
    subprocess.run(["true"], check=True, timeout=60)  # the machine still starts processes
    uid, run = result.stdout.split()[:2]
    assert not [p for p in os.listdir("/proc") if p.isdigit() and f"={run}\0".encode() in sandbox._environ(p)]
    if INFO["uid_scheme"] == "per-run":  # nothing of the run survives it, not even setsid children
        assert not _processes_of(int(uid))


@pytest.mark.skipif(os.geteuid() != 0, reason="the shared 'nobody' uid is root's fallback")
@pytest.mark.parametrize(
    "code", [pytest.param(FORK_LOOP, id="fork-loop"), pytest.param(SETSID_CHILDREN, id="setsid")]
)
def test_shared_nobody_uid_still_contains_forks(code, monkeypatch):
    """Where the private uid range is not mapped (some containers), runs share 'nobody'; their
    processes are then found by the run's tag in their environment."""
    monkeypatch.setattr(sandbox, "_uid_scheme", lambda: ("nobody", sandbox._NOBODY, None))
    result = run_python(
        "import os\nprint(os.getuid(), os.environ['R1PIPE_SANDBOX_RUN'], flush=True)\n" + code, "", LIMITS
    )
    uid, run = result.stdout.split()[:2]
    assert int(uid) == sandbox._NOBODY
    assert not [p for p in os.listdir("/proc") if p.isdigit() and f"={run}\0".encode() in sandbox._environ(p)]


def _processes_of(uid: int) -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit() and sandbox._real_uid(p) == uid]


def _states(pids: list[str]) -> dict[str, str]:
    """Name, state and parent of each survivor, for the failure message."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            found[pid] = " ".join(line for line in lines if line.split(":")[0] in ("Name", "State", "PPid"))
    return found


@pytest.mark.skipif(INFO["uid_scheme"] != "per-run", reason="the sweep needs a private uid per run")
def test_runs_of_a_killed_parent_are_reaped():
    """A reward worker killed mid-run (the guard's timeout) leaves no sandbox process behind: the
    bootstrap dies with its runner, the namespace's init with the bootstrap, and with init every
    process of the namespace; reap_orphans (the guard calls it after a timeout) makes that certain
    before it returns and removes the working directory the runner could not."""
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\ntime.sleep(60)"
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from r1pipe.rewards.sandbox import *; run_python({code!r}, '', SandboxLimits(wall_seconds=60))",
        ]
    )
    try:
        uid = _wait_for_run(driver.pid, processes=4)  # bootstrap, init, program, setsid child
    finally:
        driver.kill()
        driver.wait()
    workdirs = [p for p in Path(tempfile.gettempdir()).glob("r1pipe-sandbox-*") if p.lstat().st_uid == uid]
    assert workdirs  # the killed runner could not remove its run's working directory
    sandbox.reap_orphans()
    assert not _processes_of(uid), _states(_processes_of(uid))
    assert not any(p.exists() for p in workdirs)


def _wait_for_run(pid: int, processes: int) -> int:
    """The private uid of the run started by process `pid`, once it has `processes` processes."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for p in os.listdir("/proc"):
            uid = sandbox._real_uid(p) if p.isdigit() else None
            if uid and uid >= sandbox._UID_BASE and _ppid(p) == pid and len(_processes_of(uid)) >= processes:
                return uid
        time.sleep(0.05)
    raise AssertionError("the sandboxed run did not start")


def _ppid(pid: str) -> int | None:
    with contextlib.suppress(OSError, StopIteration, ValueError):
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        return int(next(line for line in lines if line.startswith("PPid:")).split()[1])
    return None


def _write_attempts(targets: list[str]) -> str:
    return (
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        with open(path, 'a') as f:\n"
        "            f.write('pwned')\n"
        "        print('WROTE', path)\n"
        "    except OSError as e:\n"
        "        print('denied', path, type(e).__name__)\n"
    )


@needs_uid_drop
def test_writing_outside_the_working_dir_fails(tmp_path):
    shared = Path(tempfile.mkdtemp(prefix="r1pipe-victim-"))  # reachable by others unless /tmp is covered
    try:
        shared.chmod(0o755)
        victim = shared / "victim.txt"
        victim.write_text("original")
        victim.chmod(0o644)
        fresh = [str(tmp_path / "new.txt"), str(shared / "new.txt"), f"/var/tmp/r1pipe-new-{os.getpid()}"]
        if INFO["mountns"]:  # /tmp itself is world-writable; only the covering mount protects it
            fresh.append(f"/tmp/r1pipe-new-{os.getpid()}")
        result = run_python(_write_attempts([str(victim), *fresh]), "", ROOMY)
        assert "WROTE" not in result.stdout, result
        assert victim.read_text() == "original"
        assert not [p for p in fresh if os.path.exists(p)]
    finally:
        shutil.rmtree(shared)
        for p in (f"/var/tmp/r1pipe-new-{os.getpid()}", f"/tmp/r1pipe-new-{os.getpid()}"):
            if os.path.exists(p):
                os.remove(p)


@pytest.fixture
def tcp_server():
    """A listener on 127.0.0.1 that records whether anyone connected."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    accepted = []

    def serve():
        while not stop.is_set():
            with contextlib.suppress(OSError):  # accept() times out every 0.1 s to see `stop`
                accepted.append(server.accept())

    stop = threading.Event()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=1)", id="tcp-localhost"
        ),
        pytest.param(
            "import socket\nsocket.create_connection(('8.8.8.8', 53), timeout=1)", id="tcp-internet"
        ),
        pytest.param("import socket\nsocket.getaddrinfo('example.com', 80)", id="dns"),
        pytest.param(
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('127.0.0.1', PORT))",
            id="udp-localhost",
        ),
    ],
)
@pytest.mark.parametrize("namespaces", [True, False], ids=["namespace", "audit-hook"])
def test_network_is_unreachable(code, namespaces, tcp_server, monkeypatch):
    """With a network namespace when the machine allows one; the audit hook is the fallback, used
    only when allowed explicitly (reward.code.allow_unsandboxed)."""
    monkeypatch.setattr(sandbox, "_USE_NAMESPACES", namespaces)
    port, accepted = tcp_server
    program = code.replace("PORT", str(port)) + "\nprint('CONNECTED')"
    result = run_python(program, "", LIMITS, allow_unsandboxed=not namespaces)
    assert "CONNECTED" not in result.stdout, result
    time.sleep(0.2)
    assert not accepted


def test_parent_environment_is_not_inherited(monkeypatch):
    monkeypatch.setenv("R1PIPE_TEST_SECRET", "hunter2-in-environ")
    result = run_python("import os\nprint(dict(os.environ))", "", ROOMY)
    assert result.status == "ok"
    assert "hunter2" not in result.stdout
    assert "R1PIPE_TEST_SECRET" not in result.stdout


@needs_uid_drop
def test_other_processes_environment_is_unreadable():
    secret = "hunter2-in-procfs"
    victim = subprocess.Popen(["sleep", "30"], env={**os.environ, "R1PIPE_TEST_SECRET": secret})
    try:
        scan = (
            "import os\nfor pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
            "    try:\n        print(open('/proc/%s/environ' % pid, 'rb').read())\n"
            "    except OSError:\n        pass\nprint(open('/proc/VICTIM/environ', 'rb').read())"
        ).replace("VICTIM", str(victim.pid))
        result = run_python(scan, "", ROOMY)
        assert secret not in result.stdout
        assert result.status == "error"  # the direct read of the victim's environ raised
    finally:
        victim.kill()
        victim.wait()


def test_working_dir_is_removed():
    result = run_python("import os\nopen('left.txt', 'w').write('x')\nprint(os.getcwd())", "", ROOMY)
    workdir = result.stdout.strip()
    assert result.status == "ok" and "r1pipe-sandbox-" in workdir
    assert not os.path.exists(workdir)


def test_isolated_interpreter():
    """-I -S: no site-packages (so no third-party imports) and no user/cwd paths on sys.path."""
    result = run_python(
        "import sys\nprint(sys.flags.isolated, sys.flags.no_site, '' in sys.path)", "", LIMITS
    )
    assert result.stdout.split() == ["1", "1", "False"]


def test_concurrent_runs_do_not_interfere():
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = run_python("print(int(input()) * 2)", f"{i}\n", ROOMY).stdout

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"{2 * i}\n" for i in range(4)}


def test_sandbox_info_names_the_interpreter():
    assert os.path.exists(INFO["python"])
    assert INFO["uid_scheme"] in {"per-run", "nobody", "same-user"}
    assert INFO["netns"] or INFO["audit_hook"]  # some network containment is always applied
    assert sys.version_info >= (3, 11)


def test_without_namespaces_programs_refuse_to_run_unless_allowed(monkeypatch):
    """The audit-hook fallback is not a sandbox: without the namespaces nothing runs, and the error
    names the config key that allows it anyway."""
    monkeypatch.setattr(sandbox, "_USE_NAMESPACES", False)
    with pytest.raises(sandbox.SandboxUnavailable, match=r"reward\.code\.allow_unsandboxed=true"):
        run_python("print(1)", "", ROOMY)
    with pytest.raises(sandbox.SandboxUnavailable, match="allow_unsandboxed"):
        code_accuracy(["</think>```python\nprint(3)\n```"], tests=[[{"input": "", "output": "3"}]])
    assert run_python("print(1)", "", LIMITS, allow_unsandboxed=True).stdout == "1\n"
    scores = code_accuracy(
        ["</think>```python\nprint(3)\n```"], tests=[[{"input": "", "output": "3"}]], allow_unsandboxed=True
    )
    assert scores == [1.0]


def test_a_run_that_cannot_make_its_namespaces_is_refused_by_the_bootstrap(monkeypatch):
    """The runner checks the machine once (sandbox_info); the bootstrap checks again on every run
    and refuses when a required namespace could not be made."""
    monkeypatch.setattr(sandbox, "_USE_NAMESPACES", False)
    with pytest.raises(sandbox.SandboxUnavailable, match="netns"):
        sandbox._run(INFO["python"], "print('ran')", "", LIMITS, ("netns",))


@pytest.mark.skipif(not INFO.get("pidns"), reason=f"no PID namespace here: {INFO}")
def test_the_program_runs_under_its_own_init():
    result = run_python("import os\nprint(os.getpid(), os.getppid())", "", LIMITS)
    assert result.stdout.split() == ["2", "1"]


def test_the_audit_hook_cannot_be_cleared_from_inside(monkeypatch, tcp_server):
    """Where the hook is used (allowed explicitly), the program cannot reach its block list: it is
    not in the program's globals nor in __main__'s, and it is immutable."""
    monkeypatch.setattr(sandbox, "_USE_NAMESPACES", False)
    port, accepted = tcp_server
    program = (
        "import sys\nm = sys.modules['__main__']\n"
        "for name in ('BLOCKED', 'blocked', 'audit'):\n"
        "    print(name, hasattr(m, name))\n"
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('CONNECTED')"
    )
    result = run_python(program, "", LIMITS, allow_unsandboxed=True)
    assert result.stdout.split()[:6] == ["BLOCKED", "False", "blocked", "False", "audit", "False"]
    assert "CONNECTED" not in result.stdout and "PermissionError" in result.stderr
    assert not accepted


SHM_LEAK = (
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmat.restype = ctypes.c_void_p\n"
    "for _ in range(3):\n"
    "    sid = libc.shmget(0, 200 << 20, 0o1000 | 0o600)\n"  # IPC_PRIVATE, IPC_CREAT
    "    assert sid >= 0, ctypes.get_errno()\n"
    "    addr = libc.shmat(sid, None, 0)\n"
    "    ctypes.memset(addr, 1, 200 << 20)\n"
    "    libc.shmdt(ctypes.c_void_p(addr))\n"
    "print('made', flush=True)\n"
)


def _shared_memory_mb() -> int:
    return int(Path("/proc/meminfo").read_text().split("Shmem:")[1].split()[0]) // 1024


def _wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# Both shared-memory tests read the machine's Shmem (a namespace's segments are visible nowhere
# else) and each makes 600 MB: never side by side (`--dist loadfile` keeps a module on one worker).
@pytest.mark.skipif(not INFO.get("ipcns"), reason=f"no IPC namespace here: {INFO}")
def test_system_v_shared_memory_does_not_outlive_the_run():
    """3 x 200 MB SysV segments made and left by a program: without an IPC namespace they stayed
    resident, owned by nobody alive (issue 12). The namespace dies with the run's last process and
    the kernel frees its segments (asynchronously, within moments)."""
    before = _shared_memory_mb()
    result = run_python(SHM_LEAK, "", SandboxLimits(cpu_seconds=5, wall_seconds=10, memory_mb=1024))
    assert result.stdout == "made\n", result
    assert _wait_until(lambda: _shared_memory_mb() < before + 100), _shared_memory_mb()


@pytest.mark.skipif(INFO["uid_scheme"] != "per-run", reason="finds the run's processes by its private uid")
def test_a_guard_timeout_leaves_no_process_and_no_shared_memory(monkeypatch):
    """The guard kills a worker whose program outlives the reward's timeout; the program's setsid
    child and its shared memory go with it, and no process of the run is alive when the call
    returns."""
    from r1pipe.rewards.guard import GuardedReward, GuardPolicy

    program = SHM_LEAK + "import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(60)\n"
    completion = f"</think>```python\n{program}```"
    guarded = GuardedReward("code_accuracy", code_accuracy, GuardPolicy(timeout_s=3, workers=1))
    guarded(["warm up"], tests=[[{"input": "", "output": ""}]])  # the worker starts outside the timeout
    before, shm_before = _live_sandbox_uids(), _shared_memory_mb()
    limits = [{"cpu_seconds": 5, "wall_seconds": 30, "memory_mb": 1024}]
    assert guarded([completion], tests=[[{"input": "", "output": ""}]], limits=limits) == [None]
    assert guarded.counts["timeouts"] == 1
    assert _live_sandbox_uids() <= before
    assert _wait_until(lambda: _shared_memory_mb() < shm_before + 100), _shared_memory_mb()


def _live_sandbox_uids() -> set[int]:
    return sandbox._sandbox_uids(sandbox._UID_BASE)


UNPRIVILEGED = """
import json, sys
sys.path.insert(0, sys.argv[1])
from r1pipe.rewards import sandbox
info = sandbox.sandbox_info()
try:
    result = sandbox.run_python("import os\\nprint(os.getpid(), os.getppid(), os.getuid())")
    print(json.dumps({"info": info, "stdout": result.stdout}))
except sandbox.SandboxUnavailable as e:
    print(json.dumps({"info": info, "refused": str(e)}))
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become an unprivileged user"
)
def test_an_unprivileged_user_gets_the_namespaces_or_a_refusal(tmp_path):
    """Not root: the bootstrap makes a user namespace (mapping the user to itself) and the other
    namespaces inside it; where the kernel forbids that, programs are refused, never run bare."""
    repo = Path(sandbox.__file__).resolve().parents[1]
    done = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/env",
            "HOME=/",
            INFO["python"],
            "-c",
            UNPRIVILEGED,
            str(repo),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    if "PermissionError" in done.stderr or "ModuleNotFoundError" in done.stderr:
        pytest.skip(f"an unprivileged user cannot import this checkout here: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if all(report["info"][n] for n in sandbox.REQUIRED_NAMESPACES):
        assert report["stdout"].split() == ["2", "1", "65534"], report
        assert report["info"]["mountns"], report
    else:
        assert "reward.code.allow_unsandboxed" in report["refused"], report
