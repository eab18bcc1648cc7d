"""Run untrusted Python (model-written solutions) in a throw-away sandboxed process.

`run_python(code, stdin, limits)` starts one process per run and returns a `SandboxResult` with
status ok | timeout | memory | error | output_limit. What contains the program, and why:

- CPU: RLIMIT_CPU (SIGXCPU at the soft limit, SIGKILL a second later).
- Wall clock: the parent kills the run's whole process group (a new session, so also without a
  controlling terminal) at the deadline, since a sleeping program uses no CPU; as root also
  every process of the run's private uid (below).
- Memory: RLIMIT_AS. Files: RLIMIT_FSIZE per file, RLIMIT_NOFILE. Core dumps off.
- Processes: RLIMIT_NPROC counts per real uid, so it would not bite for root and would be shared
  by concurrent runs under one uid. As root, each run therefore drops to its own unprivileged
  uid (_UID_BASE + the run's pid): the limit then counts that run's processes only, and
  `kill(-1)` from that uid ends everything it forked, even children that left the process group
  with setsid. The run's main process dies with its parent (PR_SET_PDEATHSIG), and each run
  sweeps processes and working directories of runs whose parent was killed (a reward worker
  stopped by the guard's timeout). Without root: RLIMIT_NPROC = this user's processes +
  max_processes, and the process-group kill.
- Filesystem: the private uid owns only the working directory; root-owned files are read-only to
  it. The world-writable directories (/tmp, /var/tmp, /dev/shm, /run/lock) are covered, in a
  private mount namespace, by empty read-only tmpfs mounts, the working directory bind-mounted
  back at its path.
- Network: a fresh network namespace (no interface up, not even loopback). Python 3.11 has no
  os.unshare, so the child calls unshare(2) through ctypes; chosen over the `unshare` binary so
  one bootstrap applies namespaces, limits and the uid drop in order, and over preexec_fn, which
  is unsafe in a threaded parent (the trainer). Without root an unprivileged user namespace is
  tried; where neither works an audit hook refuses sockets, ctypes calls and new programs (best
  effort: it only covers this interpreter).
- Environment: env is only PATH/LANG/HOME/TMPDIR, never the parent's os.environ; `python -I -S`
  ignores PYTHON* variables, the user site and site-packages; /proc/<pid>/environ of other uids
  is unreadable to the private uid.
- Output: read by a bounded reader (a select loop); past max_output_bytes the run is killed and
  reported as output_limit, so a flood never fills the parent's memory.

`sandbox_info()` says which of these this machine applied (a self-test run, cached and logged).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Status = Literal["ok", "timeout", "memory", "error", "output_limit"]

_UID_BASE = 2_000_000_000  # private uids: base + pid; far above real users and subuid ranges
_PID_LIMIT = 1 << 22  # the kernel's largest possible pid (PID_MAX_LIMIT)
_NOBODY = 65534
_MEMORY_EXIT = 86  # the bootstrap's exit code when the program raised MemoryError
_UNAVAILABLE_EXIT = 87  # the bootstrap's exit code when required namespaces could not be made
# Without these a program's processes, sockets or shared memory can outlive or escape its run.
REQUIRED_NAMESPACES = ("netns", "ipcns", "pidns")
ALLOW_FLAG = "reward.code.allow_unsandboxed"
_COVERED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # world-writable on Linux hosts
_PATH = "/usr/local/bin:/usr/bin:/bin"
_RUN_TAG = "R1PIPE_SANDBOX_RUN"
_USE_NAMESPACES = True  # False only to test the fallbacks (audit hook instead of a network namespace)


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float = 2.0  # RLIMIT_CPU (rounded up to whole seconds)
    wall_seconds: float = 4.0  # then the process group (and the run's uid) is killed
    memory_mb: int = 512  # RLIMIT_AS: address space, so a little above what a program touches
    max_processes: int = 8  # RLIMIT_NPROC: processes and threads of the run
    max_file_mb: int = 16  # RLIMIT_FSIZE: largest file the program may write
    max_open_files: int = 64  # RLIMIT_NOFILE
    max_output_bytes: int = 1 << 20  # per stream (stdout, stderr); more is output_limit


@dataclass(frozen=True)
class SandboxResult:
    status: Status
    stdout: str
    stderr: str
    returncode: int | None
    seconds: float


# Runs first in the child, as the parent's user, in a fresh single-threaded interpreter: reads
# the program, applies namespaces and limits, drops privileges, then runs the program in-process
# (so an audit hook, when used, stays in force). With a PID namespace it forks twice first: the
# bootstrap (outside) waits for the namespace's init (pid 1, which reaps orphans and dies with the
# bootstrap), which waits for the program (pid 2); when init exits the kernel kills every process
# left in the namespace, setsid children included, and the IPC namespace's System V segments go
# with its last process. Kept to syntax any Python 3.8+ accepts.
_BOOTSTRAP = r"""
import ctypes, json, os, resource, signal, sys
cfg = json.loads(sys.argv[1])
with open(cfg["file"], encoding="utf-8") as f:
    source = f.read()
