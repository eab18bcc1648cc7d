"""Full weights of a model that may be sharded over the training processes (FSDP, DeepSpeed
ZeRO-3), for what the trainer does not save itself: GRPO's reference model in each checkpoint.

Every process must call these (gathering is a collective); only the main process gets, or needs
to pass, the full state dict. The policy itself is saved by `trainer.save_model`, which already
gathers (transformers: `accelerator.get_state_dict` under FSDP / ZeRO-3).

Library calls used: accelerate's `Accelerator.get_state_dict` for a DeepSpeed engine (it gathers
ZeRO-3 partitions when zero3_save_16bit_model is set), and torch's distributed-checkpoint
`get_model_state_dict` / `set_model_state_dict` with full_state_dict=True for everything else:
they handle FSDP1, FSDP2 (`fully_shard`) and plain modules alike.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from accelerate import Accelerator
from accelerate.utils import DistributedType
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    set_model_state_dict,
)


def _deepspeed(accelerator: Accelerator | None) -> bool:
    return accelerator is not None and accelerator.distributed_type == DistributedType.DEEPSPEED


def full_state_dict(model: torch.nn.Module, accelerator: Accelerator | None = None) -> dict[str, Any]:
    """The model's full weights on the main process (on CPU); {} on the other processes when the
    model is sharded. Call on every process."""
    if _deepspeed(accelerator) and hasattr(model, "zero_optimization_stage"):
        assert accelerator is not None
        return accelerator.get_state_dict(model)
    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def load_full_state_dict(
    model: torch.nn.Module, state: dict[str, Any], accelerator: Accelerator | None = None
) -> None:
    """Load full weights (the same `state` on every process) into a possibly sharded model; each
    process keeps its shard. Call on every process."""
    if _deepspeed(accelerator) and hasattr(model, "zero_optimization_stage"):
        import deepspeed

        module: Any = model.module  # the engine wraps the module
        with deepspeed.zero.GatheredParameters(list(module.parameters()), modifier_rank=0):
            if dist.get_rank() == 0:
                module.load_state_dict(state)
        return
    # a copy: set_model_state_dict consumes the dict it is given (keys of tied weights go missing)
    set_model_state_dict(model, dict(state), options=StateDictOptions(full_state_dict=True))
