"""Turn the `reward` config into guarded reward functions and weights, ready for TRL's
GRPOTrainer (`reward_funcs=`, `args.reward_weights=`), rejection sampling and evaluation."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from r1pipe.rewards.guard import GuardedReward, GuardPolicy
from r1pipe.rewards.registry import get_reward


def guard_policy(reward_cfg: DictConfig, failure_log: Path | None) -> GuardPolicy:
    return GuardPolicy(
        timeout_s=reward_cfg.timeout_s,
        workers=reward_cfg.workers,
        on_failure=reward_cfg.on_failure,
        penalty=reward_cfg.failure_penalty,
        failure_log=failure_log,
    )


def build_rewards(
    reward_cfg: DictConfig, failure_log: Path | None = None
) -> tuple[list[GuardedReward], list[float]]:
    """The configured rewards (reward.funcs), each guarded, with their weights (reward.weights)."""
    policy = guard_policy(reward_cfg, failure_log)
    funcs = [GuardedReward(name, get_reward(name), policy) for name in reward_cfg.funcs]
    return funcs, [float(w) for w in reward_cfg.weights]


def build_accuracy(reward_cfg: DictConfig, failure_log: Path | None = None) -> GuardedReward:
    """The accuracy judge used by evaluation and rejection sampling (reward.accuracy), guarded."""
    return GuardedReward(
        reward_cfg.accuracy, get_reward(reward_cfg.accuracy), guard_policy(reward_cfg, failure_log)
    )
