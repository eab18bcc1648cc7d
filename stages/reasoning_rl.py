"""Stage 2: reasoning-oriented RL with GRPO on verifiable prompts.

    r1pipe run                                             # the whole pipeline on the toy default
    r1pipe run stage=reasoning_rl run_dir=runs/x           # only stage 2 (input: stage 1's manifest)
    r1pipe run stage=reasoning_rl init_model=PATH reasoning_rl.learning_rate=1e-6

Starts from the stage-1 model (its manifest) and optimises accuracy + format + language
consistency (reward.funcs / reward.weights; paper: equal weights) with TRL's GRPOTrainer.
Reads top to bottom: prompts, rewards, then the RL lifecycle it shares with stage 4
(r1pipe/training/rl.py): tokenizer, model, train (or resume), save. The hand-off check and the
before/after evaluation follow in the stage's finish step (r1pipe/pipeline/stage_process.py).

With `reasoning_rl.difficulty_filter.enabled=true` a prepare step runs first, on the launcher's
processes as stage 3's sampling does: each candidate prompt is sampled k times with the starting
model and checked, and only prompts whose pass rate lies in the band train (difficulty.json keeps
the pass-rate histogram; r1pipe/rejection/difficulty.py says why).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import ReasoningRLConfig
from r1pipe.config.sections import grpo_section_problems, unknown_rewards
from r1pipe.data.loading import id_column, load_problems, row_id
from r1pipe.generation import open_engine
from r1pipe.generation.shards import restrict_visible_devices, this_process_share
from r1pipe.models.prompt_length import fit_prompts_to_model_dir
from r1pipe.rejection.difficulty import difficulty_report, in_band, pass_counts, write_report
from r1pipe.rejection.steps import generate_in_shards, prompt_rows, verify, verify_in_shards
from r1pipe.rewards import REWARDS
from r1pipe.rewards.build import build_accuracy, build_rewards
from r1pipe.run.context import StageContext, StageResult, StageSpec, rl_operational_keys
from r1pipe.toy.reward_models import resolve_toy_reward_models
from r1pipe.training.watchers import ReflectionCounter, SampleLogger

log = logging.getLogger("r1pipe.stages.reasoning_rl")


def check(cfg: DictConfig) -> list[ConfigProblem]:
    problems = grpo_section_problems(cfg, "reasoning_rl")
    f = cfg.reasoning_rl.difficulty_filter
    if f.enabled and f.min_pass_rate > f.max_pass_rate:
        problems.append(
            ConfigProblem(
                "reasoning_rl.difficulty_filter.min_pass_rate",
                f"{f.min_pass_rate} is above max_pass_rate {f.max_pass_rate}: no prompt could be kept",
                "a band such as min_pass_rate=0.1 max_pass_rate=0.9",
            )
        )
    if f.enabled and f.accuracy is not None:
        fix = "null (reward.accuracy) or one of the registered rewards"
        problems += unknown_rewards("reasoning_rl.difficulty_filter.accuracy", [f.accuracy], REWARDS, fix)
    return problems


def filters_prompts(cfg: DictConfig) -> bool:
    """Whether the stage has a prepare step: the difficulty filter."""
    return bool(cfg.reasoning_rl.difficulty_filter.enabled)


def filter_shards_left(stage_dir: Path) -> bool:
    """Whether an interrupted attempt left difficulty-filter shards for a rerun to reuse."""
    return any((stage_dir / "data" / DIFFICULTY / "generations").glob("shard_*.jsonl"))


DIFFICULTY = "difficulty"  # the filter's shards and kept prompts, under the stage's data dir


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
    schema=ReasoningRLConfig,
    # reward.routing is stage 4's: stage 2 sums reward.funcs, so routes never change its result.
    operational_keys=rl_operational_keys("reasoning_rl")
    + ("reward.routing", "reasoning_rl.difficulty_filter.shard_stall_timeout_s"),
    check=check,
    prepare=filters_prompts,
    prepare_processes="all",
    has_partial_work=filter_shards_left,
    summary="stage 2: reasoning RL with GRPO; accuracy + format + language-consistency rewards (TRL GRPOTrainer)",
)


def prepare(cfg: DictConfig, ctx: StageContext) -> StageResult | None:
    """The difficulty filter: k samples of every candidate prompt from the starting model, checked by
    the accuracy reward; the prompts whose pass rate is in the band go to data/difficulty/prompts.jsonl.
    Each process samples and checks its own shards; the main one gathers and decides."""
    f, model = cfg.reasoning_rl.difficulty_filter, ctx.inputs["model"]
    share = this_process_share()
    if share.world > 1:
        restrict_visible_devices(cfg.generation.tensor_parallel_size)  # its own GPU(s), before CUDA starts
    candidates = load_problems(cfg.data, "rl_prompts")
    candidates = candidates.select(range(min(f.num_prompts or len(candidates), len(candidates))))
    sampling = filter_sampling(cfg)
    candidates = fit_prompts_to_model_dir(
        candidates, model, cfg.model, sampling.max_tokens, cfg.data.long_prompts, "difficulty filter prompts"
    )
    rows, work = prompt_rows(candidates), ctx.data_dir / DIFFICULTY
    log.info("difficulty filter: %d prompts x %d samples from %s", len(rows), f.samples_per_prompt, model)
    accuracy = build_accuracy(cfg.reward, ctx.stage_dir / "reward_failures.jsonl", f.accuracy)
    generated = generate_in_shards(
        rows, sampling, work / "generations", lambda: open_engine(model, cfg.model, cfg.generation), share
    )
    checked = verify_in_shards(
        work / "generations",
        work / "verified",
        shards=math.ceil(len(rows) / f.shard_size),
        check=lambda records: verify(records, lambda t, a: accuracy(t, answer=a), None),
        share=share,
        stall_timeout_s=f.shard_stall_timeout_s,
    )
    if generated is None or checked is None:
        return None  # this process's shards are sampled and checked; the main process decides
    counts = pass_counts(checked)
    report = difficulty_report(counts, f.samples_per_prompt, f.min_pass_rate, f.max_pass_rate)
    write_report(report, ctx.stage_dir / "difficulty.json")
    log.info(
        "difficulty filter: %d of %d prompts have a pass rate in [%g, %g] (never solved %.0f%%, always %.0f%%)",
        report["kept"],
        report["candidates"],
        f.min_pass_rate,
        f.max_pass_rate,
        100 * report["never_solved"],
        100 * report["always_solved"],
    )
    if not report["kept"]:
        raise RuntimeError(
            f"the difficulty filter kept no prompt: pass counts of {f.samples_per_prompt} samples "
            f"{report['solved_histogram']} (prompts solved 0, 1, ... times; {ctx.stage_dir / 'difficulty.json'}) "
            "all lie outside reasoning_rl.difficulty_filter.min_pass_rate/max_pass_rate; widen the band "
            "or turn the filter off"
        )
    column = id_column(candidates.column_names)
    kept = candidates.filter(
        lambda row: in_band(*counts[row_id(row, column)], f.min_pass_rate, f.max_pass_rate)
    )
    path = work / "prompts.jsonl"
    kept.to_json(str(path), force_ascii=False)
    metrics = {
        f"difficulty/{key}": report[key] for key in ("candidates", "kept", "never_solved", "always_solved")
    }
    return StageResult(
        outputs={"prompts": str(path), "difficulty": str(ctx.stage_dir / "difficulty.json")}, metrics=metrics
    )


def filter_sampling(cfg: DictConfig) -> DictConfig:
    """The filter's sampling in stage 3's terms (rejection/steps.generate_in_shards): the stage's
    own rollout temperature, top-p and completion length unless the filter sets them."""
    f, r = cfg.reasoning_rl.difficulty_filter, cfg.reasoning_rl
    return OmegaConf.create(
        {
            "samples_per_prompt": f.samples_per_prompt,
            "temperature": f.temperature if f.temperature is not None else r.temperature,
            "top_p": r.top_p,
            "max_tokens": f.max_tokens or r.max_completion_length,
            "shard_size": f.shard_size,
            "shard_stall_timeout_s": f.shard_stall_timeout_s,
            "seed": f.seed,
        }
    )


def training_prompts(cfg: DictConfig, ctx: StageContext):
    """data.rl_prompts, or what the difficulty filter kept of them."""
    if ctx.prepared is not None and "prompts" in ctx.prepared.outputs:
        from datasets import Dataset

        prompts = Dataset.from_json(ctx.prepared.outputs["prompts"])
        log.info(
            "RL prompts: %d kept by the difficulty filter (%s)",
            len(prompts),
            ctx.prepared.outputs["difficulty"],
        )
        return prompts
    prompts = load_problems(cfg.data, "rl_prompts")
    log.info("RL prompts: %d (%s)", len(prompts), cfg.data.rl_prompts.path)
    return prompts


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    from r1pipe.training.rl import run_rl_stage  # torch, transformers, trl: only when training

    prompts = training_prompts(cfg, ctx)

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
    filtered = ctx.prepared.metrics if ctx.prepared else {}  # the difficulty filter's counts
    return run_rl_stage(
        cfg, ctx, cfg.reasoning_rl, prompts, rewards, weights, {"data/prompts": len(prompts), **filtered}
    )