libc = ctypes.CDLL(None, use_errno=True)
applied = {"uid": os.getuid(), "netns": False, "ipcns": False, "utsns": False, "pidns": False,
           "mountns": False, "audit_hook": False, "no_new_privs": False}

CLONE_NEWNS, CLONE_NEWUSER = 0x20000, 0x10000000
NAMESPACES = (("netns", 0x40000000), ("ipcns", 0x08000000), ("utsns", 0x04000000), ("pidns", 0x20000000))
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
EXTRA_PROCESSES = 2  # the bootstrap and the namespace's init, besides the program's own

def cover_shared_dirs():
    here = os.getcwd()
    # MS_PRIVATE first: without it our mounts would propagate back to the host
    if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    fd = os.open(".", os.O_RDONLY)  # opened in the new namespace: bind sources must belong to it
    covered = True
    for d in cfg["cover"]:
        if not os.path.isdir(d) or os.path.islink(d):
            continue
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        if libc.mount(b"tmpfs", d.encode(), b"tmpfs", flags, b"size=16k,mode=755") != 0:
            covered = False
            continue
        if here.startswith(d.rstrip("/") + "/"):  # keep the working directory's absolute path valid
            os.makedirs(here)
            libc.mount(("/proc/self/fd/%d" % fd).encode(), here.encode(), None, MS_BIND, None)
        libc.mount(None, d.encode(), None, MS_REMOUNT | MS_RDONLY | flags, None)
    os.fchdir(fd)  # the working directory itself, whatever became of its path
    os.close(fd)
    return covered

def new_namespaces():
    # each on its own, so that one the kernel refuses does not cost the others
    applied["mountns"] = cover_shared_dirs()
    for name, flag in NAMESPACES:
        applied[name] = libc.unshare(flag) == 0

def set_limits(nproc):
    cpu = cfg["cpu"]
    for res, soft, hard in ((resource.RLIMIT_CPU, cpu, cpu + 1), (resource.RLIMIT_AS, cfg["mem"], None),
                            (resource.RLIMIT_FSIZE, cfg["fsize"], None), (resource.RLIMIT_NOFILE, cfg["nofile"], None),
                            (resource.RLIMIT_CORE, 0, None), (resource.RLIMIT_NPROC, nproc, None)):
        resource.setrlimit(res, (soft, soft if hard is None else hard))

def own_processes():
    # /proc/<pid> shows root as owner of non-dumpable processes: read the real uid from status
    uid, n = os.getuid(), 0
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/status" % p) as f:
                n += any(line.split()[:2] == ["Uid:", str(uid)] for line in f)
        except (OSError, ValueError):
            pass
    return n

def drop_root(uid):
    if cfg["namespaces"]:
        new_namespaces()
    os.chown(".", uid, uid)
    set_limits(cfg["nproc"] + EXTRA_PROCESSES)
    applied["no_new_privs"] = libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0  # setuid binaries stay unprivileged
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)

def map_own_ids(uid, gid):
    # inside the user namespace this user stays itself (files it makes are its own)
    for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)), ("gid_map", "%d %d 1" % (gid, gid))):
        with open("/proc/self/" + name, "w") as f:
            f.write(text)

def confine_user():
    set_limits(own_processes() + cfg["nproc"] + EXTRA_PROCESSES)
    uid, gid = os.getuid(), os.getgid()
    # an unprivileged user namespace gives this user the right to make the others
    if cfg["namespaces"] and libc.unshare(CLONE_NEWUSER) == 0:
        map_own_ids(uid, gid)
        new_namespaces()
    applied["no_new_privs"] = libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0

def install_audit_hook():
    # best effort, not a sandbox: it lives in the program's own interpreter (kept out of the
    # program's globals, the block list immutable, but ctypes-free escapes remain thinkable)
    blocked = frozenset(("socket.__new__", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                         "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "subprocess.Popen",
                         "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.fork", "os.forkpty"))
    def audit(event, args, blocked=blocked):
        if event in blocked:
            raise PermissionError("sandbox: %s is not allowed" % event)
    sys.addaudithook(audit)

