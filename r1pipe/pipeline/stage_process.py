"""The stage process: `python -m r1pipe.pipeline.stage_process --run-dir R --stage-dir R/01_cold_start --phase P`.

The orchestrator runs a stage's steps, one after another (each its own process under a
multi-process launcher; all in one child under the local launcher, `--phase prepare,train,finish`):
  prepare  stages that have it (stage 3: sampling and its SFT set), -> prepared.json; on the
           launcher's processes where the stage samples data-parallel (its SPEC says), else one
  train    the launcher's N processes (accelerate, Slurm): the stage's `run(cfg, ctx)`, which
           only loads, trains and saves -> trained.json (main process)
  finish   on the saved model with every GPU free: the hand-off check and the before/after
           evaluation -> manifest.json, written last and atomically; the evaluations sample on
           the launcher's processes (GPUs / tensor parallel), the main process does the rest
so a crash in evaluation never costs the training, and N training processes never wait on one
rank's generation.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shutil
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigError
from r1pipe.data.loading import DataError
from r1pipe.models.loading import TokenizerError
from r1pipe.models.prompt_length import PromptTooLong
from r1pipe.rewards.guard import shutdown_pools
from r1pipe.run.context import StageContext, StageResult, StageStopped
from r1pipe.run.logs import process_rank, setup_logging
from r1pipe.run.rundir import (
    ERRORS,
    PREPARED,
    TRAINED,
    atomic_write_json,
    disk_nearly_full,
    new_completion_id,
    read_phase_result,
    write_manifest,
    write_phase_result,
)
from r1pipe.run.topology import check_world, joined_world, recorded_topology

# Each reward worker imports this module as its __main__, so what only a phase needs is imported
# inside that phase, for import cost: run.interrupt (transformers' TrainerCallback), the hand-off
# check (torch), the evaluation and its sharing (the generation package), and stage_specs (every
# stage module).

log = logging.getLogger("r1pipe.pipeline.stage_process")

# Errors whose message names the value, the key and the fix (and stops on purpose): the stage
# process prints that message, not a traceback, and the orchestrator reports it once.
SAYS_IT_ALL: tuple[type[Exception], ...] = (
    StageStopped,
    ConfigError,
    DataError,
    PromptTooLong,
    TokenizerError,
)
PACKAGES = ("r1pipe", "torch", "transformers", "trl", "peft", "datasets", "accelerate", "vllm")
PHASES = ("prepare", "train", "finish")


def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _result(recorded: dict[str, Any] | None) -> StageResult | None:
    return StageResult(recorded["outputs"], recorded["metrics"]) if recorded else None


def prepare(cfg: DictConfig, ctx: StageContext, module: Any) -> None:
    from r1pipe.run.interrupt import install_stop_handlers

    install_stop_handlers()  # SIGTERM / Ctrl-C: finish the current shard, end "interrupted"
    started = time.time()
    result: StageResult | None = module.prepare(cfg, ctx)
    if result is None:  # a process other than the main one, its share of the work done
        return
    write_phase_result(
        ctx.stage_dir,
        PREPARED,
        {
            "fingerprint": ctx.fingerprint,
            "outputs": result.outputs,
            "metrics": result.metrics,
            "wall_time_s": round(time.time() - started, 1),
            "processes": joined_world()["processes"],
        },
    )


def train(cfg: DictConfig, ctx: StageContext, module: Any) -> None:
    from r1pipe.run.interrupt import install_stop_handlers

    check_world(ctx.world, ctx.name)  # before any work: no silent fallback to one process
    install_stop_handlers()  # SIGTERM / Ctrl-C: finish the step, save, end "interrupted"
    started = time.time()
    result: StageResult = module.run(cfg, ctx)
    if process_rank() == 0:
        write_phase_result(
            ctx.stage_dir,
            TRAINED,
            {
                "fingerprint": ctx.fingerprint,
                # The identity of this result: its manifest carries it, so a re-finished stage
                # (its manifest lost, its model the same) leaves later stages valid.
                "completion_id": new_completion_id(),
                "outputs": result.outputs,
                "metrics": result.metrics,
                "wall_time_s": round(time.time() - started, 1),
                "topology": recorded_topology(),
                "versions": package_versions(),
            },
        )
        log.info("stage %s trained: %s", ctx.name, json.dumps(result.metrics, default=str))
    end_distributed()


def end_distributed() -> None:
    """Leave the process group together and cleanly: a rank that exits while its gloo/NCCL
    threads still run can abort at interpreter exit (seen: SIGABRT, "terminate called without
    an active exception", after a finished training), which fails the whole step."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # every rank is done, and rank 0 has written trained.json
    rollouts = sys.modules.get(
        "r1pipe.generation.vllm_rollouts"
    )  # loaded by GRPO only: importing it loads vLLM
    if rollouts is not None:
        rollouts.shutdown_colocated_engines()  # after the barrier: vLLM's shutdown destroys the group
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def finish(cfg: DictConfig, ctx: StageContext) -> None:
    """Hand-off check and evaluation on the saved model, then the manifest (complete). Under
    several processes (the evaluations sample data-parallel) the main process checks, scores and
    writes; the others sample their chunks of each evaluation and end."""
    from r1pipe.evaluation.stage_eval import evaluate_stage
    from r1pipe.generation.shards import restrict_visible_devices, this_process_share
    from r1pipe.pipeline.handoff import check_handoff

    share = this_process_share()
    if share.world > 1:
        restrict_visible_devices(cfg.generation.tensor_parallel_size)  # its own GPU(s), before CUDA starts
    trained = read_phase_result(ctx.stage_dir, TRAINED, ctx.fingerprint)
    if trained is None:
        raise RuntimeError(f"{ctx.stage_dir / TRAINED} is missing: the stage's training did not finish")
    started = time.time()
    metrics = dict(trained["metrics"])
    if "model" in trained["outputs"]:
        model_dir = Path(trained["outputs"]["model"])
        if share.is_main:
            check_handoff(model_dir, cfg)
        metrics |= evaluate_stage(cfg, ctx, model_dir, share)
    if not share.is_main:
        return
    prepared = read_phase_result(ctx.stage_dir, PREPARED, ctx.fingerprint) or {}
    write_manifest(
        ctx.stage_dir,
        stage=ctx.name,
        status="complete",
        fingerprint=ctx.fingerprint,
        inputs=ctx.inputs,
        outputs=trained["outputs"],
        metrics=metrics,
        versions=trained["versions"],
        wall_time_s=round(prepared.get("wall_time_s", 0) + trained["wall_time_s"] + time.time() - started, 1),
        # where a prepare step ran, on how many processes (stage 3 samples on all of them), and
        # how many sampled the evaluations
        topology=trained["topology"]
        | ({"prepare_processes": prepared["processes"]} if "processes" in prepared else {})
        | {"finish_processes": share.world},
        completion_id=trained.get("completion_id") or new_completion_id(),
    )
    log.info("stage %s complete: %s", ctx.name, json.dumps(metrics, default=str))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Run steps of an r1pipe stage (started by the orchestrator)."
    )
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--stage-dir", required=True, type=Path)
    parser.add_argument(
        "--phase",
        default="train",
        help=f"one of {', '.join(PHASES)}, or several in order: prepare,train,finish",
    )
    args = parser.parse_args(argv)
    phases = args.phase.split(",")
    if not set(phases) <= set(PHASES):
        parser.error(f"--phase {args.phase}: use {', '.join(PHASES)}")

    phase = phases[0]
    try:
        cfg = OmegaConf.load(args.stage_dir / "config.yaml")
        assert isinstance(cfg, DictConfig)
        setup_logging(cfg.log_level, args.run_dir)
        keep_trl_from_importing_vllm(cfg, stage_context(args.run_dir, args.stage_dir).name)
        for phase in phases:
            run_phase(phase, cfg, stage_context(args.run_dir, args.stage_dir))
    except Exception as error:
        full = disk_nearly_full(args.stage_dir)  # before the clean-up below frees space again
        if process_rank() == 0:
            discard_unfinished_writes(args.stage_dir)  # room for the record, on a full disk
        try:
            record_error(args.stage_dir, phase, error, full)
        except OSError as write_error:  # the disk is full: say it here, the orchestrator diagnoses it too
            print(
                f"r1pipe: could not record the error in {args.stage_dir / ERRORS}: {write_error}",
                file=sys.stderr,
            )
        if isinstance(error, SAYS_IT_ALL):  # a stop on purpose or a user error: its message, no traceback
            print(f"r1pipe: {args.stage_dir.name}: {type(error).__name__}: {error}", file=sys.stderr)
            sys.exit(1)
        raise
    finally:
        shutdown_pools()  # verification workers must not outlive the stage


