"""Grouped-query attention without copying the key/value heads, where that gives the same numbers.

transformers' `sdpa` attention copies each key/value head once per query head it serves
(`repeat_kv`) unless `use_gqa_in_sdpa` says PyTorch may share them (`enable_gqa=True`), which it
says only without an attention mask, because on CUDA a mask with GQA falls back to the slow math
kernel. On the CPU the kernel takes the mask with GQA, and in inference the output is bit for bit
the output with copies (tests/unit/test_attention.py compares logits and sampled tokens), so
generation, evaluation and GRPO's reference and old-policy passes skip the copies: decoding the toy
takes 0.85x the time at 32 sequences, 0.71x at 256 (scripts/bench_attention.py, docs/BENCHMARKS.md).
With gradients the copies stay: PyTorch sums the shared heads' key/value gradients in another
order, which changes the last bits of training.

Considered: registering a new attention implementation (transformers' AttentionInterface) and
naming it in model.attn_implementation; a saved model's config would then name an implementation
a plain transformers install does not know. The decision function is the one place to widen.
"""

from __future__ import annotations

import torch
from transformers.integrations import sdpa_attention

_TRANSFORMERS_DECISION = sdpa_attention.use_gqa_in_sdpa


def _use_gqa(attention_mask: torch.Tensor | None, key: torch.Tensor, value: torch.Tensor) -> bool:
    if _TRANSFORMERS_DECISION(attention_mask, key, value):
        return True
    return key.device.type == "cpu" and not torch.is_grad_enabled()


def share_kv_heads_in_cpu_inference() -> None:
    """Idempotent; process-wide (transformers looks the decision up at every attention call)."""
    sdpa_attention.use_gqa_in_sdpa = _use_gqa