def run_program():
    os.umask(0o077)
    if not applied["netns"]:
        applied["audit_hook"] = True
        install_audit_hook()
    sys.argv = [cfg["file"]]
    scope = {"__name__": "__main__", "__file__": cfg["file"], "__builtins__": __builtins__, "__sandbox__": dict(applied)}
    code = compile(source, cfg["file"], "exec")
    for name in list(globals()):  # the bootstrap's own names stay out of the program's reach
        if not name.startswith("__") and name not in ("os", "sys", "code", "scope"):
            del globals()[name]
    try:
        exec(code, scope)
    except MemoryError:
        sys.stderr.write("MemoryError\n")
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except Exception:
                pass
        os._exit(MEMORY_EXIT)

def relay(status):
    # end this process as the program ended: its exit code, or killed by the same signal
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)

def init_of_namespace(report):
    # pid 1: the program runs as pid 2; orphans are reaped until it ends, then its status goes
    # to the bootstrap and init exits, which kills whatever is left in the namespace
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    program = os.fork()
    if program == 0:
        os.close(report)
        run_program()
        sys.exit(0)  # a normal interpreter exit (threads joined, buffers flushed), not back to init's loop
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == program:
            os.write(report, b"%d" % status)
            os._exit(0)

def in_pid_namespace():
    read, write = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(read)
        init_of_namespace(write)
    os.close(write)
    os.waitpid(init, 0)
    reported = os.read(read, 32)
    relay(int(reported) if reported else 9)  # no report: init was killed, so was the program

uid = cfg["uid"] if cfg["uid"] is not None else (cfg["uid_base"] + os.getpid() if cfg["uid_base"] else None)
if uid is not None:
    drop_root(uid)
else:
    confine_user()
applied["uid"] = os.getuid()
libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)  # die with the parent (the uid change cleared this)
if os.getppid() != cfg["parent"]:
    os._exit(1)
missing = [n for n in cfg["required"] if not applied[n]]
if missing:
    sys.stderr.write("sandbox: namespaces not available: %s\n" % ", ".join(missing))
    os._exit(UNAVAILABLE_EXIT)
if applied["pidns"]:
    in_pid_namespace()
run_program()
""".replace("MEMORY_EXIT", str(_MEMORY_EXIT)).replace("UNAVAILABLE_EXIT", str(_UNAVAILABLE_EXIT))


class SandboxUnavailable(RuntimeError):  # noqa: N818 (a condition, named as the user reads it)
    """This machine cannot contain a program (no network, IPC or PID namespace) and running it
    anyway was not allowed."""


def run_python(
    code: str, stdin: str = "", limits: SandboxLimits | None = None, allow_unsandboxed: bool = False
) -> SandboxResult:
    """Run `code` with `stdin` in a fresh sandboxed process; the working directory is deleted after.

    Raises SandboxUnavailable where this machine cannot make the network, IPC and PID namespaces
    (sandbox_info), unless `allow_unsandboxed` (config: reward.code.allow_unsandboxed=true): the
    fallback, an audit hook in the program's own interpreter, is not a sandbox.
    """
    setup = _setup()
    if not allow_unsandboxed:
        check_contained(setup.info)
    required = () if allow_unsandboxed else REQUIRED_NAMESPACES
    return _run(setup.python, code, stdin, limits or SandboxLimits(), required)


def check_contained(info: dict[str, Any] | None = None) -> None:
    """Raise SandboxUnavailable (naming the namespaces and the config key) unless this machine's
    sandbox applies every namespace in REQUIRED_NAMESPACES."""
    info = sandbox_info() if info is None else info
    missing = [n for n in REQUIRED_NAMESPACES if not (_USE_NAMESPACES and info.get(n))]
    if missing:
        where = "on this machine" if _USE_NAMESPACES else "(namespaces switched off: sandbox._USE_NAMESPACES)"
        raise SandboxUnavailable(
            f"the code sandbox cannot make {', '.join(missing)} namespace(s) {where} "
            f"(sandbox_info: {info}), so a model's program could leave processes, sockets or shared "
            "memory behind. Run where namespaces are allowed (root, or unprivileged user namespaces: "
            f"sysctl kernel.unprivileged_userns_clone=1), or set {ALLOW_FLAG}=true to run programs "
            "under the audit-hook fallback, which is not a sandbox."
        )


def sandbox_info() -> dict[str, Any]:
    """What this machine's sandbox applies: interpreter, uid scheme, namespaces, audit hook."""
    return dict(_setup().info)


