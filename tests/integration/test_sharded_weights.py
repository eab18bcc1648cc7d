"""Full-weight gathering from a sharded model, on this CPU: FSDP2 (`fully_shard`) over 2 gloo
processes is the one sharded setup that runs without a GPU (accelerate turns FSDP into DDP on
CPU, and DeepSpeed does not train on CPU). GRPO's reference model is saved into and restored from
checkpoints through these calls under every launcher.accelerate_config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from r1pipe.pipeline.launcher import free_port

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

WORKER = Path(__file__).with_name("fsdp_gather_worker.py")


def test_fsdp2_shards_gather_to_the_full_weights_and_load_back(tmp_path):
    port = str(free_port())
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port]
        + [str(WORKER), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    name, local, full = report["sharded"]
    assert local[0] * 2 == full[0], f"{name} is not sharded over the 2 processes: {local} of {full}"
    assert report["gathered_keys_match"]
    assert report["gathered_max_diff"] == 0.0  # gathering is a copy, exact
    assert report["loaded_max_diff"] == 0.0 and report["reloaded_max_diff"] == 0.0
