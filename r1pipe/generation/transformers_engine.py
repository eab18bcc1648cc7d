"""Generation with transformers `generate`: batched, left-padded, `n` samples per prompt.

The fallback engine and the CPU default for tiny models (no server start-up, no KV-cache
reservation). vLLM is faster on GPUs; `scripts/bench_generation.py` measures the two side by side.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Sequence

import torch
from omegaconf import DictConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from r1pipe.generation.base import FinishReason, Sample, Sampling, encoded_prompts, stop_token_ids
from r1pipe.generation.cpu_threads import decode_threads
from r1pipe.models.loading import load_model, load_tokenizer
from r1pipe.models.prompt_length import model_positions

log = logging.getLogger(__name__)


class TransformersEngine:
    backend = "transformers"

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        batch_size: int = 64,
        cpu_decode_threads: int = 0,
    ):
        # batch_size: prompts per generate call (each brings n sequences)
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.cpu_decode_threads = cpu_decode_threads  # generation.cpu_decode_threads (0: all, -1: auto)
        self._owns_model = False
        self.stop_ids = stop_token_ids(tokenizer, getattr(model.generation_config, "eos_token_id", None))

    @classmethod
    def from_dir(
        cls, path: str, model_cfg: DictConfig, batch_size: int = 64, cpu_decode_threads: int = 0
    ) -> TransformersEngine:
        """Load a model dir (r1pipe's chat template installed, see models.load_tokenizer)."""
        model = load_model(path, model_cfg)
        if torch.cuda.is_available():
            model.to("cuda")  # type: ignore[arg-type]  # (in place for a module)
        engine = cls(model, load_tokenizer(path, model_cfg), batch_size, cpu_decode_threads)
        engine._owns_model = True
        return engine

    @property
    def max_positions(self) -> int | None:
        """Tokens the model takes, prompt and completion together (None: not known)."""
        return model_positions(self.model.config)

    def generate(self, prompts: Sequence[str], prompt_ids: Sequence[str], sampling: Sampling) -> list[Sample]:
        encoded = encoded_prompts(
            self.tokenizer, prompts, prompt_ids, sampling.max_tokens, self.max_positions
        )
        torch.manual_seed(sampling.seed)
        self.model.eval()
        samples: list[Sample] = []
        t0 = time.time()
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start : start + self.batch_size]
            with decode_threads(self.cpu_decode_threads, self.model.device.type):
                new_tokens = self._generate_batch(batch, sampling)  # (B * n, T_new)
            for row, tokens in enumerate(new_tokens.tolist()):
                prompt_index, sample_index = start + row // sampling.n, row % sampling.n
                samples.append(self._sample(str(prompt_ids[prompt_index]), sample_index, tokens))
            if len(encoded) > self.batch_size:  # long work shows progress
                done = min(start + self.batch_size, len(encoded))
                log.info(
                    "generated %d/%d prompts x %d samples (%.0fs)",
                    done,
                    len(encoded),
                    sampling.n,
                    time.time() - t0,
                )
        return samples

    def _generate_batch(self, batch: list[list[int]], sampling: Sampling) -> torch.Tensor:
        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch])  # left-padded
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
        sampled = sampling.temperature > 0
        with torch.no_grad():
            generated = self.model.generate(  # type: ignore[operator]
                input_ids=input_ids.to(self.model.device),
                attention_mask=attention.to(self.model.device),
                do_sample=sampled,
                temperature=sampling.temperature if sampled else None,
                top_p=sampling.top_p if sampled else None,
                top_k=0
                if sampled
                else None,  # temperature and top-p only (transformers defaults to top-k 50)
                max_new_tokens=sampling.max_tokens,
                num_return_sequences=sampling.n,
                pad_token_id=pad,
                eos_token_id=self.stop_ids,
            )  # (B * n, width + T_new)
        return generated[:, width:].cpu()

    def _sample(self, prompt_id: str, sample_index: int, tokens: list[int]) -> Sample:
        end = next((i for i, token in enumerate(tokens) if token in self.stop_ids), None)
        finish: FinishReason = "length" if end is None else "stop"
        kept = tokens if end is None else tokens[: end + 1]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return Sample(prompt_id, sample_index, str(text), len(kept), finish)

    def close(self) -> None:
        """Free the model when this engine loaded it (a model passed in belongs to the caller)."""
        if self._owns_model:
            del self.model
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
