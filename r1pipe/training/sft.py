"""SFT on TRL's SFTTrainer: config, checkpoints, resume, metrics, final model. Shared by stage 1,
the stage-3 fine-tune and distillation.

TRL/transformers already do the hard parts: assistant-only loss from the chat template's
`{% generation %}` markers, packing, and resume (`resume_from_checkpoint` restores model,
optimizer, scheduler, RNG state and skips the batches already seen). r1pipe adds:
- checkpoints published atomically as `checkpoints/step_000120/` (the trainer writes
  `checkpoint-120`; a callback renames it once complete, so a crash mid-save is never resumed from);
- metrics.jsonl, progress lines in the run log, and the final model saved to `model/` atomically.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from datasets import Dataset
from omegaconf import DictConfig
from peft import LoraConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainerCallback
from transformers.trainer_callback import ProgressCallback
from trl import SFTConfig, SFTTrainer

from r1pipe.models.loading import torch_dtype
from r1pipe.run.context import StageContext
from r1pipe.run.interrupt import SaveAndStopOnSignal, StopRequested, stop_requested
from r1pipe.run.logs import process_rank
from r1pipe.run.rundir import (
    append_jsonl,
    atomic_publish_dir,
    checkpoint_step,
    keep_steps_up_to,
    list_checkpoints,
    step_dir_name,
)
from r1pipe.run.topology import check_setup

log = logging.getLogger(__name__)


class PublishCheckpoints(TrainerCallback):
    """Rename `checkpoint-N` to `step_00000N` once the trainer has fully written it, and keep the
    newest `keep` published checkpoints. (Trainer's own `save_total_limit` would also rotate, but
    only over `checkpoint-*` names and before we know the save finished.)"""

    def __init__(
        self, checkpoints_dir: Path, keep: int, add_to_checkpoint: Callable[[Path], None] | None = None
    ):
        # add_to_checkpoint: writes what the trainer does not save (GRPO's reference model) into the
        # checkpoint before it is published, so a published checkpoint is always whole. Called on
        # every process; it writes from the main one.
        self.dir, self.keep, self.add_to_checkpoint = checkpoints_dir, keep, add_to_checkpoint

    def on_save(self, args, state, control, **kwargs):
        PartialState().wait_for_everyone()  # every rank has written its RNG state before the rename
        written = self.dir / f"checkpoint-{state.global_step}"
        if self.add_to_checkpoint:
            self.add_to_checkpoint(written)  # on every rank: a sharded model is gathered collectively
        if not state.is_world_process_zero:
            return
        if written.is_dir():
            target = self.dir / step_dir_name(state.global_step)
            atomic_publish_dir(written, target)
            log.info("checkpoint saved: %s", target)
        for old in list_checkpoints(self.dir)[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)


class MetricsLog(TrainerCallback):
    """Every trainer log line to metrics.jsonl and the run log, with the step and progress."""

    def __init__(self, metrics_path: Path, stage: str):
        self.path, self.stage, self.t0 = metrics_path, stage, time.time()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {
            "stage": self.stage,
            "step": state.global_step,
            "max_steps": state.max_steps,
            "elapsed_s": round(time.time() - self.t0, 3),  # per-step times for SFT too (bench_contention.py)
            **logs,
        }
        append_jsonl(self.path, record)
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items())
        log.info(
            "%s step %d/%d (%.0fs): %s",
            self.stage,
            state.global_step,
            state.max_steps,
            time.time() - self.t0,
            shown,
        )


class QuietProgress(ProgressCallback):
    """The trainer's progress bar without its raw dict print: MetricsLog already logs each line."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        return


