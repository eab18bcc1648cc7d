"""Stage 2: reasoning-oriented RL with GRPO on verifiable prompts.

    r1pipe run                                             # stages 1 and 2 on the toy default
    r1pipe run stage=reasoning_rl run_dir=runs/x           # only stage 2 (input: stage 1's manifest)
    r1pipe run stage=reasoning_rl init_model=PATH reasoning_rl.learning_rate=1e-6

Starts from the stage-1 model (its manifest) and optimises accuracy + format + language
consistency (reward.funcs / reward.weights; paper: equal weights) with TRL's GRPOTrainer.
Reads top to bottom: prompts, tokenizer, model, rewards, evaluation before, train (or resume),
save, hand-off check, evaluation after.
"""

from __future__ import annotations

import logging
import os

from omegaconf import DictConfig

from r1pipe.context import StageContext, StageResult
from r1pipe.data import load_problems
from r1pipe.evaluate import BeforeAfter
from r1pipe.grpo import train_grpo
from r1pipe.handoff import check_loads_and_generates
from r1pipe.models import load_model, load_tokenizer, torch_dtype
from r1pipe.rewards.build import build_rewards
from r1pipe.sft import save_final_model
from r1pipe.watch import ReflectionCounter, SampleLogger

log = logging.getLogger("r1pipe.stages.reasoning_rl")


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    prompts = load_problems(cfg.data, "rl_prompts")
    log.info("RL prompts: %d (%s)", len(prompts), cfg.data.rl_prompts.path)

    tokenizer = load_tokenizer(ctx.inputs["model"], cfg.model)
    model = load_model(ctx.inputs["model"], cfg.model)
    rewards, weights = build_rewards(cfg.reward, failure_log=ctx.stage_dir / "reward_failures.jsonl")
    log.info("rewards: %s", ", ".join(f"{f.__name__} x{w}" for f, w in zip(rewards, weights, strict=True)))
    # Watchers: weight 0, logged by TRL as rewards/reflective_words/mean; samples to samples.jsonl.
    rewards += [
        ReflectionCounter(cfg.reasoning_rl.reflective_words),
        SampleLogger(ctx.stage_dir / "samples.jsonl", cfg.reasoning_rl.sample_every),
    ]
    weights += [0.0, 0.0]

    evaluation = BeforeAfter(cfg, ctx.stage_dir)
    evaluation.before(model, tokenizer)

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    trainer, train_metrics = train_grpo(
        cfg.reasoning_rl,
        ctx,
        model,
        tokenizer,
        prompts,
        rewards,
        weights,
        cfg.seed,
        torch_dtype(cfg.model.dtype),
        world_size,
    )
    model_dir = save_final_model(trainer, tokenizer, ctx)
    check_loads_and_generates(model_dir)

    metrics = {**train_metrics, "data/prompts": len(prompts), **evaluation.after(trainer.model, tokenizer)}
    return StageResult(outputs={"model": str(model_dir)}, metrics=metrics)