@dataclass(frozen=True)
class _Setup:
    python: str
    info: dict[str, Any]


@functools.cache
def _setup() -> _Setup:
    """Find an interpreter the unprivileged uid can run (a venv under /root is not readable by it)
    and self-test the whole sandbox once; logged so a weaker containment is never silent."""
    probe = "import collections, heapq, json, math, re, os; print(json.dumps(__sandbox__))"
    _remove_stale_workdirs()
    tried = []
    for python in _candidates():
        result = _run(python, probe, "", SandboxLimits(cpu_seconds=5, wall_seconds=15), ())
        if result.status == "ok":
            info = {"python": python, "uid_scheme": _uid_scheme()[0], **json.loads(result.stdout)}
            log.info("sandbox: %s", info)
            contained = all(info.get(n) for n in REQUIRED_NAMESPACES)
            if not (contained and info["mountns"] and info["uid_scheme"] == "per-run"):
                log.warning(
                    "sandbox: weaker containment on this machine (%s); see r1pipe/rewards/sandbox.py", info
                )
            return _Setup(python, info)
        tried.append(f"{python}: {result.status} {result.stderr.strip()[-300:]}")
    raise RuntimeError(
        "no Python interpreter can run sandboxed programs here: " + "; ".join(tried) + ". "
        "Install a system python3 (readable by unprivileged users) in /usr/bin or /usr/local/bin."
    )


def _candidates() -> list[str]:
    found = [sys.executable, getattr(sys, "_base_executable", sys.executable)]
    found += [p for name in ("python3", "python") if (p := shutil.which(name, path=_PATH))]
    return list(dict.fromkeys(os.path.realpath(p) for p in found if p))


@functools.cache
def _uid_scheme() -> tuple[str, int | None, int | None]:
    """(name, fixed uid, uid base): a private uid per run when the uid range is mapped in our user
    namespace (containers map fewer ids), else the shared 'nobody', else no drop (not root)."""
    if os.geteuid() != 0:
        return "same-user", None, None
    if _mapped(_UID_BASE, _UID_BASE + _PID_LIMIT):
        return "per-run", None, _UID_BASE
    if _mapped(_NOBODY, _NOBODY + 1):
        return "nobody", _NOBODY, None
    return "same-user", None, None


def _mapped(lo: int, hi: int) -> bool:
    def covered(path: str) -> bool:
        for line in Path(path).read_text().splitlines():
            inside, _, count = (int(x) for x in line.split())
            if inside <= lo and hi <= inside + count:
                return True
        return False

    return covered("/proc/self/uid_map") and covered("/proc/self/gid_map")


def _run(
    python: str, code: str, stdin: str, limits: SandboxLimits, required: tuple[str, ...]
) -> SandboxResult:
    workdir = tempfile.mkdtemp(prefix="r1pipe-sandbox-")
    try:
        Path(workdir, "solution.py").write_text(code, encoding="utf-8")
        os.chmod(Path(workdir, "solution.py"), 0o644)
        start = time.monotonic()
        proc = _spawn(python, workdir, limits, required)
        try:
            out, err, why, cpu = _communicate(proc, stdin.encode(), limits)
        finally:
            _kill_leftovers(proc, python, os.path.basename(workdir))
        rc = proc.returncode
        if rc == _UNAVAILABLE_EXIT and err.startswith(b"sandbox: namespaces not available"):
            raise SandboxUnavailable(f"{_text(err).strip()}; set {ALLOW_FLAG}=true to run without them")
        status = _status(why, rc, cpu, err, limits)
        return SandboxResult(status, _text(out), _text(err), rc, time.monotonic() - start)
    finally:
        _remove_tree(workdir)


