"""The pieces of vLLM rollouts that need no engine: which head gets refreshed after a reload,
and which arguments the colocated engine gets (the engine itself: tests/integration/
test_vllm_rollouts.py)."""

from __future__ import annotations

from pathlib import Path

import torch

from r1pipe.generation.vllm_rollouts import EngineSettings, colocated_engine_arguments
from r1pipe.generation.vllm_worker import refresh_tied_head


class Recorder:
    def __init__(self):
        self.processed: list[torch.nn.Module] = []

    def process_weights_after_loading(self, layer):
        self.processed.append(layer)


def model_with_head(tied: bool) -> torch.nn.Module:
    model = torch.nn.Module()
    model.model = torch.nn.Module()
    model.model.embed_tokens = torch.nn.Embedding(8, 4)
    model.lm_head = torch.nn.Linear(4, 8, bias=False)
    if tied:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.lm_head.quant_method = Recorder()
    return model


def test_a_tied_head_is_reprocessed_after_the_reload():
    model = model_with_head(tied=True)
    assert refresh_tied_head(model)
    assert model.lm_head.quant_method.processed == [model.lm_head]


def test_an_untied_head_is_left_to_the_reload():
    model = model_with_head(tied=False)
    assert not refresh_tied_head(model)
    assert model.lm_head.quant_method.processed == []


def test_a_model_without_a_head_is_fine():
    assert not refresh_tied_head(torch.nn.Linear(2, 2))


def test_the_colocated_engine_computes_in_the_policy_dtype_with_r1pipes_worker():
    settings = EngineSettings(torch.float32, 0.5, Path("/tmp/sync"))
    on_cpu = colocated_engine_arguments(settings, on_gpu=False)
    assert on_cpu == {
        "dtype": "float32",  # vLLM's "auto" would compute an fp32 checkpoint in bf16
        "worker_extension_cls": "r1pipe.generation.vllm_worker.WeightSyncExtension",
        "kv_cache_memory_bytes": 1 << 29,
    }
    on_gpu = colocated_engine_arguments(EngineSettings(torch.bfloat16, 0.5, Path("/tmp/sync")), on_gpu=True)
    assert on_gpu["dtype"] == "bfloat16" and "kv_cache_memory_bytes" not in on_gpu  # TRL's memory share
    eager = EngineSettings(torch.float32, 0.5, Path("/tmp/sync"), enforce_eager=True)
    assert colocated_engine_arguments(eager, on_gpu=False)["enforce_eager"] is True