def build_sft_config(s: DictConfig, ctx: StageContext, seed: int, dtype: torch.dtype) -> SFTConfig:
    """TrainingArguments from a stage's SFT section (r1pipe/config/schema.py SFTStageConfig)."""
    on_gpu = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(ctx.checkpoints_dir),
        learning_rate=s.learning_rate,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": s.min_lr_ratio},
        warmup_steps=s.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=s.weight_decay,
        num_train_epochs=s.num_train_epochs,
        max_steps=s.max_steps,
        per_device_train_batch_size=s.per_device_train_batch_size,
        gradient_accumulation_steps=s.gradient_accumulation_steps,
        # TRL does not truncate padding-free batches without packing (it refuses a max_length then):
        # check_fits_max_length enforces the limit instead, by refusing longer examples.
        max_length=None if s.padding_free and not s.packing else s.max_length,
        packing=s.packing,
        # Padding-free (TRL): the batch's examples concatenated in one row with position_ids and no
        # attention mask, from which transformers builds a block-diagonal causal mask on any
        # attention kernel (masking_utils.find_packed_sequence_indices): the same loss as padded
        # batches without computing pad tokens (tests/integration/test_sft_padding_free.py).
        padding_free=s.padding_free,
        gradient_checkpointing=s.gradient_checkpointing,
        max_grad_norm=s.max_grad_norm,
        logging_steps=s.logging_steps,
        save_strategy="steps",
        save_steps=s.save_steps,
        save_total_limit=None,  # PublishCheckpoints rotates the renamed step_* dirs
        assistant_only_loss=True,
        report_to=list(s.report_to) or "none",
        seed=seed,
        bf16=on_gpu and dtype == torch.bfloat16,
        fp16=on_gpu and dtype == torch.float16,
        use_cpu=not on_gpu,  # on CPU under accelerate --multi_gpu: gloo DDP, one process per core set
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def build_lora(s: DictConfig) -> LoraConfig | None:
    if not s.lora.enabled:
        return None
    targets = list(s.lora.target_modules)
    return LoraConfig(
        r=s.lora.r,
        lora_alpha=s.lora.alpha,
        lora_dropout=s.lora.dropout,
        target_modules="all-linear" if targets == ["all-linear"] else targets,
        task_type="CAUSAL_LM",
    )


def check_fits_max_length(s: DictConfig, dataset: Dataset, stage: str) -> None:
    """Padding-free without packing is the one mode in which TRL keeps whole examples however long
    (build_sft_config): refuse, naming the fix, rather than train on longer sequences than asked."""
    if not s.padding_free or s.packing:
        return
    longest = max((len(ids) for ids in dataset["input_ids"]), default=0)
    if longest > s.max_length:
        raise ValueError(
            f"{stage}: an example has {longest} tokens, more than max_length={s.max_length}, and "
            "padding_free=true without packing does not truncate; raise max_length, set "
            "padding_free=false (examples are truncated) or packing=true (overflow is cut)"
        )


def resume_argument(ctx: StageContext) -> str | None:
    """The checkpoint the plan chose (resume=auto found one, or resume=PATH); None starts fresh.
    Metrics an interrupted attempt logged after that checkpoint are dropped: training redoes
    those steps and logs them again."""
    if ctx.resume_from:
        log.info("resuming from %s", ctx.resume_from)
    step = checkpoint_step(ctx.resume_from)
    if process_rank() == 0 and step is not None:
        dropped = keep_steps_up_to(ctx.metrics_path, step)
        if dropped:
            log.info("%s: dropped %d metric rows logged after the checkpoint (redone now)", ctx.name, dropped)
    return ctx.resume_from


class FinalStepReached(Exception):
    """Raised by StopAtFinalStep: the resumed checkpoint already holds the last step."""


class StopAtFinalStep(TrainerCallback):
    """A resume from the final checkpoint (a kill between its publication and the final save)
    must train nothing, but the trainer's loop runs one step before it compares the step count
    with max_steps (final step 7 of 6). Stops before that step's forward, on every rank alike."""

    def on_step_begin(self, args, state, control, **kwargs):
        if state.max_steps > 0 and state.global_step >= state.max_steps:
            raise FinalStepReached(state.global_step)


def train_to_final_step(trainer: Trainer, resume: str | None) -> Any:
    """`trainer.train(resume_from_checkpoint=resume)`, or None when `resume` is already the final
    step: the trainer then holds that checkpoint's weights and state, ready to be saved."""
    trainer.add_callback(StopAtFinalStep())
    on_signal = SaveAndStopOnSignal()
    trainer.add_callback(on_signal)
    try:
        output = trainer.train(resume_from_checkpoint=resume)
    except FinalStepReached:
        log.info("%s holds the final step %d: nothing left to train", resume, trainer.state.global_step)
        return None
    if on_signal.stopped_at is not None and on_signal.stopped_at < trainer.state.max_steps:
        raise StopRequested(
            f"{stop_requested() or 'a stop signal to another process'}: stopped after step "
            f"{on_signal.stopped_at} with a checkpoint; the rerun resumes from it"
        )
    return output