def _spawn(python: str, workdir: str, limits: SandboxLimits, required: tuple[str, ...]) -> subprocess.Popen:
    _, uid, base = _uid_scheme()
    cfg = {
        "file": "solution.py",
        "cover": list(_COVERED_DIRS),
        "cpu": max(1, math.ceil(limits.cpu_seconds)),
        "mem": limits.memory_mb << 20,
        "fsize": limits.max_file_mb << 20,
        "nofile": limits.max_open_files,
        "nproc": limits.max_processes,
        "uid": uid,
        "uid_base": base,
        "parent": os.getpid(),
        "namespaces": _USE_NAMESPACES,
        "required": list(required),
    }
    env = {"PATH": _PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
    env[_RUN_TAG] = os.path.basename(workdir)  # finds the run's processes when there is no private uid
    return subprocess.Popen(
        [python, "-I", "-S", "-B", "-c", _BOOTSTRAP, json.dumps(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workdir,
        env=env,
        close_fds=True,
        start_new_session=True,  # one group to kill at the deadline; no controlling terminal (/dev/tty)
    )


def _communicate(
    proc: subprocess.Popen, data: bytes, limits: SandboxLimits
) -> tuple[bytes, bytes, str | None, float]:
    """Feed stdin and read both pipes without blocking, bounded in bytes and time.

    Returns (stdout, stderr, why it stopped: None | "timeout" | "output_limit", CPU seconds used).
    Exits once the process has exited and its pipes are drained or quiet (a background child may
    hold them open); the process is reaped here, after its group was killed (pid not reusable).
    """
    assert proc.stdin and proc.stdout and proc.stderr
    deadline = time.monotonic() + limits.wall_seconds
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        sel.register(fd, selectors.EVENT_READ)
    pending = memoryview(data)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    why = None
    while why is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            why = "timeout"
            break
        exited = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        if not sel.get_map():
            if exited:
                break
            time.sleep(min(remaining, 0.005))
            continue
        events = sel.select(min(remaining, 0.05))
        if not events and exited:
            break
        for key, _ in events:
            if key.fd in bufs:
                why = _read_some(sel, key.fd, bufs[key.fd], limits.max_output_bytes)
            else:
                pending = _write_some(sel, proc, pending)
    sel.close()
    return bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()]), why, _reap(proc)


def _read_some(sel: selectors.BaseSelector, fd: int, buf: bytearray, cap: int) -> str | None:
    chunk = os.read(fd, 65536)
    if not chunk:
        sel.unregister(fd)
        return None
    room = cap - len(buf)
    buf += chunk[:room]
    return "output_limit" if len(chunk) > room else None


def _write_some(sel: selectors.BaseSelector, proc: subprocess.Popen, pending: memoryview) -> memoryview:
    assert proc.stdin
    try:
        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]) :]
    except BlockingIOError:
        return pending
    except BrokenPipeError:  # the program stopped reading; that is its business
        pending = pending[:0]
    if not pending:
        sel.unregister(proc.stdin.fileno())
        proc.stdin.close()
    return pending


