"""Logging: one per-run log file shared by the orchestrator and its stage processes, plus the
console. Under several processes only rank 0 logs at INFO; the others log warnings."""

from __future__ import annotations

import logging
import os
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
RUN_LOG = "r1pipe.log"


def process_rank() -> int:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))


def setup_logging(level: str = "INFO", run_dir: Path | None = None) -> None:
    """Console + `run_dir/r1pipe.log` (appended). Safe to call again with a run dir."""
    root = logging.getLogger()
    rank = process_rank()
    root.setLevel(level if rank == 0 else "WARNING")
    for handler in list(root.handlers):
        if getattr(handler, "_r1pipe", False):
            root.removeHandler(handler)
    prefix = f"[rank {rank}] " if rank else ""
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(prefix + "%(asctime)s %(message)s", "%H:%M:%S"))
    handlers: list[logging.Handler] = [console]
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(run_dir / RUN_LOG, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(prefix + FORMAT))
        handlers.append(file_handler)
    for handler in handlers:
        handler._r1pipe = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "torch.distributed"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