def keep_trl_from_importing_vllm(cfg: DictConfig, stage: str) -> None:
    """TRL's GRPO module imports vLLM when vLLM is installed, whether or not the rollouts use it:
    3-4 s of every RL stage on the CPU. An RL stage whose rollouts are transformers' tells TRL
    vLLM is not there before TRL loads (TRL reads `is_vllm_available` as its modules import); a
    stage with vLLM rollouts, and every other stage, imports as before. Only in the stage process,
    which runs one stage: a test process that runs a stage in-process keeps TRL's own answer.
    (Considered: TRL has no switch for this; importing lazily is TRL's change to make.)"""
    section = cfg.get(stage)
    if not isinstance(section, DictConfig) or section.get("generation") != "transformers":
        return
    if any(name.startswith("trl.generation") for name in sys.modules):
        return  # too late: TRL's vLLM modules are loaded and decided
    trl_imports = importlib.import_module("trl.import_utils")  # (trl's lazy top module hides it)
    setattr(trl_imports, "is_vllm_available", lambda *args, **kwargs: False)  # noqa: B010 (import_module's result has no attributes for mypy)


def record_error(stage_dir: Path, phase: str, error: Exception, full_disk: str | None = None) -> None:
    """errors/rank<N>.json: what this process raised, so that the orchestrator can tell a failure
    (an error, with its message) from an interruption (a process killed, which raises nothing).
    `full_disk` (rundir.disk_nearly_full) is added to the message: torch's write error on a full
    disk says only "file write failed"."""
    rank = process_rank()
    message = str(error)[:2000]
    if full_disk:
        message += f" [{full_disk}]"
    atomic_write_json(
        stage_dir / ERRORS / f"rank{rank}.json",
        {"phase": phase, "rank": rank, "type": type(error).__name__, "message": message},
    )


