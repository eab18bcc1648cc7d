"""Distillation: fine-tune a smaller student model on a stage-3 SFT set, SFT only, no RL (the
paper's R1-Distill models: 800k samples, 2-3 epochs).

    r1pipe run pipeline=distill student=PATH distill.data=runs/x          # the set of run x's stage 3
    r1pipe run pipeline=distill student=Qwen/Qwen2.5-Math-1.5B distill.data=sft.parquet distill=paper

`distill.data` is a run directory (its complete rejection_sampling stage's set, from the manifest),
an SFT file or directory (a `messages` column), or a hub dataset id; left empty, this run's own
rejection_sampling stage. Reads top to bottom: the set, the student, SFT (or resume), save; the
hand-off check and the before/after evaluation follow in the finish step (r1pipe/pipeline/stage_process.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from r1pipe.data.loading import DataError, load_table, require_columns
from r1pipe.pipeline.context import StageContext, StageResult
from r1pipe.pipeline.rundir import complete_stage_output
from r1pipe.training.models import load_model, load_tokenizer
from r1pipe.training.sft import train_and_save

log = logging.getLogger("r1pipe.stages.distill")


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    source = distill_source(cfg.distill.data, ctx.run_dir)
    dataset = load_table(source, None, "train")
    require_columns(dataset, ["messages"], source, "distill.data")
    log.info("distillation set: %d rows from %s", len(dataset), source)

    tokenizer = load_tokenizer(ctx.inputs["model"], cfg.model)
    model = load_model(ctx.inputs["model"], cfg.model)
    log.info("student %s: %.2fM parameters", ctx.inputs["model"], model.num_parameters() / 1e6)

    model_dir, metrics = train_and_save(cfg.distill.train, cfg, ctx, model, tokenizer, dataset)
    return StageResult(outputs={"model": str(model_dir), "data": source}, metrics=metrics)


def distill_source(data: str | None, run_dir: Path) -> str:
    """The SFT set to distil from: a run dir's stage-3 set (via its manifest), or the path/id given."""
    given = Path(data).expanduser() if data else run_dir
    if given.is_dir() and (found := complete_stage_output(given, "rejection_sampling", "data")) is not None:
        return found
    if data is None:
        raise DataError(
            f"distill.data is not set and {run_dir} has no complete rejection_sampling stage; "
            "set distill.data=RUN_DIR (a run with stage 3 done) or a dataset file with a messages column"
        )
    return str(given) if given.exists() else data
