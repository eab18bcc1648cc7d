"""The world a stage process joined: checked against what the launcher asked for before any work,
and recorded in the manifest after training (DESIGN.md, Processes: nothing falls back silently
to one process).

The launcher writes the world it asked for into the stage's launch.json ({processes, machines});
torchrun (under `accelerate launch`) tells each process the world it joined through WORLD_SIZE and
LOCAL_WORLD_SIZE. After training, accelerate's state (set up by the trainer) says how the
processes talk: distributed type, backend, mixed precision, DeepSpeed ZeRO stage or FSDP.
"""

from __future__ import annotations

import os
from typing import Any


class TopologyMismatch(RuntimeError):  # noqa: N818 (named as the user reads it)
    """The stage process joined a world other than the one the launcher asked for."""


def joined_world() -> dict[str, int]:
    """{processes, machines} of the world this process is part of (1 and 1 when not launched by
    torchrun/accelerate)."""
    processes = _env_int("WORLD_SIZE", 1)
    per_machine = _env_int("LOCAL_WORLD_SIZE", processes)
    return {"processes": processes, "machines": max(1, processes // max(1, per_machine))}


def check_world(expected: dict[str, Any] | None, stage: str) -> dict[str, int]:
    """The joined world; TopologyMismatch when it is not `expected` (launch.json's "world")."""
    got = joined_world()
    if expected and (got["processes"], got["machines"]) != (expected["processes"], expected["machines"]):
        raise TopologyMismatch(
            f"stage {stage} joined a world of {got['processes']} process(es) on {got['machines']} "
            f"machine(s), but the launcher asked for {expected['processes']} on {expected['machines']} "
            "(launcher.num_processes, launcher.num_machines). Check that launcher.accelerate_config "
            "does not set other values, that every machine started its share (Slurm: one task per "
            "node), and on CPU that launcher.kind=accelerate is set."
        )
    return got


def actual_parallelism() -> str | None:
    """single | ddp | fsdp | zero<N>: what accelerate set up (None before a trainer made it)."""
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedType

    if not AcceleratorState._shared_state:
        return None
    state = AcceleratorState()
    if state.distributed_type == DistributedType.DEEPSPEED:
        return f"zero{state.deepspeed_plugin.zero_stage}"
    if state.distributed_type == DistributedType.FSDP:
        return "fsdp"
    return "single" if state.distributed_type == DistributedType.NO else "ddp"


def check_setup(expected: dict[str, Any] | None, stage: str) -> None:
    """After the trainer set up accelerate: the parallelism and mixed precision the launcher asked
    for (launch.json's "world"), or TopologyMismatch. Accelerate itself falls back silently: on CPU
    it runs an FSDP config as DDP."""
    from accelerate.state import AcceleratorState

    if not expected or "parallelism" not in expected or actual_parallelism() is None:
        return
    got = actual_parallelism()
    if got != expected["parallelism"]:
        raise TopologyMismatch(
            f"stage {stage}: the launcher asked for {expected['parallelism']} "
            f"(launcher.accelerate_config, launcher.num_processes) but accelerate set up {got}. "
            "On CPU accelerate runs FSDP as DDP and DeepSpeed does not train: use "
            "launcher.accelerate_config=ddp (or none) there; on GPUs check the accelerate config file."
        )
    want, have = expected.get("mixed_precision"), str(AcceleratorState().mixed_precision)
    if want is not None and want != have:
        raise TopologyMismatch(
            f"stage {stage}: launcher.mixed_precision={want} but the training runs with {have} "
            f"(the trainer follows model.dtype); set launcher.mixed_precision={have}, or model.dtype to match"
        )


def recorded_topology() -> dict[str, Any]:
    """The joined world plus how accelerate set it up, for the manifest and `r1pipe status`."""
    topology: dict[str, Any] = dict(joined_world())
    from accelerate.state import AcceleratorState, PartialState

    if PartialState._shared_state:
        state = PartialState()
        topology["distributed_type"] = str(state.distributed_type.value)
        topology["backend"] = state.backend
    if AcceleratorState._shared_state:
        accelerator = AcceleratorState()
        topology["parallelism"] = actual_parallelism()
        topology["mixed_precision"] = str(accelerator.mixed_precision)
        if accelerator.deepspeed_plugin is not None:
            topology["zero_stage"] = accelerator.deepspeed_plugin.zero_stage
        if getattr(accelerator, "fsdp_plugin", None) is not None:
            topology["fsdp"] = True
    if os.environ.get("SLURM_JOB_ID"):  # started by srun inside a job: which job and step
        topology["slurm"] = {"job": os.environ["SLURM_JOB_ID"], "step": os.environ.get("SLURM_STEP_ID")}
    return topology


def describe(topology: dict[str, Any]) -> str:
    """'2 processes, MULTI_CPU/gloo, no' for status tables; '-' when not recorded."""
    if not topology:
        return "-"
    parts = [
        f"{topology['processes']}x{topology['machines']}"
        if topology["machines"] > 1
        else str(topology["processes"])
    ]
    kind = "/".join(str(topology[k]) for k in ("distributed_type", "backend") if topology.get(k))
    parts += [kind] if kind else []
    parts += [f"zero{topology['zero_stage']}"] if topology.get("zero_stage") else []
    parts += ["fsdp"] if topology.get("fsdp") else []
    parts += [str(topology["mixed_precision"])] if topology.get("mixed_precision") not in (None, "no") else []
    return " ".join(parts)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default
