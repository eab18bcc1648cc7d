"""An RL stage process with transformers rollouts keeps TRL from importing vLLM (3-4 s per stage on
the CPU); a stage with vLLM rollouts gets TRL's vLLM as before. Each case in a fresh interpreter:
whether vLLM is imported is a property of the whole process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from r1pipe.generation import vllm_installed

pytestmark = pytest.mark.skipif(not vllm_installed(), reason="vLLM is not installed: TRL never imports it")

PROBE = """
import json, sys
from omegaconf import OmegaConf
from r1pipe.pipeline.stage_process import keep_trl_from_importing_vllm
cfg = OmegaConf.create(json.loads(sys.argv[1]))
if sys.argv[2] != "-":
    keep_trl_from_importing_vllm(cfg, sys.argv[2])
from trl import GRPOTrainer
from trl.import_utils import is_vllm_available
print(json.dumps({"vllm_imported": "vllm" in sys.modules, "trl_says": is_vllm_available()}))
"""


def probe(cfg: dict, stage: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(cfg), stage], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_transformers_rollouts_keep_vllm_out_of_the_stage_process():
    cfg = {"reasoning_rl": {"generation": "transformers"}}
    assert probe(cfg, "-") == {"vllm_imported": True, "trl_says": True}, "TRL imports vLLM by itself"
    assert probe(cfg, "reasoning_rl") == {"vllm_imported": False, "trl_says": False}


@pytest.mark.parametrize(
    ("cfg", "stage"),
    [
        ({"all_scenario_rl": {"generation": "vllm_colocate"}}, "all_scenario_rl"),
        ({"all_scenario_rl": {"generation": "vllm_server"}}, "all_scenario_rl"),
        ({"cold_start": {"learning_rate": 1e-4}}, "cold_start"),  # no rollouts: TRL's own answer
    ],
)
def test_other_stages_keep_trls_vllm(cfg, stage):
    assert probe(cfg, stage)["trl_says"] is True
