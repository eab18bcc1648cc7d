"""The stage process: `python -m r1pipe.stage --run-dir R --stage-dir R/01_cold_start`.

Started by a launcher (directly, or under `accelerate launch`). Reads the resolved config and
the launch record the orchestrator wrote into the stage dir, runs the stage's `run(cfg, ctx)`,
and on success writes the manifest, last and atomically (rank 0 only).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from omegaconf import OmegaConf

from r1pipe.context import StageContext
from r1pipe.logs import process_rank, setup_logging
from r1pipe.registry import stage_spec
from r1pipe.rewards.guard import shutdown_pools
from r1pipe.rundir import write_manifest
from r1pipe.topology import check_world, recorded_topology

log = logging.getLogger("r1pipe.stage")
PACKAGES = ("r1pipe", "torch", "transformers", "trl", "peft", "datasets", "accelerate", "vllm")


def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one r1pipe stage (started by the orchestrator).")
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--stage-dir", required=True, type=Path)
    args = parser.parse_args(argv)

    cfg = OmegaConf.load(args.stage_dir / "config.yaml")
    launch = json.loads((args.stage_dir / "launch.json").read_text(encoding="utf-8"))
    setup_logging(cfg.log_level, args.run_dir)
    ctx = StageContext(
        run_dir=args.run_dir,
        stage_dir=args.stage_dir,
        name=launch["name"],
        index=launch["index"],
        fingerprint=launch["fingerprint"],
        inputs=launch["inputs"],
        resume_from=launch.get("resume_from"),
    )
    check_world(launch.get("world"), ctx.name)  # before any work: no silent fallback to one process
    module = importlib.import_module(stage_spec(ctx.name).module)
    started = time.time()
    try:
        result = module.run(cfg, ctx)
    finally:
        shutdown_pools()  # verification workers must not outlive the stage
    if process_rank() == 0:
        write_manifest(
            args.stage_dir,
            stage=ctx.name,
            status="complete",
            fingerprint=ctx.fingerprint,
            inputs=ctx.inputs,
            outputs=result.outputs,
            metrics=result.metrics,
            versions=package_versions(),
            wall_time_s=round(time.time() - started, 1),
            topology=recorded_topology(),
        )
        log.info("stage %s complete: %s", ctx.name, json.dumps(result.metrics, default=str))


if __name__ == "__main__":
    main()
