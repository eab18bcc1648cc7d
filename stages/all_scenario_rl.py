"""Stage 4: all-scenario RL with GRPO on reasoning prompts and general prompts together.

    r1pipe run                                                  # the whole pipeline on the toy default
    r1pipe run stage=all_scenario_rl run_dir=runs/x             # only stage 4 (input: the previous stage's manifest)
    r1pipe run stage=all_scenario_rl init_model=PATH all_scenario_rl.preference_last_steps=100

Starts from the previous stage's model. Each prompt is judged by the reward set of its data type
(`task` column, reward.routing.routes): reasoning prompts by rules (accuracy + format + language
consistency), general prompts by reward models (helpfulness on the summary after `</think>`,
harmlessness on the whole response). The reward models apply only in the last
`all_scenario_rl.preference_last_steps` steps (paper: 400 of 1,700); before that a general prompt's
completions are unscored and carry no advantage. Rollouts at temperature 0.7 (paper).
Reads top to bottom: prompts (reasoning + general), reward models (the toy ones are built here),
rewards, then the RL lifecycle shared with stage 2 (r1pipe/training/rl.py): model, train, save.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import AllScenarioRLConfig
from r1pipe.config.sections import grpo_section_problems
from r1pipe.data.loading import general_count, load_general_prompts, load_problems, mix_prompts
from r1pipe.rewards.build import build_routed_reward
from r1pipe.run.context import StageContext, StageResult, StageSpec, rl_operational_keys
from r1pipe.toy.preferences import GENERAL_TASK, NUMBER_WORD_TASK, TOY_GENERAL_TASKS
from r1pipe.toy.reward_models import resolve_toy_reward_models, toy_judge
from r1pipe.training.watchers import ReflectionCounter, SampleLogger, Watched, silence_unscorable_warning

log = logging.getLogger("r1pipe.stages.all_scenario_rl")


def check(cfg: DictConfig) -> list[ConfigProblem]:
    """GRPO settings, and a route for both kinds of prompt (reasoning and general)."""
    problems, routing = grpo_section_problems(cfg, "all_scenario_rl"), cfg.reward.routing
    if not routing.routes:
        problems.append(
            ConfigProblem(
                "reward.routing.routes",
                "stage all_scenario_rl routes each prompt by its task, but no routes are set",
                "e.g. +reward.routing.routes={toy:{toy_accuracy:1.0,r1_format:1.0},general:{helpful:1.0}}",
            )
        )
    elif routing.default is None:
        for task in general_tasks(cfg):
            if task not in routing.routes:
                problems.append(
                    ConfigProblem(
                        "reward.routing.routes",
                        f"no route for the general prompts (task={task}) of stage all_scenario_rl",
                        f"add a {task} route ({ROUTE_HINTS[task]}), or set reward.routing.default",
                    )
                )
    return problems


ROUTE_HINTS = {GENERAL_TASK: "paper: reward models", NUMBER_WORD_TASK: "the toy's: general_match, a rule"}


def general_tasks(cfg: DictConfig) -> tuple[str, ...]:
    """The `task` values stage 4's general prompts carry: a user's are all `general`; the toy's
    number-word requests have their own (toy/preferences.general_rows)."""
    return TOY_GENERAL_TASKS if cfg.data.general_prompts.path == "toy" else (GENERAL_TASK,)


SPEC = StageSpec(
    name="all_scenario_rl",
    module=__name__,
    config_keys=(
        "all_scenario_rl",
        "reward",
        "data.rl_prompts",
        "data.general_prompts",
        "data.toy",
        "data.long_prompts",
        "model.chat_template",
        "seed",
    ),
    model_from="previous",
    schema=lambda: AllScenarioRLConfig(temperature=0.7),  # paper: stage 4 samples at 0.7
    operational_keys=rl_operational_keys("all_scenario_rl"),
    check=check,
    summary="stage 4: all-scenario RL with GRPO; rule rewards for reasoning prompts, reward models for general ones",
)


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    from r1pipe.training.rl import run_rl_stage  # torch, transformers, trl: only when training

    r = cfg.all_scenario_rl
    reasoning = load_problems(cfg.data, "rl_prompts")
    general = load_general_prompts(cfg.data, general_count(len(reasoning), cfg.data.general_prompts.fraction))
    prompts = mix_prompts(reasoning, general, cfg.seed, r.prompts_per_step if r.steps_by_task else 0)
    log.info(
        "prompts: %d reasoning (%s) + %d general (%s)%s",
        len(reasoning),
        cfg.data.rl_prompts.path,
        len(general),
        cfg.data.general_prompts.path,
        f", {r.prompts_per_step} of one task per step (steps_by_task)" if r.steps_by_task else ", mixed",
    )

    # `toy:<judge>` reward models are trained into the stage dir (once; reused on resume).
    used = {name for route in cfg.reward.routing.routes.values() for name in route}
    reward_cfg = resolve_toy_reward_models(cfg.reward, ctx.stage_dir / "reward_models", used)
    routed = build_routed_reward(
        reward_cfg,
        failure_log=ctx.stage_dir / "reward_failures.jsonl",
        model_last_steps=r.preference_last_steps,
    )
    describe_rewards(cfg, sorted(used & set(cfg.reward.models)))
    # One TRL reward column carrying the watchers: rows it cannot score keep advantage 0 (watch.Watched).
    reward = Watched(
        routed,
        ReflectionCounter(r.reflective_words),
        SampleLogger(
            ctx.stage_dir / "samples.jsonl", r.sample_every, n=r.prompts_per_step, stride=r.num_generations
        ),
    )
    silence_unscorable_warning()

    metrics = {"data/prompts": len(reasoning), "data/general_prompts": len(general)}
    return run_rl_stage(cfg, ctx, r, prompts, [reward], [1.0], metrics)


def describe_rewards(cfg: DictConfig, models: list[str]) -> None:
    """Log each task's rewards and when the reward models apply; warn about toy judges on a real model."""
    for task, route in cfg.reward.routing.routes.items():
        log.info("rewards for task=%s: %s", task, ", ".join(f"{name} x{w}" for name, w in route.items()))
    last, total = cfg.all_scenario_rl.preference_last_steps, cfg.all_scenario_rl.max_steps
    window = "every step" if last < 0 else f"the last {last} of {total} steps"
    log.info("reward models (%s) apply in %s", ", ".join(models) or "none", window)
    served = {name for name in models if cfg.reward.models[name].get("url")}
    toys = [name for name in models if name not in served and toy_judge(cfg.reward.models[name].model_dir)]
    for name in sorted(served):
        log.info("reward model %s is served at %s", name, cfg.reward.models[name].url)
    if toys and cfg.model.name_or_path != "toy":
        log.warning(
            "reward models %s are toy judges, which know only toy requests: set their model_dir", toys
        )
