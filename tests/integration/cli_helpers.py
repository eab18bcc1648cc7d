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

QUICK_STEPS = ["experiment=toy_quick", "eval.num_problems=4", "eval.max_new_tokens=48"]
# Stages 1-2 only: stage 4 has its own module (test_all_scenario_rl_cli.py), one run of it.
QUICK = [*QUICK_STEPS, "pipeline.stages=[cold_start,reasoning_rl]"]
FAULTS = Path(__file__).parent / "faults"  # sitecustomize.py: faults injected by name
# Training stages on 2 processes (gloo DDP on this CPU): the distributed tests, stage 3's and
# distillation's module runs.
TWO_PROCESSES = ["launcher=accelerate", "launcher.num_processes=2", "launcher.mixed_precision=no"]


def r1pipe(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"r1pipe {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


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