def _reap(proc: subprocess.Popen) -> float:
    """Kill the group while the leader is still unreaped (so its pgid cannot be reused), then reap."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _, wait_status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    return usage.ru_utime + usage.ru_stime


def _status(why: str | None, rc: int | None, cpu: float, err: bytes, limits: SandboxLimits) -> Status:
    if why == "output_limit":
        return "output_limit"
    cpu_killed = rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu >= math.ceil(limits.cpu_seconds))
    if why == "timeout" or cpu_killed:
        return "timeout"
    if rc == _MEMORY_EXIT or err.rstrip().endswith(b"MemoryError"):
        return "memory"
    return "ok" if rc == 0 else "error"


def _kill_leftovers(proc: subprocess.Popen, python: str, run: str) -> None:
    """Everything the run started dies with it; also sweeps runs whose parent died mid-run."""
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()
    name, _, base = _uid_scheme()
    if name != "per-run" or base is None:
        _kill_tagged(run)  # a shared uid: killing by uid would hit concurrent runs
        return
    _kill_runs(base, python, own=base + proc.pid)


def reap_orphans() -> None:
    """Kill every process of sandbox runs whose runner died (a reward worker the guard killed at
    its timeout) and return once they are gone. Those runs die on their own within moments (the
    bootstrap dies with its runner, the namespace's init with the bootstrap, the namespace with
    its init); this makes it certain, and immediate, before a guarded reward call returns.
    Without private uids it does nothing: there PDEATHSIG and the PID namespace are the mechanism."""
    name, _, base = _uid_scheme()
    if name == "per-run" and base is not None:
        _kill_runs(base, None, own=None)
        _remove_stale_workdirs()  # the runner died before it could remove them


def _kill_runs(base: int, python: str | None, own: int | None) -> None:
    """Kill the processes of uid `own` (a finished run) and of orphaned runs until none is left."""
    orphans = False

    def doomed() -> set[int]:
        nonlocal orphans
        found = {u for u in _sandbox_uids(base) if u == own or _orphaned(u, base)}
        orphans |= bool(found - {own})
        return found

    def kill(uids: set[int]) -> None:
        for u in uids:
            _kill_uid(u, python or _setup().python)

    if _kill_until_gone(doomed, kill, what="uid(s)") and orphans:
        _remove_stale_workdirs()


# SIGKILLed processes exit within moments on an idle machine, but a loaded one can take far longer
# (a PID namespace's init reaps every process of the namespace before it exits itself): 0.1 s of
# patience let a test under a parallel suite see a run's init still alive after reap_orphans.
_KILL_PATIENCE_SECONDS = 10.0


def _kill_until_gone(find: Callable[[], set[Any]], kill: Callable[[set[Any]], None], what: str) -> bool:
    """Kill what `find` returns until it returns nothing (True), or warn after the patience runs out."""
    deadline = time.monotonic() + _KILL_PATIENCE_SECONDS
    pause = 0.005
    while found := find():
        if time.monotonic() > deadline:
            log.warning(
                "sandbox: processes of %s %s survived %.0f s of kills",
                what,
                sorted(found),
                _KILL_PATIENCE_SECONDS,
            )
            return False
        kill(found)
        time.sleep(pause)
        pause = min(2 * pause, 0.25)
    return True


def _orphaned(uid: int, base: int) -> bool:
    """A run whose bootstrap (pid = uid - base) is gone, or no longer a child of the runner that
    started it (the runner died: the bootstrap was reparented). The runner's pid is the "parent"
    of the bootstrap's own config, its last command-line argument."""
    bootstrap = uid - base
    if not _alive_as(bootstrap, uid):
        return True
    try:
        args = Path(f"/proc/{bootstrap}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        runner = json.loads(args[-1])["parent"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False  # not a bootstrap we can read: leave it
    return _parent_of(bootstrap) != runner


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["PPid"].split()[0])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def _kill_tagged(run: str) -> None:
    """Without a private uid, find the run's processes by the tag in their environment, inherited
    through fork and exec (best effort: a program that clears its environment escapes it)."""
    tag = f"{_RUN_TAG}={run}\0".encode()

    def tagged() -> set[str]:
        return {p for p in os.listdir("/proc") if p.isdigit() and tag in _environ(p)}

    def kill(pids: set[str]) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)

    _kill_until_gone(tagged, kill, what=f"run {run}: pids")


def _environ(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()
    except OSError:  # another user's process, or gone
        return b""


def _remove_stale_workdirs() -> None:
    """Working directories of runs whose parent was killed (a reward worker past the guard's
    timeout) cannot be removed by it: remove those whose run's process no longer exists."""
    name, _, base = _uid_scheme()
    if name != "per-run" or base is None:
        return
    tmp = Path(tempfile.gettempdir())
    for path in tmp.glob("r1pipe-sandbox-*"):
        with contextlib.suppress(OSError):
            uid = path.lstat().st_uid
            # a run's process in its root phase reads as uid 0 (alive); zombies read as None
            if base <= uid < base + _PID_LIMIT and _real_uid(uid - base) is None:
                _remove_tree(str(path))


def _sandbox_uids(base: int) -> set[int]:
    """Real uids in the private range of every process now running (one pass over /proc)."""
    uids = set()
    for pid in os.listdir("/proc"):
        uid = _real_uid(pid) if pid.isdigit() else None
        if uid is not None and base <= uid < base + _PID_LIMIT:
            uids.add(uid)
    return uids


def _real_uid(pid: str | int) -> int | None:
    """Real uid of a live process (None for zombies: killed, only waiting to be reaped).

    /proc/<pid> itself shows root as owner once a process changed uid (not dumpable): read status.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        if fields.get("State", "").split()[:1] in (["Z"], ["X"]):
            return None
        return int(fields["Uid"].split()[0])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def _alive_as(pid: int, uid: int) -> bool:
    return _real_uid(pid) == uid


def _kill_uid(uid: int, python: str) -> None:
    """kill(-1) as `uid` signals every process of that uid, atomically with respect to fork."""
    try:
        _run_as(uid, python)
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("sandbox: could not kill the processes of uid %s: %s", uid, e)


def _run_as(uid: int, python: str) -> None:
    subprocess.run(
        [python, "-I", "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
        user=uid,
        group=uid,
        extra_groups=[],
        env={"PATH": _PATH},
        cwd="/",
        close_fds=True,
        check=False,
        timeout=10,
    )


def _remove_tree(path: str) -> None:
    def make_writable(func: Any, p: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)

    shutil.rmtree(path, onerror=make_writable)
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        log.warning("sandbox: could not remove working directory %s", path)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
