"""The lifecycle the RL stages share: load the input model, train (or resume) with GRPO, save.
Stages 2 and 4 (and R1-Zero) differ only in their prompts and rewards, which they pass in; the
hand-off check and evaluation follow in the stage's finish step (r1pipe/pipeline/stage_process.py).
"""

from __future__ import annotations

import os

from datasets import Dataset
from omegaconf import DictConfig

from r1pipe.models.loading import load_model, load_tokenizer, torch_dtype
from r1pipe.models.prompt_length import fit_prompts, model_positions
from r1pipe.rewards.registry import RewardFn
from r1pipe.run.context import StageContext, StageResult
from r1pipe.training.grpo import train_grpo
from r1pipe.training.sft import ranks_in_sync, save_final_model


def run_rl_stage(
    cfg: DictConfig,
    ctx: StageContext,
    section: DictConfig,
    prompts: Dataset,
    rewards: list[RewardFn],
    weights: list[float],
    metrics: dict | None = None,
) -> StageResult:
    """Train the input model on `prompts` with `rewards` under the stage's RL `section`
    (cfg.reasoning_rl, cfg.all_scenario_rl); its final model is the stage's output."""
    tokenizer = load_tokenizer(ctx.inputs["model"], cfg.model)
    model = load_model(ctx.inputs["model"], cfg.model)
    prompts = fit_prompts(
        prompts,
        tokenizer,
        model_positions(model.config),
        section.max_completion_length,
        cfg.data.long_prompts,
        f"{ctx.name} prompts",
    )

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    trainer, train_metrics = train_grpo(
        section,
        ctx,
        model,
        tokenizer,
        prompts,
        rewards,
        weights,
        cfg.seed,
        torch_dtype(cfg.model.dtype),
        world_size,
        cfg.generation,
    )
    synced = ranks_in_sync(trainer)
    model_dir = save_final_model(trainer, tokenizer, ctx)
    return StageResult(
        outputs={"model": str(model_dir)}, metrics={**train_metrics, **synced, **(metrics or {})}
    )
