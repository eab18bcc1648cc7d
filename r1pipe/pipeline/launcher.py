"""Launchers build the command that runs one stage in its own process.

The orchestrator stays one light process; each stage runs in children, so GPU memory is freed
between stages, a crash leaves the orchestrator alive to record it, and the same stage code runs
on one CPU (`python -m r1pipe.pipeline.stage_process`), many GPUs (`accelerate launch -m r1pipe.pipeline.stage_process`) or many
nodes (`srun ... accelerate launch ...` inside a Slurm job).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml
from omegaconf import DictConfig


class Launcher(Protocol):
    def command(self, run_dir: Path, stage_dir: Path, phase: str = "train") -> list[str]: ...

    def module_command(self, module_args: list[str]) -> list[str]:
        """The command that starts `python -m MODULE ARGS` (`module_args`: ["-m", MODULE, ...])
        on the launcher's processes: what `command` does for a stage step, for any module."""
        ...

    def environment(self) -> dict[str, str]: ...

    def world(self) -> dict[str, Any]:
        """The world the stage's processes must find themselves in: {processes, machines,
        parallelism, mixed_precision} (topology.py checks it)."""
        ...


def _stage_args(run_dir: Path, stage_dir: Path, phase: str) -> list[str]:
    return [
        "-m",
        "r1pipe.pipeline.stage_process",
        "--run-dir",
        str(run_dir),
        "--stage-dir",
        str(stage_dir),
        "--phase",
        phase,
    ]


@dataclass(frozen=True)
class LocalLauncher:
    """One process with the orchestrator's own interpreter."""

    env: dict[str, str]

    def command(self, run_dir: Path, stage_dir: Path, phase: str = "train") -> list[str]:
        return self.module_command(_stage_args(run_dir, stage_dir, phase))

    def module_command(self, module_args: list[str]) -> list[str]:
        return [sys.executable, *module_args]

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def world(self) -> dict[str, Any]:
        return {"processes": 1, "machines": 1, "parallelism": "single"}


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
        return self.module_command(_stage_args(run_dir, stage_dir, phase))

    def module_command(self, module_args: list[str]) -> list[str]:
        return [sys.executable, "-m", "accelerate.commands.launch", *self.options(), *module_args]

    def options(self) -> list[str]:
        """`accelerate launch`'s own options: config, processes, machines, precision, port (the
        Slurm launcher adds the machine's own)."""
        args = ["--config_file", self.config_file] if self.config_file else []
        args += ["--num_processes", str(self.num_processes), "--num_machines", str(self.num_machines)]
        args += ["--mixed_precision", self.mixed_precision]
        port = self.main_process_port
        if port is None and self.num_machines == 1 and self.num_processes > 1:
            port = free_port()  # two runs on one machine must not meet at accelerate's 29500
        if port:
            args += ["--main_process_port", str(port)]
        if self.num_processes > 1 and not self.config_file:
            # DDP across the processes: NCCL on GPUs; on CPU the trainers' use_cpu=True makes it
            # gloo (without --multi_gpu accelerate would start one process, silently)
            args += ["--multi_gpu"]
        return args

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def world(self) -> dict[str, Any]:
        # accelerate's --num_processes is the total over all machines
        return {
            "processes": self.num_processes,
            "machines": self.num_machines,
            "parallelism": expected_parallelism(self.config_file, self.num_processes),
            "mixed_precision": self.mixed_precision,
        }


@dataclass(frozen=True)
class SlurmLauncher:
    """Inside a Slurm job (sbatch, salloc): the training processes as one `srun` step over the
    job's nodes, one task per node, each running `accelerate launch` with its machine rank
    (r1pipe.pipeline.slurm_task) and the first node as head. The orchestrator runs on the first node and
    waits for the step; srun's --kill-on-bad-exit stops every node when one task fails."""

    accelerate: AccelerateLauncher
    head: str  # the first node of the job: the rendezvous address
    srun_args: tuple[str, ...] = ()

    def command(self, run_dir: Path, stage_dir: Path, phase: str = "train") -> list[str]:
        return self.module_command(_stage_args(run_dir, stage_dir, phase))

    def module_command(self, module_args: list[str]) -> list[str]:
        nodes = self.accelerate.num_machines
        srun = [
            "srun",
            f"--nodes={nodes}",
            f"--ntasks={nodes}",
            "--ntasks-per-node=1",
            "--kill-on-bad-exit=1",
        ]
        task = [sys.executable, "-m", "r1pipe.pipeline.slurm_task", "--main_process_ip", self.head]
        return [*srun, *self.srun_args, *task, *self.accelerate.options(), *module_args]

    def environment(self) -> dict[str, str]:
        return self.accelerate.environment()

    def world(self) -> dict[str, Any]:
        return self.accelerate.world()


class LauncherError(Exception):
    """The launcher cannot start here (e.g. launcher=slurm outside a Slurm job)."""


# Shipped accelerate configs, by name (launcher.accelerate_config=zero3); anything else is a path.
ACCELERATE_CONFIGS = ("ddp", "fsdp", "zero2", "zero3")


def accelerate_config_path(value: str | None) -> str | None:
    """The file for launcher.accelerate_config: a shipped name or a path (None: none)."""
    if not value:
        return None
    if value in ACCELERATE_CONFIGS:
        return str(resources.files("r1pipe") / "assets" / "accelerate" / f"{value}.yaml")
    return str(Path(value).expanduser().resolve())


