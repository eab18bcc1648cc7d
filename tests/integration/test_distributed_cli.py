"""Training stages on several processes through the real CLI: `launcher=accelerate
launcher.num_processes=2` on this CPU is gloo DDP (issue 13). Tiny steps: each run is seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import QUICK_STEPS, TWO_PROCESSES, r1pipe, stage_process
from transformers import AutoModelForCausalLM

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

BATCH = 8  # examples per process per step under 2 processes; 16 in one process: the same global batch
COLD_START = [
    *QUICK_STEPS,
    "stage=cold_start",
    "eval.after_stage=false",
    "cold_start.max_steps=6",
    "cold_start.logging_steps=1",
    "cold_start.save_steps=3",
]
# Measured on the 2-core CPU (fp32, 2026-11-30): the 6 per-step losses of 1 process x 16 and
# 2 processes x 8 differ by at most 1.1e-7 relative (reduction order), and the final weights by
# at most 4.7e-6 (largest weight 1.63): TRL normalises the loss by the global token count, so
# the split does not change the objective. The bounds leave two orders of magnitude of room.
LOSS_TOLERANCE = 1e-5
WEIGHT_TOLERANCE = 1e-3


def losses(stage_dir: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


# The module's two runs evaluate the base and their model in chunks of 2 problems (3 chunks: the
# second process samples one of them), one decoding thread per process as in the one-process run.
EVALUATED = [
    "eval.after_stage=true",
    "eval.benchmarks=[heldout]",
    "eval.num_problems=6",
    "eval.shard_size=2",
    "generation.cpu_decode_threads=1",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("distributed")
    one, two = root / "one", root / "two"
    r1pipe(
        "run",
        *COLD_START,
        *EVALUATED,
        f"cold_start.per_device_train_batch_size={2 * BATCH}",
        f"run_dir={one}",
        cwd=root,
    )
    r1pipe(
        "run",
        *COLD_START,
        *EVALUATED,
        *TWO_PROCESSES,
        f"cold_start.per_device_train_batch_size={BATCH}",
        f"run_dir={two}",
        cwd=root,
    )
    return {"one": one / "01_cold_start", "two": two / "01_cold_start"}


def test_sft_on_two_processes_follows_the_one_process_loss(runs):
    one, two = losses(runs["one"]), losses(runs["two"])
    assert sorted(one) == sorted(two) == list(range(1, 7))
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=LOSS_TOLERANCE), (step, one, two)
    a = AutoModelForCausalLM.from_pretrained(runs["one"] / "model").state_dict()
    b = AutoModelForCausalLM.from_pretrained(runs["two"] / "model").state_dict()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < WEIGHT_TOLERANCE


def test_two_processes_evaluate_what_one_process_evaluates(runs):
    """The finish step's evaluation samples on both processes (chunks seeded by where they start)
    and the main one scores: the base model's evaluation, the same model in both runs, gives the
    same completions and figures on 2 processes as on 1."""

    def before(stage_dir: Path) -> tuple[list[dict], dict]:
        rows = [
            json.loads(line)
            for line in (stage_dir / "eval" / "before" / "heldout.jsonl").read_text().splitlines()
        ]
        metrics = json.loads((stage_dir / "eval_before.json").read_text())["heldout"]["metrics"]
        return rows, {k: v for k, v in metrics.items() if k != "seconds"}

    assert before(runs["two"]) == before(runs["one"])
    assert len(before(runs["one"])[0]) == 6
    manifest = json.loads((runs["two"] / "manifest.json").read_text())
    assert manifest["topology"]["finish_processes"] == 2
    assert not (runs["two"] / "eval" / "before" / "chunks").exists(), (
        "the shared chunks are removed once read"
    )


@pytest.mark.slow  # make test-all; the stage-4 two-process test below covers GRPO ranks in sync
def test_grpo_on_two_processes_keeps_the_ranks_in_sync(tmp_path):
    """Reasoning RL (GRPO, TRL's transformers generation) on 2 processes: each rank generates
    for its share of the prompts, rewards are gathered, and every rank ends with the same
    parameters (checked by an all-gathered digest before the model is handed on)."""
    run_dir = tmp_path / "rl"
    steps = ["pipeline.stages=[cold_start,reasoning_rl]", "eval.after_stage=false", "cold_start.max_steps=2"]
    r1pipe("run", *QUICK_STEPS, *steps, *TWO_PROCESSES, f"run_dir={run_dir}", cwd=tmp_path)
    manifest = json.loads((run_dir / "02_reasoning_rl" / "manifest.json").read_text())
    assert manifest["metrics"]["train/final_step"] == 2
    assert manifest["metrics"]["train/ranks_in_sync"] == 2
    assert (manifest["topology"]["processes"], manifest["topology"]["backend"]) == (2, "gloo")
    logged = [
        json.loads(line) for line in (run_dir / "02_reasoning_rl" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in logged if "reward" in r] == [1, 2]


def test_the_manifest_records_the_world_it_ran_in(runs):
    one = json.loads((runs["one"] / "manifest.json").read_text())["topology"]
    two = json.loads((runs["two"] / "manifest.json").read_text())["topology"]
    assert one["processes"] == 1
    assert json.loads((runs["two"] / "manifest.json").read_text())["metrics"]["train/ranks_in_sync"] == 2
    assert (two["processes"], two["machines"], two["distributed_type"], two["backend"]) == (
        2,
        1,
        "MULTI_CPU",
        "gloo",
    )
    status = r1pipe("status", str(runs["two"].parent), cwd=runs["two"].parent).stdout
    assert "2 MULTI_CPU/gloo" in status


def test_two_processes_write_one_loadable_model_and_every_rank_state(runs):
    model_dir = runs["two"] / "model"
    assert sorted(p.name for p in runs["two"].parent.glob("*/model")) == ["model"]
    AutoModelForCausalLM.from_pretrained(model_dir)  # loads with plain transformers
    checkpoint = runs["two"] / "checkpoints" / "step_000006"
    assert {p.name for p in checkpoint.glob("rng_state*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}


@pytest.mark.faults
def test_a_killed_rank_stops_the_stage_and_the_rerun_resumes(tmp_path):
    """SIGKILL of rank 1 mid-stage: the launcher stops rank 0 (no hang on its next collective),
    the orchestrator records the stage as interrupted (no process raised an error of its own)
    and says how to resume; the rerun resumes from
    the last checkpoint and ends where an uninterrupted 2-process run ends, with its loss."""
    run_dir = tmp_path / "killed"
    args = [*COLD_START, "cold_start.max_steps=12", "cold_start.save_steps=4", *TWO_PROCESSES]
    orchestrator = subprocess.Popen(
        [sys.executable, "-m", "r1pipe.cli", "run", *args, f"run_dir={run_dir}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    checkpoint = run_dir / "01_cold_start" / "checkpoints" / "step_000004"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() or stage_process(1, run_dir) is None:
        assert orchestrator.poll() is None and time.monotonic() < deadline, "no checkpoint to kill after"
        time.sleep(0.1)
    os.kill(stage_process(1, run_dir), signal.SIGKILL)
    output, _ = orchestrator.communicate(timeout=120)  # no hang: the other rank is stopped too
    assert orchestrator.returncode != 0 and "rerun `r1pipe run run_dir=" in output
    assert stage_process(0, run_dir) is None
    failure = json.loads((run_dir / "01_cold_start" / "manifest.json").read_text())
    assert failure["status"] == "interrupted", failure  # killed, not an error of the stage
    assert "train: " in failure["metrics"]["failure"] and "interrupted in its train step" in output

    rerun = r1pipe("run", *args, f"run_dir={run_dir}", cwd=tmp_path)
    assert "resuming from step_" in rerun.stdout + rerun.stderr
    straight = tmp_path / "straight"
    r1pipe("run", *args, f"run_dir={straight}", cwd=tmp_path)
    resumed, uninterrupted = losses(run_dir / "01_cold_start"), losses(straight / "01_cold_start")
    assert max(resumed) == max(uninterrupted) == 12
    assert resumed[12] == pytest.approx(uninterrupted[12], rel=LOSS_TOLERANCE)


def test_all_scenario_rl_on_two_processes_routes_and_judges_every_rank(tmp_path):
    """Stage 4 on 2 processes: each rank scores its own completions by their task's rewards
    (rules, or the toy reward models both ranks load from the one build); TRL averages the routed
    metrics over the ranks; the main process alone logs samples; parameters end in sync."""
    from test_all_scenario_rl_cli import MAX_STEPS, stage4_args

    run_dir = tmp_path / "rl4"
    r1pipe("run", *stage4_args(run_dir), *TWO_PROCESSES, "eval.after_stage=false", cwd=tmp_path)
    stage = run_dir / "04_all_scenario_rl"
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["metrics"]["train/final_step"] == MAX_STEPS
    assert (manifest["topology"]["processes"], manifest["metrics"]["train/ranks_in_sync"]) == (2, 2)
    logged = [json.loads(line) for line in (stage / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in logged if "reward" in r]
    assert [r["step"] for r in steps] == list(range(1, MAX_STEPS + 1))
    assert all("route/general/frac" in r for r in steps)
    assert "reward/helpful/mean" in steps[-1]  # the reward models' window: the last step
    assert not list(stage.glob("samples.rank*")) and (stage / "samples.jsonl").is_file()
