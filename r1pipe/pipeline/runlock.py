"""One orchestrator per run directory: `r1pipe run` holds an exclusive lock on `RUN/.lock` while
it plans and runs, so a second one (another shell, a requeued Slurm job while the first still
runs) stops with a message naming the holder instead of superseding stages under it.

Considered: a PID file alone goes stale when the holder is killed; `fcntl.flock` is released by
the kernel when the holding process dies, however it dies, so a stale lock cannot outlive it.
The file's text (pid, host, start time, command) is only what the message shows. flock is
per-host: on NFS shared by several hosts it may not exclude (documented in README, Scaling out).
Stage processes do not inherit the descriptor (subprocess closes it), so a stage left running
by a killed orchestrator does not keep the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO

LOCK_FILE = ".lock"


class RunDirBusy(RuntimeError):
    """Another live r1pipe holds the run directory."""


class RunDirLock:
    """`with RunDirLock(run_dir):` holds the lock for the block (and the process's life)."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / LOCK_FILE
        self.handle: IO[str] | None = None

    def __enter__(self) -> RunDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle)
            handle.close()
            raise RunDirBusy(
                f"run directory {self.path.parent} is in use by another r1pipe ({holder}). Wait for it "
                f"to finish or stop it (`r1pipe status {self.path.parent}` shows its progress); two "
                "orchestrators on one run directory would overwrite each other's stages."
            ) from None
        self.handle = handle

    def announce(self) -> None:
        """Write who holds the lock (for the message a second orchestrator prints). Separate from
        `acquire`: a run refused for bad input leaves the directory as it was."""
        assert self.handle is not None, "announce() needs the lock"
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps(_this_process()) + "\n")
        self.handle.flush()

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _this_process() -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(sys.argv[:1] + sys.argv[1:])[:500],
    }


def _read_holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        return "holder unknown"
    if not holder:
        return "holder unknown"
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
