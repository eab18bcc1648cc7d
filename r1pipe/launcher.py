"""Launchers build the command that runs one stage in its own process.

The orchestrator stays one light process; each stage runs in a child, so GPU memory is freed
between stages, a crash leaves the orchestrator alive to record it, and the same stage code runs
on one CPU (`python -m r1pipe.stage`) or many GPUs (`accelerate launch -m r1pipe.stage`).
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from omegaconf import DictConfig


class Launcher(Protocol):
    def command(self, run_dir: Path, stage_dir: Path, phase: str = "train") -> list[str]: ...

    def environment(self) -> dict[str, str]: ...

    def world(self) -> dict[str, int]:
        """The world the stage's processes must find themselves in: {processes, machines}."""
        ...


def _stage_args(run_dir: Path, stage_dir: Path, phase: str) -> list[str]:
    return ["-m", "r1pipe.stage", "--run-dir", str(run_dir), "--stage-dir", str(stage_dir), "--phase", phase]


@dataclass(frozen=True)
class LocalLauncher:
    """One process with the orchestrator's own interpreter."""

    env: dict[str, str]

    def command(self, run_dir: Path, stage_dir: Path, phase: str = "train") -> list[str]:
        return [sys.executable, *_stage_args(run_dir, stage_dir, phase)]

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def world(self) -> dict[str, int]:
        return {"processes": 1, "machines": 1}


@dataclass(frozen=True)
class AccelerateLauncher:
    """`accelerate launch` (DDP, or DeepSpeed/FSDP through an accelerate config file)."""

    num_processes: int
    num_machines: int
    mixed_precision: str
    config_file: str | None
    main_process_port: int | None
    env: dict[str, str]

    def command(self, run_dir: Path, stage_dir: Path, phase: str = "train") -> list[str]:
        cmd = [sys.executable, "-m", "accelerate.commands.launch"]
        if self.config_file:
            cmd += ["--config_file", self.config_file]
        cmd += ["--num_processes", str(self.num_processes), "--num_machines", str(self.num_machines)]
        cmd += ["--mixed_precision", self.mixed_precision]
        port = self.main_process_port
        if port is None and self.num_machines == 1 and self.num_processes > 1:
            port = free_port()  # two runs on one machine must not meet at accelerate's 29500
        if port:
            cmd += ["--main_process_port", str(port)]
        if self.num_processes > 1 and not self.config_file:
            # DDP across the processes: NCCL on GPUs; on CPU the trainers' use_cpu=True makes it
            # gloo (without --multi_gpu accelerate would start one process, silently)
            cmd += ["--multi_gpu"]
        return cmd + _stage_args(run_dir, stage_dir, phase)

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def world(self) -> dict[str, int]:
        # accelerate's --num_processes is the total over all machines
        return {"processes": self.num_processes, "machines": self.num_machines}


def free_port() -> int:
    """A TCP port free on this machine now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_launcher(cfg: DictConfig) -> Launcher:
    """The configured launcher, for a stage's training processes."""
    lc = cfg.launcher
    if lc.kind == "accelerate":
        return AccelerateLauncher(
            lc.num_processes,
            lc.num_machines,
            lc.mixed_precision,
            lc.accelerate_config,
            lc.main_process_port,
            launcher_env(cfg),
        )
    return LocalLauncher(launcher_env(cfg))


def one_process_launcher(cfg: DictConfig) -> Launcher:
    """For a stage's one-process steps (stage 3's sampling, the hand-off check and evaluation),
    whatever launcher trains: they generate, and vLLM spreads a model over the GPUs itself."""
    return LocalLauncher(launcher_env(cfg))


def launcher_env(cfg: DictConfig) -> dict[str, str]:
    return {str(k): str(v) for k, v in cfg.launcher.env.items()}
