"""Stage 3: rejection sampling from the stage-2 model, then SFT on what survives.

    r1pipe run                                                   # as part of the whole pipeline
    r1pipe run stage=rejection_sampling run_dir=runs/x           # after stage 2 of run x
    r1pipe run stage=rejection_sampling init_model=PATH rejection.sft=false   # only build the set

Two steps, each a function below. `prepare` runs one persisted step after another
(data/steps/*.jsonl; a rerun after a crash reuses every finished step and every finished
generation shard):
  a. sample n completions per prompt (vLLM or transformers, `generation.backend`), in shards: on
     every process of the launcher (each its own engine, GPU group and shards, seeded by the
     shard: the same files from 1 or N processes; r1pipe/generation/shards.py);
  b. keep the correct ones: the reward library's rules, and the generative judge where rules
     cannot decide (`rejection.judge.model`), each process on the shards it sampled; then the
     main process alone goes on;
  c. readability filters: mixed languages, long paragraphs, code blocks in the CoT, repetition;
  d. exact and near duplicates (MinHash), and samples sharing a 10-gram with an evaluation set;
  e. at most m samples per prompt;
  f-g. mix in non-reasoning chats (about 3:1) and write the SFT set with provenance per row, plus
     the funnel report (funnel.json: counts after each step by task and language);
`run` then trains on the launcher's processes (N under launcher=accelerate):
  h. fine-tune on the set with stage 1's SFT code, from the base model (`rejection.init_from`).
The finish step evaluates the sampled model (before) and the fine-tuned one (after).
"""

from __future__ import annotations

import logging
import math
import shutil
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import RejectionConfig
from r1pipe.config.sections import sft_section_problems, unknown_rewards
from r1pipe.data.loading import load_problems, load_table
from r1pipe.generation import open_engine
from r1pipe.generation.shards import restrict_visible_devices, this_process_share
from r1pipe.models.loading import (
    load_model,
    load_tokenizer,
    looks_local,
    model_dir_problem,
    resolve_model_path,
)
from r1pipe.models.prompt_length import fit_prompts_to_model_dir
from r1pipe.rejection.dedup import Contamination
from r1pipe.rejection.judge import judge_samples
from r1pipe.rejection.sft_set import (
    emptied_by,
    funnel_report,
    non_reasoning_count,
    non_reasoning_rows,
    reasoning_rows,
    write_funnel,
    write_sft_set,
)
from r1pipe.rejection.steps import (
    decontaminate,
    drop_duplicates,
    filter_readable,
    generate_in_shards,
    keep_per_prompt,
    prompt_rows,
    survivors,
    verify,
    verify_in_shards,
)
from r1pipe.rejection.store import (
    StepStore,
    has_persisted_steps,
    step_key,
    superseded_attempts,
    wait_for_adopted_shards,
)
from r1pipe.rewards import REWARDS
from r1pipe.rewards.build import build_accuracy
from r1pipe.run.context import SFT_OPERATIONAL_KEYS, StageContext, StageResult, StageSpec
from r1pipe.run.fingerprint import select_keys

if TYPE_CHECKING:
    pass

log = logging.getLogger("r1pipe.stages.rejection_sampling")


def check(cfg: DictConfig) -> list[ConfigProblem]:
    """Beyond the ranges declared on RejectionConfig: the eval sets to decontaminate against, the
    judge's model dir, and the fine-tune's section like stage 1's."""
    r, problems = cfg.rejection, []
    for key in r.dedup.decontaminate:
        if key not in cfg.data or "prompt_column" not in cfg.data[key]:
            problems.append(
                ConfigProblem(
                    "rejection.dedup.decontaminate",
                    f"{key!r} is not a problem set under data",
                    "e.g. [heldout]",
                )
            )
    if r.accuracy is not None:
        fix = "null (reward.accuracy) or one of the registered rewards"
        problems += unknown_rewards("rejection.accuracy", [r.accuracy], REWARDS, fix)
    if r.judge.model and looks_local(r.judge.model) and (why := model_dir_problem(r.judge.model)):
        problems.append(
            ConfigProblem("rejection.judge.model", why, "a local HF chat model dir, or null for no judge")
        )
    return problems + (sft_section_problems(cfg, "rejection.train") if r.sft else [])


SPEC = StageSpec(
    name="rejection_sampling",
    module=__name__,
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
    section="rejection",
    schema=RejectionConfig,
    operational_keys=tuple(f"rejection.train.{k}" for k in SFT_OPERATIONAL_KEYS)
    + ("reward.workers", "reward.timeout_s", "reward.routing", "reward.models")
    + ("generation.handoff_check_vllm", "generation.cpu_decode_threads", "rejection.shard_stall_timeout_s"),
    resume_key="rejection.train.resume",
    prepare=True,
    prepare_processes="all",
    check=check,
    has_partial_work=has_persisted_steps,
    summary="stage 3: rejection sampling from the stage-2 model (vLLM or transformers), filters, SFT set, SFT",
)