def read_accelerate_config(path: str) -> dict[str, Any]:
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return loaded


def expected_parallelism(config_file: str | None, processes: int) -> str:
    """What the training processes must find accelerate set up: single | ddp | fsdp | zero<N>."""
    config = read_accelerate_config(config_file) if config_file else {}
    kind = str(config.get("distributed_type", "NO"))
    if kind == "DEEPSPEED":
        return f"zero{config.get('deepspeed_config', {}).get('zero_stage', 2)}"
    if kind == "FSDP":
        return "fsdp"
    return "ddp" if processes > 1 else "single"


def free_port() -> int:
    """A TCP port free on this machine now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_launcher(cfg: DictConfig) -> Launcher:
    """The configured launcher, for a stage's training processes. LauncherError if it cannot
    start here."""
    lc = cfg.launcher
    if lc.kind == "local":
        return LocalLauncher(launcher_env(cfg))
    config_file = accelerate_config_path(lc.accelerate_config)
    if lc.kind == "slurm":
        # the orchestrator runs on the first node, so a port free here is free on the head
        port = lc.main_process_port or free_port()
        accelerate = AccelerateLauncher(
            lc.num_processes, lc.num_machines, lc.mixed_precision, config_file, port, launcher_env(cfg)
        )
        return SlurmLauncher(accelerate, slurm_head_node(), tuple(str(a) for a in lc.srun_args))
    return AccelerateLauncher(
        lc.num_processes,
        lc.num_machines,
        lc.mixed_precision,
        config_file,
        lc.main_process_port,
        launcher_env(cfg),
    )


def slurm_head_node(environ: Mapping[str, str] = os.environ) -> str:
    """The first node of the Slurm job this process runs in."""
    nodelist = environ.get("SLURM_JOB_NODELIST")
    if not environ.get("SLURM_JOB_ID") or not nodelist:
        raise LauncherError(
            "launcher=slurm starts the training stages inside a Slurm job, and this is not one "
            "(SLURM_JOB_ID is not set); submit the run with sbatch (scripts/slurm/two_nodes.sbatch) "
            "or start it inside `salloc`"
        )
    try:
        found = subprocess.run(
            ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError) as error:
        raise LauncherError(
            f"cannot expand the job's node list {nodelist!r} with scontrol: {error}"
        ) from error
    return found[0]


def one_process_launcher(cfg: DictConfig) -> Launcher:
    """For a stage's one-process steps (the hand-off check and evaluation), whatever launcher
    trains: they generate, and vLLM spreads a model over the GPUs itself."""
    return LocalLauncher(launcher_env(cfg))


def generation_launcher(cfg: DictConfig) -> Launcher:
    """For a step that samples data-parallel (stage 3's prepare): the training launcher's machines,
    GPUs / generation.tensor_parallel_size processes on each (each its own engine on its own GPU
    group, generation/shards.py), plain processes without the DeepSpeed or FSDP config (no
    process shards a model there)."""
    launcher = build_launcher(cfg)
    if isinstance(launcher, LocalLauncher):
        return launcher
    training = launcher.accelerate if isinstance(launcher, SlurmLauncher) else launcher
    assert isinstance(training, AccelerateLauncher)
    tp, lc = cfg.generation.tensor_parallel_size, cfg.launcher
    if (lc.num_processes // lc.num_machines) % tp:
        raise LauncherError(
            f"generation.tensor_parallel_size={tp} does not divide the {lc.num_processes // lc.num_machines} "
            "processes per machine (launcher.num_processes / launcher.num_machines): data-parallel sampling "
            "gives each process a group of tensor_parallel_size GPUs"
        )
    sampling = replace(training, num_processes=training.num_processes // tp, config_file=None)
    return replace(launcher, accelerate=sampling) if isinstance(launcher, SlurmLauncher) else sampling


def launcher_env(cfg: DictConfig) -> dict[str, str]:
    return {str(k): str(v) for k, v in cfg.launcher.env.items()}


def describe_launch(cfg: DictConfig, prepare: str | None) -> str:
    """How a stage's steps would start, for `r1pipe run --dry-run`: its prepare step (`prepare`:
    None, "one" process or "all" of the launcher's, StageSpec.prepare_processes), the training
    processes (launcher, processes, machines, parallelism, precision) and the finish step."""
    lc = cfg.launcher
    if lc.kind == "local":
        train = "1 process"
    else:
        parallelism = expected_parallelism(accelerate_config_path(lc.accelerate_config), lc.num_processes)
        how = (
            "accelerate launch"
            if lc.kind == "accelerate"
            else "srun, 1 task per node, each accelerate launch"
        )
        train = f"{how}: {lc.num_processes} processes on {lc.num_machines} machine(s), {parallelism}, {lc.mixed_precision}"
    steps = []
    tp = cfg.generation.tensor_parallel_size
    sampling = f"{lc.num_processes // tp} processes sampling data-parallel (tensor parallel {tp} each)"
    if prepare == "all" and lc.kind != "local":
        steps.append(f"prepare: {sampling}")
    elif prepare:
        steps.append("prepare: 1 process")
    steps.append(f"train: {train}")
    if cfg.eval.after_stage and lc.kind != "local":
        steps.append(f"finish (hand-off check and scoring on the main process, evaluation): {sampling}")
    else:
        steps.append("finish (hand-off check, evaluation): 1 process")
    return "; ".join(steps)
