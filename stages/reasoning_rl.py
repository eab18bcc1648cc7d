"""Stage 2: reasoning-oriented RL with GRPO on verifiable prompts.

    r1pipe run                                             # the whole pipeline on the toy default
    r1pipe run stage=reasoning_rl run_dir=runs/x           # only stage 2 (input: stage 1's manifest)
    r1pipe run stage=reasoning_rl init_model=PATH reasoning_rl.learning_rate=1e-6

Starts from the stage-1 model (its manifest) and optimises accuracy + format + language
consistency (reward.funcs / reward.weights; paper: equal weights) with TRL's GRPOTrainer.
Reads top to bottom: prompts, rewards, then the RL lifecycle it shares with stage 4
(r1pipe/training/rl.py): tokenizer, model, train (or resume), save. The hand-off check and the
before/after evaluation follow in the stage's finish step (r1pipe/pipeline/stage_process.py).
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import RLStageConfig
from r1pipe.config.sections import grpo_section_problems
from r1pipe.data.loading import load_problems
from r1pipe.rewards.build import build_rewards
from r1pipe.run.context import StageContext, StageResult, StageSpec, rl_operational_keys
from r1pipe.toy.reward_models import resolve_toy_reward_models
from r1pipe.training.watchers import ReflectionCounter, SampleLogger

log = logging.getLogger("r1pipe.stages.reasoning_rl")


def check(cfg: DictConfig) -> list[ConfigProblem]:
    return grpo_section_problems(cfg, "reasoning_rl")


SPEC = StageSpec(
    name="reasoning_rl",
    module=__name__,
    config_keys=(
        "reasoning_rl",
        "reward",
        "data.rl_prompts",
        "data.toy",
        "data.long_prompts",
        "model.chat_template",
        "seed",
    ),
    model_from="previous",
    schema=RLStageConfig,
    # reward.routing is stage 4's: stage 2 sums reward.funcs, so routes never change its result.
    operational_keys=rl_operational_keys("reasoning_rl") + ("reward.routing",),
    check=check,
    summary="stage 2: reasoning RL with GRPO; accuracy + format + language-consistency rewards (TRL GRPOTrainer)",
)


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    from r1pipe.training.rl import run_rl_stage  # torch, transformers, trl: only when training

    prompts = load_problems(cfg.data, "rl_prompts")
    log.info("RL prompts: %d (%s)", len(prompts), cfg.data.rl_prompts.path)

    # A `toy:<judge>` reward model named in reward.funcs is trained into the stage dir (as in stage 4).
    reward_cfg = resolve_toy_reward_models(cfg.reward, ctx.stage_dir / "reward_models", cfg.reward.funcs)
    rewards, weights = build_rewards(reward_cfg, failure_log=ctx.stage_dir / "reward_failures.jsonl")
    log.info("rewards: %s", ", ".join(f"{f.__name__} x{w}" for f, w in zip(rewards, weights, strict=True)))
    # Watchers: weight 0, logged by TRL as rewards/reflective_words/mean; samples to samples.jsonl.
    watchers: list = [
        ReflectionCounter(cfg.reasoning_rl.reflective_words),
        SampleLogger(ctx.stage_dir / "samples.jsonl", cfg.reasoning_rl.sample_every),
    ]
    rewards += watchers
    weights += [0.0, 0.0]

    # Tokenizer and model, GRPO (or resume), save.
    return run_rl_stage(cfg, ctx, cfg.reasoning_rl, prompts, rewards, weights, {"data/prompts": len(prompts)})
