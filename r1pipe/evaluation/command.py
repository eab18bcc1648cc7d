"""`r1pipe eval TARGET [OVERRIDES]`: evaluate a model on eval.benchmarks, outside a pipeline run.

TARGET is a Hugging Face model dir, a stage dir of a run (its final model), or a run dir (the
model of its last complete stage). For a run or stage, the run's own data, reward and model
settings are used (its held-out split, its accuracy reward) unless the command line overrides
them. Results go to `<stage>/evals/<time>/` (or `runs_root/eval/<model>-<time>/`, or --out):
summary.json with every benchmark's metrics and <benchmark>.jsonl with one record per problem.

    r1pipe eval runs/x eval.benchmarks=[heldout] eval.samples_per_problem=16
    r1pipe eval /models/my-r1 eval=paper eval.suite.math500.path=/data/math500.jsonl generation=vllm
    r1pipe eval /models/my-r1 generation=vllm launcher=accelerate launcher.num_processes=8

Under `launcher=accelerate` (or slurm) the samples are drawn on the launcher's processes, GPUs /
generation.tensor_parallel_size of them, each its own engine and chunks of each benchmark
(evaluation/loop.py: the same samples as one process), and the main one scores and writes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from r1pipe.evaluation.benchmarks import load_benchmark
from r1pipe.evaluation.loop import ALONE
from r1pipe.evaluation.stage_eval import evaluate_model
from r1pipe.generation.shards import Share, restrict_visible_devices, this_process_share
from r1pipe.models.loading import model_dir_problem
from r1pipe.rewards.guard import shutdown_pools
from r1pipe.run.logs import setup_logging
from r1pipe.run.rundir import atomic_write_json, atomic_write_text, read_manifest

log = logging.getLogger(__name__)

RUN_SECTIONS = ("data", "reward", "model")  # taken from the run's config unless overridden


class EvalTargetError(Exception):
    """TARGET is not a model, stage or run directory; the message says what was found."""


@dataclass(frozen=True)
class Target:
    model: Path  # the model dir to load
    stage_dir: Path | None  # the stage it came from (None: an outside model)
    run_config: Path | None  # the run's config.yaml (None: an outside model)


def resolve_target(path: Path) -> Target:
    """The model TARGET names, checked without loading it (a corrupt config.json, truncated
    weights, a stage whose model/ is gone are named here, not by the library's loader)."""
    target = _find_target(path.expanduser().resolve())
    if why := model_dir_problem(str(target.model)):
        raise EvalTargetError(f"{why}; give a complete model dir, or rerun the stage that made it")
    return target


def _find_target(path: Path) -> Target:
    if (path / "plan.json").exists():
        return _last_complete_stage(path)
    if (path / "manifest.json").exists():
        return _stage_model(path)
    if (path / "config.json").exists():
        return Target(path, None, None)
    raise EvalTargetError(
        f"{path} is not a model dir (no config.json), a stage dir (no manifest.json) or a run dir "
        "(no plan.json); give one of those"
    )


def _stage_model(stage_dir: Path) -> Target:
    manifest = read_manifest(stage_dir)
    if manifest is None or not manifest.complete or "model" not in manifest.outputs:
        raise EvalTargetError(
            f"stage {stage_dir} has no final model (status: {manifest.status if manifest else 'unreadable'}); "
            "finish it with `r1pipe run run_dir=...`, or give its model dir"
        )
    return Target(Path(manifest.outputs["model"]), stage_dir, stage_dir.parent / "config.yaml")


def _last_complete_stage(run_dir: Path) -> Target:
    plan = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
    for entry in reversed(plan["stages"]):
        manifest = read_manifest(run_dir / entry["dir"])
        if manifest and manifest.complete and "model" in manifest.outputs:
            return _stage_model(run_dir / entry["dir"])
    raise EvalTargetError(
        f"run {run_dir} has no complete stage with a model yet; `r1pipe status {run_dir}` shows why"
    )


def with_run_settings(cfg: DictConfig, target: Target, overrides: list[str]) -> DictConfig:
    """The run's data/reward/model sections in place of the defaults; command-line keys in them
    (`reward.timeout_s=10`) still win. A group override (`data=math`) replaces the run's section."""
    if target.run_config is None or not target.run_config.exists():
        return cfg
    run_cfg = OmegaConf.load(target.run_config)
    assert isinstance(run_cfg, DictConfig), f"{target.run_config} is not a mapping"
    parsed = OverridesParser.create().parse_overrides(overrides)
    for section in RUN_SECTIONS:
        if section not in run_cfg or any(o.key_or_group == section for o in parsed):
            continue
        cfg.merge_with({section: run_cfg[section]})  # typed: the schema checks the run's values
        for o in parsed:
            if o.key_or_group.startswith(f"{section}.") and not o.is_delete():
                OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
    return cfg


def output_dir(cfg: DictConfig, target: Target, out: Path | None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if out is not None:
        return out.expanduser().resolve()
    if target.stage_dir is not None:
        return target.stage_dir / "evals" / stamp
    return (Path(cfg.runs_root).expanduser() / "eval" / f"{target.model.name}-{stamp}").resolve()


def run_eval(cfg: DictConfig, target: Target, out_dir: Path, share: Share = ALONE) -> dict:
    """Every benchmark of eval.benchmarks on the target model; summary.json + per-problem JSONL.
    Under several processes (`worker`) each samples its chunks of each benchmark and the main
    process scores and writes; the others return {}."""
    benchmarks = [load_benchmark(cfg, name) for name in cfg.eval.benchmarks]  # fail before loading
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("evaluating %s on %s -> %s", target.model, ", ".join(cfg.eval.benchmarks), out_dir)
    summary: dict = {"model": str(target.model), "benchmarks": {}, "processes": share.world}

    def keep(name: str, result: dict) -> None:
        summary["engine"] = result["engine"]
        summary["benchmarks"][name] = result
        atomic_write_json(out_dir / "summary.json", summary)  # after each: a crash keeps the rest

    failures = out_dir / "reward_failures.jsonl"
    evaluate_model(cfg, str(target.model), benchmarks, out_dir, failures, share, on_result=keep)
    return summary if share.is_main else {}


WORKER_CONFIG, WORKER_TARGET = "eval_config.yaml", "eval_target.json"


def write_worker_inputs(cfg: DictConfig, target: Target, out_dir: Path) -> list[str]:
    """What the evaluation processes read (`worker`): the config and the target, in `out_dir`;
    returns the module arguments that start one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / WORKER_CONFIG, OmegaConf.to_yaml(cfg, resolve=True))
    atomic_write_json(out_dir / WORKER_TARGET, {k: str(v) if v else None for k, v in target.__dict__.items()})
    return ["-m", "r1pipe.evaluation.command", "--worker", str(out_dir)]


def worker(out_dir: Path) -> None:
    """One of the processes `r1pipe eval ... launcher=accelerate` starts: its share of the samples."""
    cfg = OmegaConf.load(out_dir / WORKER_CONFIG)
    assert isinstance(cfg, DictConfig)
    setup_logging(cfg.log_level, None)
    recorded = json.loads((out_dir / WORKER_TARGET).read_text(encoding="utf-8"))
    optional = {k: Path(recorded[k]) if recorded[k] else None for k in ("stage_dir", "run_config")}
    target = Target(Path(recorded["model"]), **optional)
    share = this_process_share()
    if share.world > 1:
        restrict_visible_devices(cfg.generation.tensor_parallel_size)  # its own GPU(s), before CUDA starts
    try:
        run_eval(cfg, target, out_dir, share)
    finally:
        shutdown_pools()


def summary_table(summary: dict) -> str:
    """One line per benchmark: pass@1 with SE and interval, pass@k, cons@k, length, language."""
    lines = [f"model: {summary['model']} ({summary.get('engine')})"]
    header = f"{'benchmark':<16}{'k':>4}{'problems':>10}  {'pass@1 (SE) [95% CI]':<30}{'pass@k':>8}{'cons@k':>8}{'length':>8}{'lang':>7}"
    lines += [header, "-" * len(header)]
    for name, s in summary["benchmarks"].items():
        m, k = s["metrics"], s["k"]
        ci = m.get("pass@1_ci95")
        p1 = f"{_num(m.get('pass@1'))} ({_num(m.get('pass@1_se'))})" + (
            f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        )
        lines.append(
            f"{name:<16}{k:>4}{s['problems']:>10}  {p1:<30}{_num(m.get(f'pass@{k}')):>8}"
            f"{_num(m.get(f'cons@{k}')):>8}{_num(m.get('mean_length'), 1):>8}{_num(m.get('language_consistency'), 2):>7}"
        )
    return "\n".join(lines)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="An evaluation process started by `r1pipe eval` under a launcher."
    )
    parser.add_argument("--worker", required=True, type=Path, help="the output dir holding its inputs")
    worker(parser.parse_args().worker)
