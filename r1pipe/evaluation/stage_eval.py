"""Evaluation inside the pipeline: each stage's input model (before) and final model (after) on
eval.benchmarks, loaded from disk in the stage's own "finish" step, after the training processes
have exited (so every GPU is free, and vLLM serves where `generation.backend` asks for it: the
same engine path as `r1pipe eval`). Under a multi-process launcher every process of that step
samples its chunks of each benchmark (evaluation/loop.py) and the main one scores them.

A stage's "before" is the previous stage's "after" (the same model): it is copied, not evaluated
again, when it was measured with the same protocol (problems, k, sampling settings). Only the
first stage of a run, or a stage started from init_model, evaluates its input model.

Written to the stage dir: eval_before.json and eval_after.json ({benchmark: summary}), per-problem
records in eval/<before|after>/<benchmark>.jsonl, eval.json ({"before": ..., "after": ...}) and
the manifest metrics `eval/<when>/<benchmark>/<metric>`. eval.after_stage=false turns it off.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from r1pipe.evaluation.benchmarks import Benchmark, load_benchmark
from r1pipe.evaluation.loop import ALONE, fitted, protocol, sample_benchmark, score_benchmark
from r1pipe.generation import open_engine
from r1pipe.generation.shards import Share, launch_id
from r1pipe.run.context import StageContext
from r1pipe.run.fingerprint import still_valid
from r1pipe.run.rundir import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

# Per benchmark into the manifest (pass@k / cons@k under their own k, added below).
MANIFEST_KEYS = ("pass@1", "pass@1_se", "language_consistency", "mean_length", "think_format", "answered")


def write_problem_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Per-problem results as JSONL, written atomically (a crash never leaves half a file)."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def manifest_metrics(when: str, results: dict[str, dict]) -> dict[str, Any]:
    """`eval/<when>/<benchmark>/<metric>` for the headline metrics of each benchmark."""
    out: dict[str, Any] = {}
    for name, summary in results.items():
        k, metrics = summary["k"], summary["metrics"]
        keys = (*MANIFEST_KEYS, f"pass@{k}", f"cons@{k}")
        out |= {f"eval/{when}/{name}/{key}": metrics[key] for key in keys if metrics.get(key) is not None}
    return out


def _same_protocol(summary: dict | None, bench: Benchmark, cfg: DictConfig) -> bool:
    """A recorded result is reusable only for the same problems, k and sampling settings (eval.*
    are not part of a stage's fingerprint, so they may have changed since)."""
    if not isinstance(summary, dict) or "metrics" not in summary:
        return False
    return still_valid(summary.get("protocol_key"), protocol(bench, cfg.eval))


def evaluate_model(
    cfg: DictConfig,
    model: str,
    benchmarks: list[Benchmark],
    rows_dir: Path,
    failure_log: Path,
    share: Share = ALONE,
    on_result: Callable[[str, dict], None] | None = None,
) -> dict[str, dict]:
    """Every benchmark on the model saved at `model`, with the engine `generation.backend` picks
    (batch size eval.batch_size); per-problem rows to rows_dir/<benchmark>.jsonl, then
    `on_result(name, summary)` (`r1pipe eval` writes its summary after each benchmark). Under
    several processes each samples its chunks (rows_dir/chunks/<launch>/, removed once read) and
    the main process scores; the others return {}."""
    generation = cfg.generation.copy()
    generation.batch_size = cfg.eval.batch_size
    chunks_dir = rows_dir / "chunks" / launch_id() if share.world > 1 else None
    results = {}
    with open_engine(model, cfg.model, generation) as engine:
        for bench in benchmarks:
            bench = fitted(bench, engine, cfg)
            samples, seconds = sample_benchmark(engine, bench, cfg, share, chunks_dir)
            if samples is None:
                continue  # another process scores them
            result = score_benchmark(bench, samples, cfg, engine.backend, seconds, failure_log)
            write_problem_rows(rows_dir / f"{bench.name}.jsonl", result.rows)
            results[bench.name] = result.summary
            if on_result is not None:
                on_result(bench.name, result.summary)
    if chunks_dir is not None and share.is_main:
        shutil.rmtree(chunks_dir.parent, ignore_errors=True)  # every row is written
    return results


def _recorded(source_dir: Path, when: str, benchmarks: list[Benchmark], cfg: DictConfig) -> dict | None:
    """`source_dir`'s eval_<when>.json if it holds every benchmark under the current protocol."""
    path = source_dir / f"eval_{when}.json"
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    if not all(_same_protocol(recorded.get(b.name), b, cfg) for b in benchmarks):
        log.info("%s was measured with other eval settings; evaluating again", path)
        return None
    return {b.name: recorded[b.name] for b in benchmarks}


def _adopt(source_dir: Path, stage_dir: Path, benchmarks: list[Benchmark]) -> None:
    """Copy the previous stage's per-problem 'after' rows as this stage's 'before' rows."""
    for bench in benchmarks:
        rows = source_dir / "eval" / "after" / f"{bench.name}.jsonl"
        if rows.is_file():
            (stage_dir / "eval" / "before").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(rows, stage_dir / "eval" / "before" / rows.name)


def evaluate_before(
    cfg: DictConfig, ctx: StageContext, benchmarks: list[Benchmark], share: Share = ALONE
) -> dict[str, dict]:
    """The input model's figures: the previous stage's 'after', this stage's recorded 'before'
    (a finish step that crashed after it), or a fresh evaluation of the input model. Every
    process decides the same way (from files the main process writes only after evaluating)."""
    before_file = ctx.stage_dir / "eval_before.json"
    if ctx.inputs.get("from_stage"):
        previous_dir = Path(ctx.inputs["model"]).parent
        if (found := _recorded(previous_dir, "after", benchmarks, cfg)) is not None:
            log.info("'before' = the 'after' of %s (the same model)", previous_dir.name)
            if share.is_main:
                _adopt(previous_dir, ctx.stage_dir, benchmarks)
                atomic_write_json(before_file, found)
            return found
    if (found := _recorded(ctx.stage_dir, "before", benchmarks, cfg)) is not None:
        return found
    log.info("evaluating the input model %s", ctx.inputs["model"])
    results = evaluate_model(
        cfg,
        ctx.inputs["model"],
        benchmarks,
        ctx.stage_dir / "eval" / "before",
        ctx.stage_dir / "reward_failures.jsonl",
        share,
    )
    if share.is_main:
        atomic_write_json(before_file, results)
    return results


def evaluate_stage(
    cfg: DictConfig, ctx: StageContext, model_dir: Path, share: Share = ALONE
) -> dict[str, Any]:
    """The stage's before/after figures as manifest metrics (eval/before/heldout/pass@1, ...);
    {} from any process but the main one, which only sample."""
    if not cfg.eval.after_stage:
        return {}
    benchmarks = [load_benchmark(cfg, name) for name in cfg.eval.benchmarks]
    before = evaluate_before(cfg, ctx, benchmarks, share)
    log.info("evaluating the stage's final model %s", model_dir)
    after = evaluate_model(
        cfg,
        str(model_dir),
        benchmarks,
        ctx.stage_dir / "eval" / "after",
        ctx.stage_dir / "reward_failures.jsonl",
        share,
    )
    if not share.is_main:
        return {}
    atomic_write_json(ctx.stage_dir / "eval_after.json", after)
    atomic_write_json(ctx.stage_dir / "eval.json", {"before": before, "after": after})
    for name, summary in after.items():
        b, a = before[name]["metrics"], summary["metrics"]
        log.info(
            "%s pass@1: before %s -> after %s; language consistency %s -> %s (%d problems, k=%d)",
            name,
            b.get("pass@1"),
            a.get("pass@1"),
            b.get("language_consistency"),
            a.get("language_consistency"),
            summary["problems"],
            summary["k"],
        )
    return manifest_metrics("before", before) | manifest_metrics("after", after)