def discard_unfinished_writes(stage_dir: Path) -> None:
    """A failed stage's half-written checkpoint (`checkpoints/checkpoint-N`, never resumed from:
    only published `step_*` dirs are) and final model (`model.tmp`): removed, so that a full
    disk has room for the error record, and nothing half-written is left behind."""
    for partial in [*(stage_dir / "checkpoints").glob("checkpoint-*"), stage_dir / "model.tmp"]:
        shutil.rmtree(partial, ignore_errors=True)


def stage_context(run_dir: Path, stage_dir: Path) -> StageContext:
    """What the launch record (and an earlier prepare step) tell the stage."""
    launch = json.loads((stage_dir / "launch.json").read_text(encoding="utf-8"))
    return StageContext(
        run_dir=run_dir,
        stage_dir=stage_dir,
        name=launch["name"],
        index=launch["index"],
        fingerprint=launch["fingerprint"],
        inputs=launch["inputs"],
        resume_from=launch.get("resume_from"),
        prepared=_result(read_phase_result(stage_dir, PREPARED, launch["fingerprint"])),
        world=launch.get("world") or {},
    )


def run_phase(phase: str, cfg: DictConfig, ctx: StageContext) -> None:
    if phase == "finish":
        release_training_memory()
        finish(cfg, ctx)
        return
    from r1pipe.pipeline.stage_specs import stage_spec

    module = importlib.import_module(stage_spec(ctx.name).module)
    if phase == "prepare":
        prepare(cfg, ctx, module)
    else:
        train(cfg, ctx, module)


def release_training_memory() -> None:
    """In a one-process launch, finish follows train in the same process: the trainer and model
    are unreferenced by now; collect them and return their GPU memory before evaluation."""
    import gc

    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
