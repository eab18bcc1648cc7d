"""The stages r1pipe knows: where their code lives, what config decides their result, where their
model comes from. Adding a stage is one entry here, one module in stages/, its hyperparameter
group conf/<stage>/ and its selector conf/stage/<stage>.yaml (so `stage=<stage>` works).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class StageSpec:
    name: str
    module: str  # module with `run(cfg, ctx) -> StageResult`
    # Config keys whose values decide the stage's output. Changing one re-runs the stage and every
    # later one; keys outside (launcher, eval, logging) never invalidate a finished stage.
    config_keys: tuple[str, ...]
    # "base": starts from model.name_or_path; "previous": from the previous stage's final model;
    # "student": from the top-level `student` (distillation).
    model_from: Literal["base", "previous", "student"]
    summary: str
    # Keys inside config_keys that only change how the stage runs, not what it produces
    # (logging, checkpoint cadence, resume policy): changing them never invalidates the stage.
    operational_keys: tuple[str, ...] = ()
    # The config key of the stage's `resume` setting (auto | false | PATH); default `<name>.resume`.
    resume_key: str = ""
    # The module also has `prepare(cfg, ctx) -> StageResult`, run in one process before the
    # training processes start (stage 3: sampling and its SFT set; vLLM spreads the model over
    # the GPUs itself). Training then finds its result as ctx.prepared.
    prepare: bool = False

    def __post_init__(self) -> None:
        if not self.resume_key:
            object.__setattr__(self, "resume_key", f"{self.name}.resume")


SFT_OPERATIONAL_KEYS = ("logging_steps", "save_steps", "save_total_limit", "resume", "report_to")


def rl_operational_keys(section: str) -> tuple[str, ...]:
    """An RL stage's operational keys: the SFT ones, its watchers, and how rewards are computed."""
    keys = (*SFT_OPERATIONAL_KEYS, "reflective_words", "sample_every")
    return tuple(f"{section}.{k}" for k in keys) + ("reward.workers", "reward.timeout_s")


STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in [
        StageSpec(
            name="cold_start",
            module="r1pipe.stages.cold_start",
            config_keys=("cold_start", "model", "data.cold_start", "data.toy", "seed"),
            model_from="base",
            operational_keys=tuple(f"cold_start.{k}" for k in SFT_OPERATIONAL_KEYS),
            summary="stage 1: SFT on long chain-of-thought data in the R1 format (TRL SFTTrainer)",
        ),
        StageSpec(
            name="reasoning_rl",
            module="r1pipe.stages.reasoning_rl",
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
            # reward.routing is stage 4's: stage 2 sums reward.funcs, so routes never change its result.
            operational_keys=rl_operational_keys("reasoning_rl") + ("reward.routing",),
            summary="stage 2: reasoning RL with GRPO; accuracy + format + language-consistency rewards (TRL GRPOTrainer)",
        ),
        StageSpec(
            name="rejection_sampling",
            module="r1pipe.stages.rejection_sampling",
            config_keys=(
                "rejection",
                "reward",
                "generation",
                "data.rejection_prompts",
                "data.non_reasoning",
                "data.heldout",
                "data.toy",
                "data.long_prompts",
                "model",
                "seed",
            ),
            model_from="previous",
            operational_keys=tuple(f"rejection.train.{k}" for k in SFT_OPERATIONAL_KEYS)
            + ("reward.workers", "reward.timeout_s", "reward.routing", "reward.models")
            + ("generation.handoff_check_vllm", "generation.cpu_decode_threads"),
            resume_key="rejection.train.resume",
            prepare=True,
            summary="stage 3: rejection sampling from the stage-2 model (vLLM or transformers), filters, SFT set, SFT",
        ),
        StageSpec(
            name="all_scenario_rl",
            module="r1pipe.stages.all_scenario_rl",
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
            operational_keys=rl_operational_keys("all_scenario_rl"),
            summary="stage 4: all-scenario RL with GRPO; rule rewards for reasoning prompts, reward models for general ones",
        ),
        StageSpec(
            name="distill",
            module="r1pipe.stages.distill",
            config_keys=("distill", "student", "model", "seed"),
            model_from="student",
            operational_keys=tuple(f"distill.train.{k}" for k in SFT_OPERATIONAL_KEYS),
            resume_key="distill.train.resume",
            summary="distillation: SFT of a smaller student model on a stage-3 set (no RL)",
        ),
    ]
}


def stage_spec(name: str) -> StageSpec:
    if name not in STAGES:
        raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}")
    return STAGES[name]