def prepare(cfg: DictConfig, ctx: StageContext) -> StageResult | None:
    """Steps a-g: the SFT set and its funnel report. Under several processes (launcher=accelerate
    or slurm) each samples its own shards (step a); the main process goes on with the rest, the
    others return None once their share is written."""
    r, sampled_model = cfg.rejection, ctx.inputs["model"]
    share = this_process_share()
    if share.world > 1:
        restrict_visible_devices(cfg.generation.tensor_parallel_size)  # its own GPU(s), before CUDA starts
        # every sampling process shows its shards in the log (processes but the main one log warnings only)
        logging.getLogger("r1pipe.rejection.steps").setLevel(logging.INFO)
    store = StepStore(ctx.data_dir, superseded_attempts(ctx.run_dir, ctx.stage_dir.name))
    keys = step_keys(cfg, ctx.inputs["model_fingerprint"])
    problems = load_problems(cfg.data, "rejection_prompts")
    problems = problems.select(range(min(r.num_prompts or len(problems), len(problems))))
    fitting = fit_prompts_to_model_dir(
        problems, sampled_model, cfg.model, r.max_tokens, cfg.data.long_prompts, "rejection_sampling prompts"
    )
    prompts = prompt_rows(fitting)
    log.info(
        "rejection sampling: %d prompts x %d samples from %s",
        len(prompts),
        r.samples_per_prompt,
        sampled_model,
    )

    if share.is_main:
        store.adopt_shards(ctx.data_dir / "generations", keys["generated"])
    else:  # the main process may be bringing over an earlier attempt's shards
        wait_for_adopted_shards(ctx.data_dir / "generations", keys["generated"], r.shard_stall_timeout_s)
    generated = generate_in_shards(
        prompts,
        r,
        ctx.data_dir / "generations",
        lambda: open_engine(sampled_model, cfg.model, cfg.generation),
        share,
    )
    verified_dir, verified = ctx.data_dir / "verified" / keys["correct"], None
    if not store.has("correct", keys["correct"]):
        verified = verify_in_shards(
            ctx.data_dir / "generations",
            verified_dir,
            shards=math.ceil(len(prompts) / r.shard_size),
            check=lambda records: check_samples(cfg, ctx, records),
            share=share,
            stall_timeout_s=r.shard_stall_timeout_s,
        )
    if generated is None:
        return None  # this process's shards are sampled and checked; the main process goes on
    assert verified is not None or store.has("correct", keys["correct"])
    correct = store.step("correct", keys["correct"], lambda: verified or [])
    shutil.rmtree(ctx.data_dir / "verified", ignore_errors=True)  # the step holds them now
    readable = store.step(
        "readable", keys["readable"], lambda: filter_readable(survivors(correct), r.readability)
    )
    unique = store.step("unique", keys["unique"], lambda: drop_duplicates(survivors(readable), r.dedup))
    clean = store.step(
        "decontaminated",
        keys["decontaminated"],
        lambda: decontaminate(survivors(unique), evaluation_prompts(cfg)),
    )
    kept = store.step(
        "kept", keys["kept"], lambda: keep_per_prompt(survivors(clean), r.keep_per_prompt, r.keep, r.seed)
    )

    rows = reasoning_rows(survivors(kept), ctx.inputs.get("from_stage"))
    rows += non_reasoning_rows(cfg.data, non_reasoning_count(len(rows), r.non_reasoning_ratio), cfg.seed)
    steps = [("generated", generated), ("correct", correct), ("readable", readable)]
    steps += [("unique", unique), ("decontaminated", clean), ("kept", kept)]
    write_funnel(funnel_report(prompts, steps, rows), ctx.stage_dir / "funnel.json")

    if not rows:
        raise RuntimeError(
            f"rejection sampling kept no sample, so there is nothing to fine-tune on: {emptied_by(steps)} "
            f"(funnel: {ctx.stage_dir / 'funnel.json'})"
        )
    sft_path = write_sft_set(rows, ctx.data_dir / f"sft.{r.output_format}")
    outputs: dict[str, Any] = {"data": str(sft_path), "funnel": str(ctx.stage_dir / "funnel.json")}
    return StageResult(outputs=outputs, metrics=set_metrics(prompts, generated, correct, rows))