def train_sft(
    s: DictConfig,
    ctx: StageContext,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    seed: int,
    dtype: torch.dtype,
) -> tuple[SFTTrainer, dict]:
    """Train (or resume) to the configured final step. Returns the trainer and its last metrics."""
    ctx.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    trainer = SFTTrainer(
        model=model,
        args=build_sft_config(s, ctx, seed, dtype),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=build_lora(s),
        callbacks=[
            PublishCheckpoints(ctx.checkpoints_dir, s.save_total_limit),
            MetricsLog(ctx.metrics_path, ctx.name),
        ],
    )
    check_setup(ctx.world, ctx.name)  # the trainer has set up accelerate: DDP/FSDP/ZeRO as asked?
    check_fits_max_length(s, trainer.train_dataset, ctx.name)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(QuietProgress())
    resume = resume_argument(ctx)
    output = train_to_final_step(trainer, resume)
    metrics: dict[str, float] = {"train/final_step": trainer.state.global_step}
    whole = mean_logged_loss(trainer.state.log_history)
    if resume and whole is not None:  # the trainer's own figure covers only the resumed steps
        metrics["train/loss"] = round(whole, 4)
    elif output is not None:
        metrics["train/loss"] = round(output.training_loss, 4)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    if losses:
        metrics["train/last_logged_loss"] = round(losses[-1], 4)
    return trainer, metrics


def mean_logged_loss(log_history: list[dict[str, Any]]) -> float | None:
    """The mean loss per step over the whole stage, from the logged losses (each the mean of the
    steps since the one before, so weighted by that span). The trainer restores the log history
    of the checkpoint it resumes from, so this covers the steps before an interruption too, where
    `TrainOutput.training_loss` averages only the steps this process trained."""
    logged = sorted((h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h)
    total = weight = 0.0
    previous = 0
    for step, loss in logged:
        total, weight, previous = total + loss * (step - previous), weight + (step - previous), step
    return total / weight if weight else None


def save_final_model(trainer: Trainer, tokenizer: PreTrainedTokenizerBase, ctx: StageContext) -> Path:
    """Save a plain HF model dir (weights, tokenizer, chat template, generation config) to
    model.tmp, then rename it to model/. Called on every rank: `trainer.save_model` gathers the
    full weights under ZeRO-3 / FSDP (as TRL's and open-r1's scripts do) and writes them from the
    main process only. LoRA adapters are folded into the weights first."""
    tmp, accelerator = ctx.stage_dir / "model.tmp", trainer.accelerator
    if (
        accelerator.is_main_process and tmp.exists()
    ):  # one writer: another rank's cleanup would delete its files
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    model: Any = trainer.model
    if hasattr(model, "merge_and_unload"):  # LoRA (PEFT): save_model would write only the adapters
        if accelerator.is_main_process:
            model.merge_and_unload().save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
    else:
        trainer.save_model(str(tmp))  # the tokenizer too (the trainer's processing_class)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        os.sync()
        atomic_publish_dir(tmp, ctx.model_dir)
    accelerator.wait_for_everyone()
    return ctx.model_dir


def ranks_in_sync(trainer: Trainer) -> dict[str, Any]:
    """Under DDP every rank must hold the same parameters after training: a SHA-256 of each rank's
    parameters, all-gathered and compared. A difference (a rank that skipped a step, a collective
    that silently diverged) stops the stage before its model is handed on. {} when not DDP (one
    process, or FSDP/ZeRO, whose ranks hold different shards by design)."""
    from accelerate.utils import DistributedType

    if trainer.accelerator.distributed_type not in (DistributedType.MULTI_CPU, DistributedType.MULTI_GPU):
        return {}
    import hashlib

    from accelerate.utils import gather_object

    digest = hashlib.sha256()
    for tensor in trainer.accelerator.unwrap_model(trainer.model).state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    digests = gather_object([digest.hexdigest()])  # one per process, in rank order
    if len(set(digests)) != 1:
        raise RuntimeError(
            f"the {len(digests)} training processes ended with different parameters "
            f"(parameter digests {digests}); the model is not handed on. Rerun the stage; if it recurs, "
            "report it with the run's r1pipe.log."
        )
    log.info("parameters identical on all %d processes", len(digests))
    return {"train/ranks_in_sync": len(digests)}


def train_and_save(
    section: DictConfig,
    cfg: DictConfig,
    ctx: StageContext,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
) -> tuple[Path, dict[str, Any]]:
    """The SFT stages' shared second half (cold start, stage 3, distillation): train or resume with
    `section`'s hyperparameters and save the final model. Returns the model dir and the training
    metrics; the hand-off check and evaluation follow in the stage's finish step."""
    trainer, train_metrics = train_sft(
        section, ctx, model, tokenizer, dataset, cfg.seed, torch_dtype(cfg.model.dtype)
    )
    synced = ranks_in_sync(trainer)
    model_dir = save_final_model(trainer, tokenizer, ctx)
    return model_dir, {**train_metrics, **synced, "data/examples": len(dataset)}
