"""Stage 1: cold-start SFT on long chain-of-thought data in the R1 format.

    r1pipe run stage=cold_start                          # on the embedded toy default
    r1pipe run stage=cold_start init_model=PATH cold_start.learning_rate=1e-4
    r1pipe run experiment=r1_qwen2.5_1.5b stage=cold_start   # real scale (GPUs, hub data)

The base model learns the output format `<think>\\n reasoning \\n</think>\\n\\n summary` (loss on
the assistant turn only, end-of-turn token included, so it learns to stop). Reads top to bottom:
data, tokenizer, model, train (or resume), save. The hand-off check and the before/after pass@1
on the held-out split follow in the stage's finish step (r1pipe/pipeline/stage_process.py), into the manifest.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import SFTStageConfig
from r1pipe.config.sections import sft_section_problems
from r1pipe.data.loading import load_cold_start
from r1pipe.models.loading import load_model, load_tokenizer
from r1pipe.run.context import SFT_OPERATIONAL_KEYS, StageContext, StageResult, StageSpec
from r1pipe.run.logs import process_rank

log = logging.getLogger("r1pipe.stages.cold_start")


def check(cfg: DictConfig) -> list[ConfigProblem]:
    return sft_section_problems(cfg, "cold_start")


SPEC = StageSpec(
    name="cold_start",
    module=__name__,
    config_keys=("cold_start", "model", "data.cold_start", "data.toy", "seed"),
    model_from="base",
    schema=SFTStageConfig,
    operational_keys=tuple(f"cold_start.{k}" for k in SFT_OPERATIONAL_KEYS),
    check=check,
    summary="stage 1: SFT on long chain-of-thought data in the R1 format (TRL SFTTrainer)",
)


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    from r1pipe.training.sft import train_and_save  # torch, transformers, trl: only when training

    dataset = load_cold_start(cfg.data)
    if process_rank() == 0:  # one writer: every training process loads the same data
        ctx.data_dir.mkdir(parents=True, exist_ok=True)
        dataset.to_json(str(ctx.data_dir / "train.jsonl"), force_ascii=False)
    log.info("cold-start data: %d examples (%s)", len(dataset), cfg.data.cold_start.path)

    tokenizer = load_tokenizer(ctx.inputs["model"], cfg.model)
    model = load_model(ctx.inputs["model"], cfg.model)
    log.info("model %s: %.2fM parameters", ctx.inputs["model"], model.num_parameters() / 1e6)

    model_dir, metrics = train_and_save(cfg.cold_start, cfg, ctx, model, tokenizer, dataset)
    return StageResult(
        outputs={"model": str(model_dir), "data": str(ctx.data_dir / "train.jsonl")}, metrics=metrics
    )