def check_samples(cfg: DictConfig, ctx: StageContext, records: list[dict]) -> list[dict]:
    """Step b on some samples: the rules (the reward library's accuracy reward), and the
    generative judge (rejection.judge.model) where the rules cannot decide."""
    r = cfg.rejection
    accuracy = build_accuracy(cfg.reward, ctx.stage_dir / "reward_failures.jsonl", r.accuracy)
    judge = (
        (lambda undecided: judge_samples(undecided, r.judge, cfg.generation, cfg.reward.without_think_end))
        if r.judge.model
        else None
    )
    return verify(records, lambda t, a: accuracy(t, answer=a), judge)


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    """Step h: SFT on the set `prepare` wrote (on every training process)."""
    assert ctx.prepared is not None, "the orchestrator runs prepare before run"
    outputs, metrics = ctx.prepared.outputs, ctx.prepared.metrics
    if not cfg.rejection.sft:
        log.info("rejection.sft=false: the SFT set is %s; no fine-tuning", outputs["data"])
        return StageResult(outputs=outputs, metrics=metrics)
    model_dir, train_metrics = fine_tune(cfg, ctx, outputs["data"])
    return StageResult(outputs={**outputs, "model": str(model_dir)}, metrics={**metrics, **train_metrics})


# What each step's output depends on, beyond the step before it (store.py chains the keys).
SAMPLING_KEYS = (
    "samples_per_prompt",
    "temperature",
    "top_p",
    "max_tokens",
    "num_prompts",
    "shard_size",
    "seed",
)
STEP_SETTINGS = {
    "generated": (
        "data.rejection_prompts",
        "data.toy",
        "model",
        "generation.backend",
        "generation.batch_size",
        *(f"rejection.{k}" for k in SAMPLING_KEYS),
    ),
    "correct": (
        "reward.accuracy",
        "rejection.accuracy",
        "reward.on_failure",
        "reward.failure_penalty",
        "rejection.judge",
    ),
    "readable": ("rejection.readability",),
    "unique": tuple(
        f"rejection.dedup.{k}" for k in ("exact", "near", "near_threshold", "shingle", "num_perm")
    ),
    "decontaminated": (
        "rejection.dedup.decontaminate",
        "rejection.dedup.decontaminate_ngram",
        "rejection.dedup.decontaminate_common_share",
        "data.heldout",
    ),
    "kept": ("rejection.keep_per_prompt", "rejection.keep", "rejection.seed"),
}


def step_keys(cfg: DictConfig, model_fingerprint: str) -> dict[str, str]:
    """Each step's key: its settings chained onto the previous step's key (the first onto the
    sampled model's fingerprint)."""
    keys, previous = {}, model_fingerprint
    for step, settings in STEP_SETTINGS.items():
        previous = keys[step] = step_key(previous, select_keys(cfg, settings))
    return keys


def evaluation_prompts(cfg: DictConfig) -> Contamination:
    """The n-grams of every evaluation set named in rejection.dedup.decontaminate."""
    dedup = cfg.rejection.dedup
    texts = [p for key in dedup.decontaminate for p in load_problems(cfg.data, key)["prompt"]]
    contamination = Contamination(texts, dedup.decontaminate_ngram, dedup.decontaminate_common_share)
    log.info(
        "decontamination: %d n-grams from %d evaluation prompts (%d common instruction n-grams ignored)",
        len(contamination),
        len(texts),
        len(contamination.ignored),
    )
    return contamination


def set_metrics(prompts: list, generated: list, correct: list, rows: list[dict]) -> dict:
    reasoning = sum(r["source"] == "rejection_sampling" for r in rows)
    return {
        "rejection/prompts": len(prompts),
        "rejection/samples": len(generated),
        "rejection/correct_rate": round(len(survivors(correct)) / max(len(generated), 1), 4),
        "rejection/reasoning_rows": reasoning,
        "rejection/non_reasoning_rows": len(rows) - reasoning,
    }


def fine_tune(cfg: DictConfig, ctx: StageContext, sft_path: str) -> tuple[Any, dict]:
    """SFT on the set with stage 1's code, from the sampled model or the base (rejection.init_from)."""
    from r1pipe.training.sft import train_and_save  # torch, transformers, trl: only when training

    r = cfg.rejection
    dataset = load_table(sft_path, None, "train")
    init = ctx.inputs["model"] if r.init_from == "previous" else resolve_model_path(cfg.model.name_or_path)
    log.info("SFT on %d rows from %s (rejection.init_from=%s)", len(dataset), init, r.init_from)
    tokenizer, model = load_tokenizer(init, cfg.model), load_model(init, cfg.model)
    return train_and_save(r.train, cfg, ctx, model, tokenizer, dataset)
