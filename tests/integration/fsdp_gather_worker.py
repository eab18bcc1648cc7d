"""Run by test_sharded_weights.py under torchrun (2 processes, gloo, CPU): shard the toy model
with FSDP2 (`fully_shard`), then gather and load its full weights with r1pipe.training.sharded.

    python -m torch.distributed.run --nproc_per_node 2 fsdp_gather_worker.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from transformers import AutoModelForCausalLM

from r1pipe.toy.base_model import toy_base_dir
from r1pipe.training.sharded import full_state_dict, load_full_state_dict


def main(out: Path) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    model = AutoModelForCausalLM.from_pretrained(toy_base_dir(), dtype=torch.float32)
    original = {k: v.clone() for k, v in model.state_dict().items()}
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    for layer in model.model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    name, param = next(iter(model.named_parameters()))
    local, full_shape = param.to_local().shape, param.shape  # a DTensor: this rank's shard

    gathered = full_state_dict(model)
    changed = {k: v + 1.0 for k, v in original.items()}
    load_full_state_dict(model, changed)  # every rank passes the full state, keeps its shard
    regathered = full_state_dict(model)
    if rank == 0:
        model_dir = out / "model"
        AutoModelForCausalLM.from_config(model.config).save_pretrained(model_dir, state_dict=dict(regathered))
        reloaded = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).state_dict()
        report = {
            "sharded": [name, list(local), list(full_shape)],
            "gathered_keys_match": sorted(gathered) == sorted(original),
            "gathered_max_diff": max((gathered[k] - original[k]).abs().max().item() for k in original),
            "loaded_max_diff": max((regathered[k] - changed[k]).abs().max().item() for k in changed),
            "reloaded_max_diff": max((reloaded[k] - changed[k]).abs().max().item() for k in reloaded),
        }
        (out / "report.json").write_text(json.dumps(report))
    else:
        assert gathered == {} and regathered == {}, "only the main process gets the full weights"
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
