"""Stage 1: cold-start SFT on long chain-of-thought data in the R1 format.

    r1pipe run stage=cold_start                          # on the embedded toy default
    r1pipe run stage=cold_start init_model=PATH cold_start.learning_rate=1e-4
    r1pipe run experiment=r1_qwen2.5_1.5b stage=cold_start   # real scale (GPUs, hub data)

The base model learns the output format `<think>\\n reasoning \\n</think>\\n\\n summary` (loss on
the assistant turn only, end-of-turn token included, so it learns to stop). Reads top to bottom:
data, tokenizer, model, evaluation before, train (or resume), save, hand-off check, evaluation
after. The before/after pass@1 on the held-out split lands in the manifest's metrics.
"""

from __future__ import annotations

import json
import logging

from omegaconf import DictConfig

from r1pipe.context import StageContext, StageResult
from r1pipe.data import load_cold_start, load_heldout
from r1pipe.evaluate import evaluate
from r1pipe.handoff import check_loads_and_generates
from r1pipe.logs import process_rank
from r1pipe.models import load_model, load_tokenizer, torch_dtype
from r1pipe.rundir import atomic_write_json
from r1pipe.sft import save_final_model, train_sft

log = logging.getLogger("r1pipe.stages.cold_start")


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    dataset = load_cold_start(cfg.data)
    ctx.data_dir.mkdir(parents=True, exist_ok=True)
    dataset.to_json(str(ctx.data_dir / "train.jsonl"), force_ascii=False)
    log.info("cold-start data: %d examples (%s)", len(dataset), cfg.data.cold_start.path)

    tokenizer = load_tokenizer(ctx.inputs["model"], cfg.model)
    model = load_model(ctx.inputs["model"], cfg.model)
    log.info("model %s: %.2fM parameters", ctx.inputs["model"], model.num_parameters() / 1e6)

    heldout = load_heldout(cfg.data) if cfg.eval.after_stage and process_rank() == 0 else None
    before = _evaluate_once(model, tokenizer, heldout, cfg, ctx, "before") if heldout is not None else None

    trainer, train_metrics = train_sft(
        cfg.cold_start, ctx, model, tokenizer, dataset, cfg.seed, torch_dtype(cfg.model.dtype)
    )
    model_dir = save_final_model(trainer, tokenizer, ctx)
    check_loads_and_generates(model_dir)

    metrics = {**train_metrics, "data/examples": len(dataset)}
    if heldout is not None and before is not None:
        after = _evaluate_once(trainer.model, tokenizer, heldout, cfg, ctx, "after")
        atomic_write_json(ctx.stage_dir / "eval.json", {"before": before, "after": after})
        metrics |= {
            f"eval/before/{k}": v for k, v in before["metrics"].items() if k in ("pass@1", "think_format")
        }
        metrics |= {
            f"eval/after/{k}": v for k, v in after["metrics"].items() if k in ("pass@1", "think_format")
        }
        log.info(
            "held-out pass@1: before %.3f -> after %.3f (%d problems)",
            before["metrics"]["pass@1"],
            after["metrics"]["pass@1"],
            after["metrics"]["problems"],
        )
    return StageResult(
        outputs={"model": str(model_dir), "data": str(ctx.data_dir / "train.jsonl")}, metrics=metrics
    )


def _evaluate_once(model, tokenizer, heldout, cfg: DictConfig, ctx: StageContext, when: str) -> dict:
    """Evaluate and record to eval_<when>.json; a resumed attempt reuses the recorded 'before'."""
    cache = ctx.stage_dir / f"eval_{when}.json"
    if when == "before" and cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    log.info(
        "evaluating the %s model on %d held-out problems",
        when,
        min(cfg.eval.num_problems or len(heldout), len(heldout)),
    )
    result = evaluate(model, tokenizer, heldout, cfg, failure_log=ctx.stage_dir / "reward_failures.jsonl")
    atomic_write_json(cache, result)
    return result
