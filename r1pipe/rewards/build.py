"""Turn the `reward` config into reward functions and weights, ready for TRL's GRPOTrainer
(`reward_funcs=`, `args.reward_weights=`), rejection sampling and evaluation: reward.funcs for
stage 2 and R1-Zero (every prompt the same rewards), reward.routing.routes for stage 4 (each
prompt the rewards of its data type).

Rule rewards run guarded (worker processes, per-sample timeout: guard.py). Reward models run
in-process on the configured device: a forward pass cannot hang on its input, and a model per
worker process would multiply GPU memory.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.schema import RewardModelConfig
from r1pipe.rewards.gate import LastSteps
from r1pipe.rewards.guard import GuardedReward, GuardPolicy
from r1pipe.rewards.registry import REWARDS, RewardFn, get_reward
from r1pipe.rewards.reward_model import RewardModelScorer, make_reward_model_reward
from r1pipe.rewards.routing import RoutedReward


def guard_policy(reward_cfg: DictConfig, failure_log: Path | None) -> GuardPolicy:
    return GuardPolicy(
        timeout_s=reward_cfg.timeout_s,
        workers=reward_cfg.workers,
        max_workers=reward_cfg.max_workers,
        on_failure=reward_cfg.on_failure,
        penalty=reward_cfg.failure_penalty,
        failure_log=failure_log,
    )


def reward_settings(reward_cfg: DictConfig) -> dict[str, Any]:
    """Keyword arguments every rule reward receives from config (answers.py: where the final
    answer is when a completion never closes its reasoning; code.py: whether programs may run
    without the sandbox's namespaces). Rewards ignore the ones they do not take."""
    return {
        "without_think_end": reward_cfg.without_think_end,
        "allow_unsandboxed": bool(reward_cfg.code.allow_unsandboxed),
    }


def known_reward_names(reward_cfg: DictConfig) -> list[str]:
    """Registered rule rewards plus the reward models declared in reward.models."""
    return sorted([*REWARDS, *reward_cfg.models])


def resolve_reward(
    name: str, reward_cfg: DictConfig, policy: GuardPolicy, model_last_steps: int | None = None
) -> RewardFn:
    """A registered rule reward, guarded; or a reward model from reward.models, gated to the last
    `model_last_steps` training steps when given (stage 4's preference rewards)."""
    if name in reward_cfg.models:
        given: dict[str, Any] = OmegaConf.to_container(reward_cfg.models[name], resolve=True)  # type: ignore[assignment]
        settings = {**asdict(RewardModelConfig()), **given}
        if settings["url"] and settings["model_dir"] == "???":  # served: the URL names it
            settings["model_dir"] = settings["url"]
        reward: RewardFn = make_reward_model_reward(name, RewardModelScorer(**settings))
        return reward if model_last_steps is None else LastSteps(reward, model_last_steps)
    return GuardedReward(name, get_reward(name), policy, reward_settings(reward_cfg))


def build_rewards(
    reward_cfg: DictConfig, failure_log: Path | None = None
) -> tuple[list[RewardFn], list[float]]:
    """reward.funcs with reward.weights: the rewards summed for every prompt (stage 2, R1-Zero)."""
    policy = guard_policy(reward_cfg, failure_log)
    funcs = [resolve_reward(name, reward_cfg, policy) for name in reward_cfg.funcs]
    return funcs, [float(w) for w in reward_cfg.weights]


def build_routed_reward(
    reward_cfg: DictConfig, failure_log: Path | None = None, model_last_steps: int | None = None
) -> RoutedReward:
    """reward.routing.routes as one reward: each sample gets the reward set of its data type
    (stage 4: rule rewards for reasoning prompts, reward models for general ones). Reward models
    apply only in the last `model_last_steps` training steps when given (None: always)."""
    routing = reward_cfg.routing
    if not routing.routes:
        raise ValueError("reward.routing.routes is empty; set one reward set per data type (task column)")
    policy = guard_policy(reward_cfg, failure_log)
    # One function per name, shared by the routes that use it (a reward model loads once).
    names = {name for route in routing.routes.values() for name in route}
    by_name = {name: resolve_reward(name, reward_cfg, policy, model_last_steps) for name in sorted(names)}
    routes = {
        task: [(by_name[name], float(w)) for name, w in route.items()]
        for task, route in routing.routes.items()
    }
    return RoutedReward(routes, column=routing.column, default=routing.default)


def build_accuracy(
    reward_cfg: DictConfig, failure_log: Path | None = None, name: str | None = None
) -> GuardedReward:
    """The accuracy judge used by evaluation and rejection sampling (`name`, else
    reward.accuracy), guarded."""
    name = name or reward_cfg.accuracy
    return GuardedReward(
        name,
        get_reward(name),
        guard_policy(reward_cfg, failure_log),
        reward_settings(reward_cfg),
    )
