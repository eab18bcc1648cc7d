"""What the integration tests share: the real CLI run in a fresh process, the quick toy
settings, and snapshots of a directory's files (to prove what a run did or did not touch)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# toy_quick with its cold start cut back to 8 steps (checkpoints at 4 and 8): the tests check the
# plumbing of a stage, not what the preset's 100 steps teach.
QUICK_STEPS = [
    "experiment=toy_quick",
    "cold_start.max_steps=8",
    "cold_start.save_steps=4",
    "cold_start.logging_steps=2",
    "eval.num_problems=4",
    "eval.max_new_tokens=48",
]
# Stages 1-2 only: stage 4 has its own module (test_all_scenario_rl_cli.py), one run of it.
QUICK = [*QUICK_STEPS, "pipeline.stages=[cold_start,reasoning_rl]"]
FAULTS = Path(__file__).parent / "faults"  # sitecustomize.py: faults injected by name
# Training stages on 2 processes (gloo DDP on this CPU): the distributed tests, stage 3's and
# distillation's module runs.
TWO_PROCESSES = ["launcher=accelerate", "launcher.num_processes=2", "launcher.mixed_precision=no"]


# Commands that only read, plan or refuse (no stage process, no model): run by the CLI's own `main`
# in this process, the same code path without ~2 s of interpreter start and imports each.
LIGHT_COMMANDS = ("status", "list", "validate", "report")


def r1pipe(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`r1pipe ARGS` from `cwd`: in a fresh process, or in this one for light commands (--dry-run,
    status, list, validate, report) unless `env` asks for a different environment."""
    if env is None and ("--dry-run" in args or args[0] in LIGHT_COMMANDS):
        proc = r1pipe_here(*args, cwd=cwd)
    else:
        proc = r1pipe_process(*args, cwd=cwd, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"r1pipe {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def cold_started_model(work: Path, *extra: str) -> Path:
    """Stage 1 alone on the toy (QUICK_STEPS, no evaluation) in `work`/run: the model an RL test
    starts from (`init_model=`)."""
    run_dir = work / "run"
    r1pipe(
        "run",
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        "pipeline.stages=[cold_start]",
        "eval.after_stage=false",
        *extra,
        cwd=work,
    )
    return run_dir / "01_cold_start" / "model"


def r1pipe_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def r1pipe_here(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`r1pipe ARGS` run by the CLI's `main` in this process, with its output captured."""
    import contextlib
    import io
    import logging

    from r1pipe.cli import main

    root = logging.getLogger()
    handlers, level, previous = list(root.handlers), root.level, os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse's usage errors
                code = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(previous)
        root.handlers[:], root.level = handlers, level  # the CLI's console handler wrote to `err`
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def tree_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and mtime, to prove nothing was touched."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under root with its content hash: the same files, byte for byte."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def start_run(args: list[str], cwd: Path, stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """`r1pipe run ARGS` in the background, in a process group of its own (orchestrator and stage)."""
    return subprocess.Popen(
        [sys.executable, "-m", "r1pipe.cli", "run", *args],
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )


def kill_once_checkpointed(args: list[str], cwd: Path, checkpoint: Path) -> None:
    """Start `r1pipe run ARGS`, wait until `checkpoint` is published, then SIGKILL the orchestrator
    and its stage process together (no clean-up, as a crash or a lost node would)."""
    orchestrator = start_run(args, cwd)
    deadline = time.time() + 300
    while not checkpoint.exists():
        assert orchestrator.poll() is None, f"the run ended before {checkpoint} was published"
        assert time.time() < deadline, f"no {checkpoint.name} within 5 minutes"
        time.sleep(0.2)
    os.killpg(orchestrator.pid, signal.SIGKILL)
    orchestrator.wait()


def stage_process(rank: int, run_dir: Path) -> int | None:
    """The pid of the stage process of `rank` (under accelerate launch) of the run in `run_dir`,
    or None. Other xdist workers run 2-process stages of their own at the same time: only the
    run directory on the command line tells this run's processes from theirs."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            environment = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if (
            b"r1pipe.pipeline.stage_process" in command
            and b"accelerate" not in command
            and str(run_dir).encode() in command
            and f"\0RANK={rank}\0".encode() in environment
        ):
            return int(pid)
    return None
