"""The real CLI, in a fresh process from a directory outside the repo, on the shipped toy base.

One finished run is shared by the module (cold start for a few steps); the interruption test
makes its own run and kills it mid-stage.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import (
    FAULTS,
    QUICK,
    QUICK_STEPS,
    kill_once_checkpointed,
    r1pipe,
    r1pipe_here,
    start_run,
    tree_hashes,
    tree_snapshot,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("work")
    run_dir = work / "runs" / "toy"
    r1pipe("run", f"run_dir={run_dir}", *QUICK, cwd=work)
    return run_dir


def test_cold_start_writes_a_complete_stage(finished_run: Path):
    stage = finished_run / "01_cold_start"
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["metrics"]["train/final_step"] == 8
    assert {
        "eval/before/heldout/pass@1",
        "eval/after/heldout/pass@1",
        "eval/after/heldout/language_consistency",
    } <= set(manifest["metrics"])
    assert sorted(p.name for p in (stage / "checkpoints").glob("step_*")) == ["step_000004", "step_000008"]
    assert not list((stage / "checkpoints").glob("checkpoint-*")), "every finished checkpoint is published"
    # A checkpoint holds everything resume needs: model, optimizer, scheduler, RNG, trainer state.
    assert {p.name for p in (stage / "checkpoints" / "step_000008").iterdir()} == {
        "chat_template.jinja",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "optimizer.pt",
        "rng_state.pth",
        "scheduler.pt",
        "tokenizer.json",
        "tokenizer_config.json",
        "trainer_state.json",
        "training_args.bin",
    }
    assert {"config.yaml", "launch.json", "metrics.jsonl", "eval.json", "model", "data"} <= {
        p.name for p in stage.iterdir()
    }
    assert (finished_run / "config.yaml").exists() and (finished_run / "plan.json").exists()
    assert "cold_start" in (finished_run / "r1pipe.log").read_text()


def test_final_model_loads_with_plain_transformers_and_differs_from_base(finished_run: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1pipe.toy.base_model import toy_base_dir

    model_dir = finished_run / "01_cold_start" / "model"
    tuned = AutoModelForCausalLM.from_pretrained(model_dir)
    base = AutoModelForCausalLM.from_pretrained(toy_base_dir())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert "<think>" in tokenizer.get_vocab() and "generation" in tokenizer.chat_template
    assert tokenizer.eos_token == "<|im_end|>"
    moved = [
        n
        for (n, p), (_, q) in zip(tuned.named_parameters(), base.named_parameters(), strict=True)
        if not p.equal(q)
    ]
    assert len(moved) > 10, "training should change the parameters"


def test_second_run_skips_the_complete_stage_without_loading_a_model(finished_run: Path, tmp_path: Path):
    before = tree_snapshot(finished_run / "01_cold_start")
    proc = r1pipe("run", f"run_dir={finished_run}", *QUICK, cwd=tmp_path)
    assert "skip    complete, fingerprint unchanged" in proc.stderr
    assert "Loading weights" not in proc.stderr
    assert tree_snapshot(finished_run / "01_cold_start") == before


def test_override_changes_the_plan_and_lands_in_the_stage_config(finished_run: Path, tmp_path: Path):
    proc = r1pipe(
        "run", f"run_dir={finished_run}", *QUICK, "cold_start.learning_rate=0.0011", "--dry-run", cwd=tmp_path
    )
    assert "run     config changed: cold_start.learning_rate" in proc.stdout
    proc = r1pipe(
        "run",
        f"run_dir={finished_run}",
        *QUICK,
        "cold_start.learning_rate=0.0011",
        "cold_start.max_steps=4",
        cwd=tmp_path,
    )
    saved = (finished_run / "01_cold_start" / "config.yaml").read_text()
    assert "learning_rate: 0.0011" in saved
    assert list((finished_run / "superseded").iterdir()), "the replaced stage is set aside, not deleted"
    proc = r1pipe(
        "run",
        f"run_dir={finished_run}",
        *QUICK,
        "cold_start.learning_rate=0.0011",
        "cold_start.max_steps=4",
        "--dry-run",
        cwd=tmp_path,
    )
    assert "skip" in proc.stdout


GOOD_CHAT = {"messages": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]}


def bad_inputs(tmp: Path) -> dict[str, Path]:
    """The files the bad-input table names: broken copies of the toy base and broken data."""
    from r1pipe.toy import toy_base_dir

    made = {}
    for name in ("bad_config", "truncated_weights"):
        made[name] = tmp / name
        shutil.copytree(toy_base_dir(), made[name])
    (made["bad_config"] / "config.json").write_text('{"model_type": "qw')
    weights = made["truncated_weights"] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])
    lines = {
        "no_column": [{"text": "no messages column"}],
        "bad_line_later": [GOOD_CHAT] * 50 + [{"messages": "not turns"}],
        "plain_strings": [GOOD_CHAT, {"messages": ["1+1?", "2"]}],
    }
    made["bad_record_json"] = tmp / "bad_record_json.json"
    made["bad_record_json"].write_text(json.dumps([GOOD_CHAT, {"text": "no messages"}]))
    for name, rows in lines.items():
        made[name] = tmp / f"{name}.jsonl"
        made[name].write_text("".join(json.dumps(row) + "\n" for row in rows))
    return made


# Each bad input is refused by validation, before the plan: exit 2, the message, and the
# finished run directory unchanged byte for byte (its files' hashes).
BAD_INPUTS = [
    ("data.cold_start.path=/no/such/file.jsonl", "/no/such/file.jsonl does not exist"),
    ("init_model={tmp}", "has no config.json"),
    ("init_model={bad_config}", "config.json does not parse"),
    ("init_model={truncated_weights}", "model.safetensors is unreadable"),
    ("data.cold_start.path={no_column}", "data.cold_start.messages_column"),
    ("data.cold_start.path={bad_line_later}", "bad_line_later.jsonl line 51"),
    ("data.cold_start.path={plain_strings}", "line 2: messages: turn 0 is '1+1?'"),
    ("data.cold_start.path={bad_record_json}", "bad_record_json.json record 1: has no ['messages']"),
    ("data.rl_prompts.path=/no/such/prompts.jsonl", "data.rl_prompts.path: dataset file"),
    ("cold_start.lr=1", "did you mean cold_start.learning_rate"),
    ("+cold_start.foo=1", "cold_start has no such setting"),
    (
        "experiment=toy_quik",
        "choose one of: r1_qwen2.5_1.5b, r1_qwen2.5_7b, toy_aha, toy_language_mix, toy_quick",
    ),
    ("reasoning_rl.temperature=-1", "reasoning_rl.temperature: must be > 0"),
    ("reasoning_rl.top_p=2", "reasoning_rl.top_p: must be in (0, 1]"),
    ("launcher.num_processes=3", "launcher=local runs each stage in one process"),
    # Issue 31, point 3: found before any work, not as per-rank tracebacks once the stage runs.
    (
        "launcher=accelerate launcher.num_processes=3 launcher.mixed_precision=no",
        "reasoning_rl.prompts_per_step: 2 prompts x 4 completions = 8 do not split in whole groups over 3",
    ),
]


@pytest.mark.faults
@pytest.mark.parametrize("override, expected", BAD_INPUTS, ids=[o.split("=")[0] + "=" for o, _ in BAD_INPUTS])
def test_bad_inputs_stop_before_any_work_and_touch_nothing(
    finished_run: Path, tmp_path: Path, override: str, expected: str
):
    before = tree_hashes(finished_run)
    proc = r1pipe_here(
        "run",
        f"run_dir={finished_run}",
        *QUICK,
        *override.format(tmp=tmp_path, **bad_inputs(tmp_path)).split(),
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert tree_hashes(finished_run) == before


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from r1pipe.pipeline.runlock import RunDirLock
lock = RunDirLock(Path(sys.argv[1]))
lock.acquire()
lock.announce()
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.faults
def test_a_second_orchestrator_is_refused_and_changes_nothing(finished_run: Path, tmp_path: Path):
    """Another `r1pipe run` holds the run directory: this one names it and exits before planning."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(finished_run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = tree_hashes(finished_run)
        args = [f"run_dir={finished_run}", *QUICK, "cold_start.learning_rate=0.002"]
        proc = r1pipe("run", *args, cwd=tmp_path, check=False)
        assert proc.returncode == 2, proc.stderr
        assert f"in use by another r1pipe (pid {holder.pid}" in proc.stderr
        assert tree_hashes(finished_run) == before
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.faults
def test_interrupted_stage_resumes_from_its_checkpoint_to_the_same_final_step(tmp_path: Path):
    run_dir = tmp_path / "run"
    args = [
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        "pipeline.stages=[cold_start]",
        "eval.after_stage=false",
        "cold_start.max_steps=16",
        "cold_start.save_steps=5",
        "cold_start.save_total_limit=3",
    ]
    checkpoints = run_dir / "01_cold_start" / "checkpoints"
    kill_once_checkpointed(args, tmp_path, checkpoints / "step_000005")
    assert not (run_dir / "01_cold_start" / "manifest.json").exists()

    dry = r1pipe("run", *args, "--dry-run", cwd=tmp_path)
    assert "resume  interrupted; resuming from step_0000" in dry.stdout
    status = r1pipe("status", str(run_dir), cwd=tmp_path)
    assert "running/interrupted" in status.stdout
    report = r1pipe("report", str(run_dir), cwd=tmp_path)  # a partial run has a report too
    page = (run_dir / "report" / "index.html").read_text(encoding="utf-8")
    assert "running/interrupted" in page and str(run_dir / "report" / "index.html") in report.stdout

    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((run_dir / "01_cold_start" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["metrics"]["train/final_step"] == 16
    state = json.loads((checkpoints / "step_000016" / "trainer_state.json").read_text())
    assert state["global_step"] == 16
    log = (run_dir / "r1pipe.log").read_text()
    assert "resuming from" in log
    rows = [
        json.loads(line) for line in (run_dir / "01_cold_start" / "metrics.jsonl").read_text().splitlines()
    ]
    logged = [row["step"] for row in rows if "loss" in row]
    assert logged == list(range(2, 17, 2)), (
        logged
    )  # each step once: what the killed attempt logged after step 5 went


@pytest.mark.faults
def test_a_kill_between_the_final_checkpoint_and_the_final_save_trains_no_extra_step(tmp_path: Path):
    """The state a SIGKILL during the final save leaves: the last step's checkpoint published,
    no model/ and no trained.json. The resumed trainer must stop at max_steps, not one after."""
    run_dir = tmp_path / "run"
    args = [f"run_dir={run_dir}", *QUICK_STEPS, "pipeline.stages=[cold_start]", "eval.after_stage=false"]
    args += ["cold_start.max_steps=6", "cold_start.save_steps=3", "cold_start.logging_steps=1"]
    stage = run_dir / "01_cold_start"
    kill_once_checkpointed(args, tmp_path, stage / "checkpoints" / "step_000006")
    shutil.rmtree(stage / "model", ignore_errors=True)  # as if killed while it was written
    (stage / "trained.json").unlink(missing_ok=True)

    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 6
    assert sorted(p.name for p in (stage / "checkpoints").iterdir())[-1] == "step_000006"
    rows = [json.loads(line) for line in (stage / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows if "loss" in row] == [1, 2, 3, 4, 5, 6]
    assert "holds the final step 6: nothing left to train" in (run_dir / "r1pipe.log").read_text()


@pytest.mark.faults
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_step_saves_a_checkpoint_and_the_rerun_resumes(tmp_path: Path, sig):
    """SIGTERM to the orchestrator alone (`kill`, Slurm's notice; it forwards it) or Ctrl-C (SIGINT
    to the whole process group): the stage finishes its step, saves a checkpoint although none was
    due (save_steps=1000), ends interrupted, and the CLI prints the resume command."""
    run_dir = tmp_path / "run"
    args = [f"run_dir={run_dir}", *QUICK_STEPS, "pipeline.stages=[cold_start]", "eval.after_stage=false"]
    args += ["cold_start.max_steps=20", "cold_start.save_steps=1000", "cold_start.logging_steps=1"]
    stage = run_dir / "01_cold_start"
    orchestrator = start_run(args, tmp_path, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    metrics = stage / "metrics.jsonl"
    while not metrics.exists() or len(metrics.read_text().splitlines()) < 3:
        assert orchestrator.poll() is None and time.time() < deadline, "no 3 logged steps"
        time.sleep(0.2)
    if sig == signal.SIGTERM:
        os.kill(orchestrator.pid, sig)
    else:
        os.killpg(orchestrator.pid, sig)
    _, err = orchestrator.communicate(timeout=300)
    assert orchestrator.returncode == 130, err
    assert f"resume with: r1pipe run run_dir={run_dir}" in err
    assert "Traceback" not in err  # a graceful stop says so in a line, not a StopRequested traceback
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert "stopping after the current step with a checkpoint" in (run_dir / "r1pipe.log").read_text()
    saved = sorted(p.name for p in (stage / "checkpoints").iterdir() if p.name.startswith("step_"))
    assert len(saved) == 1 and 3 <= int(saved[0][5:]) < 20, saved  # the step it stopped at
    if sig == signal.SIGINT:
        return  # the resume is the same for both signals
    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 20
    rows = [json.loads(line) for line in (stage / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows if "loss" in row] == list(range(1, 21))


def mount_small_tmpfs(where: Path, size: str) -> bool:
    """A tmpfs of `size` at `where` (root only); False where it cannot be mounted."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)]).returncode == 0


@pytest.mark.faults
def test_a_full_disk_fails_the_stage_naming_it_and_the_rerun_resumes(tmp_path: Path):
    """The run directory on a 6 MB tmpfs (a toy checkpoint needs ~11 MB; where no tmpfs can be
    mounted, torch.save into a checkpoint raises ENOSPC instead): the stage fails naming the
    disk, the orchestrator records it (never a traceback of its own), no half-written checkpoint
    is left, and with room again the rerun finishes with the exact final step."""
    disk = tmp_path / "disk"
    real = mount_small_tmpfs(disk, "6m")
    env = {} if real else {"PYTHONPATH": str(FAULTS), "R1PIPE_TEST_FAULT": "disk_full_at_checkpoint"}
    try:
        run_dir = disk / "run"
        stage = run_dir / "01_cold_start"
        args = [f"run_dir={run_dir}", *QUICK_STEPS, "pipeline.stages=[cold_start]", "eval.after_stage=false"]
        args += ["cold_start.max_steps=6", "cold_start.save_steps=2"]
        proc = r1pipe("run", *args, cwd=tmp_path, check=False, env=env)
        assert proc.returncode == 2, proc.stderr
        assert "stage cold_start failed in its train step" in proc.stderr
        named = f"the disk holding {stage}" if real else "No space left on device"
        assert named in proc.stderr and "Traceback" not in proc.stderr.split("error: stage")[-1]
        assert json.loads((stage / "manifest.json").read_text())["status"] == "failed"
        assert not list((stage / "checkpoints").glob("checkpoint-*")), "no half-written checkpoint left"
        if real:
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        r1pipe("run", *args, cwd=tmp_path)
        manifest = json.loads((stage / "manifest.json").read_text())
        assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 6
    finally:
        if real:
            subprocess.run(["umount", "-l", str(disk)])


@pytest.mark.faults
def test_a_crash_after_training_reruns_only_the_hand_off_check_and_evaluation(tmp_path: Path):
    """Training and evaluation are separate processes: killed once the train step has saved the
    model (trained.json), the rerun trains nothing and only checks and evaluates that model."""
    run_dir = tmp_path / "run"
    args = [f"run_dir={run_dir}", *QUICK_STEPS, "stage=cold_start"]
    stage = run_dir / "01_cold_start"
    kill_once_checkpointed(args, tmp_path, stage / "trained.json")
    assert not (stage / "manifest.json").exists()
    logged, model = (stage / "metrics.jsonl").read_text(), tree_snapshot(stage / "model")
    assert "trained, evaluating/interrupted" in r1pipe("status", str(run_dir), cwd=tmp_path).stdout

    rerun = r1pipe("run", *args, cwd=tmp_path)
    assert "resume  trained; its hand-off check and evaluation are left" in rerun.stdout + rerun.stderr
    assert (stage / "metrics.jsonl").read_text() == logged, "no training step ran again"
    assert tree_snapshot(stage / "model") == model
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 8
    assert {"eval/before/heldout/pass@1", "eval/after/heldout/pass@1"} <= set(manifest["metrics"])


def test_the_next_stage_before_is_this_stage_after(finished_run: Path):
    """Stage 2 evaluates only its own model: its 'before' is stage 1's 'after', copied."""
    first, second = finished_run / "01_cold_start", finished_run / "02_reasoning_rl"
    after = json.loads((first / "eval_after.json").read_text())
    assert json.loads((second / "eval_before.json").read_text()) == after
    assert (second / "eval" / "before" / "heldout.jsonl").read_bytes() == (
        first / "eval" / "after" / "heldout.jsonl"
    ).read_bytes()
    assert "'before' = the 'after' of 01_cold_start" in (finished_run / "r1pipe.log").read_text()


def test_status_shows_the_table(finished_run: Path, tmp_path: Path):
    out = r1pipe("status", str(finished_run), cwd=tmp_path).stdout
    assert "01_cold_start" in out and "complete" in out and "heldout/pass@1=" in out
    assert f"r1pipe report {finished_run}" in out


def test_report_of_the_finished_run_has_every_figure_it_has_data_for(finished_run: Path, tmp_path: Path):
    from PIL import Image

    out = tmp_path / "report"
    shown = r1pipe("report", str(finished_run), "--out", str(out), cwd=tmp_path).stdout
    assert f"report: {out / 'index.html'}" in shown
    pngs = {p.name: p for p in out.glob("*.png")}
    expected = {
        "loss",
        "rl_rewards",
        "rl_mismatch",  # the clipped share, logged by TRL with any rollouts
        "rl_accuracy",
        "rl_length",
        "rl_reflection",
        "eval_pass1",
        "eval_language",
    }
    assert set(pngs) == {f"{name}.png" for name in expected}  # no funnel (no stage 3), no difficulty filter
    for path in pngs.values():
        with Image.open(path) as image:
            assert image.width > 300 and image.height > 200
            assert len(image.convert("RGB").getcolors(1 << 16) or []) > 20, f"{path.name} looks blank"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(expected) and "02_reasoning_rl" in page


@pytest.mark.faults
def test_a_copied_run_dir_evaluates_and_resumes_its_own_models(finished_run: Path, tmp_path: Path):
    """The copy's manifests point into the copy (paths relative to the run directory): eval takes
    the copy's last model, and the copy's plan is the original's."""
    copy = tmp_path / "copy"
    shutil.copytree(finished_run, copy)
    out = tmp_path / "eval"
    args = ["eval.num_problems=4", "eval.samples_per_problem=2", "eval.max_new_tokens=48", "--out", str(out)]
    shown = r1pipe("eval", str(copy), *args, cwd=tmp_path).stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == str(copy / "02_reasoning_rl" / "model")
    heldout = summary["benchmarks"]["heldout"]
    assert (heldout["k"], heldout["problems"], heldout["reward"]) == (2, 4, "toy_accuracy")
    assert "heldout" in shown and "pass@1 (SE) [95% CI]" in shown
    planned = r1pipe("run", f"run_dir={copy}", *QUICK, "--dry-run", cwd=tmp_path).stdout
    original = r1pipe("run", f"run_dir={finished_run}", *QUICK, "--dry-run", cwd=tmp_path).stdout
    assert "missing" not in planned and planned == original.replace(str(finished_run), str(copy))


def test_eval_gate_stops_a_resumed_pipeline_before_the_next_stage(finished_run: Path, tmp_path: Path):
    before = tree_snapshot(finished_run / "02_reasoning_rl")
    args = [f"run_dir={finished_run}", *QUICK, "from_stage=reasoning_rl", "eval.gate.min_value=1.01"]
    proc = r1pipe("run", *args, cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "eval gate: heldout pass@1 after cold_start is" in proc.stderr
    assert "below eval.gate.min_value=1.01. Stopping before reasoning_rl" in proc.stderr
    assert tree_snapshot(finished_run / "02_reasoning_rl") == before


def test_help_and_list_and_cfg(tmp_path: Path):
    assert "group=option" in r1pipe("--help", cwd=tmp_path).stdout
    assert "from_stage" in r1pipe("run", "--help", cwd=tmp_path).stdout
    listing = r1pipe("list", cwd=tmp_path).stdout
    assert "cold_start" in listing and "r1_qwen2.5_1.5b" in listing
    assert "rejection: paper, toy" in listing and "pipeline: distill, r1, r1_zero" in listing
    cfg = r1pipe("run", "--cfg", "experiment=r1_qwen2.5_1.5b", cwd=tmp_path).stdout
    assert "Qwen/Qwen2.5-1.5B" in cfg and "kind: accelerate" in cfg


@pytest.mark.parametrize(
    "variant", [["cold_start=lora"], ["cold_start.packing=true"]], ids=["lora", "packing"]
)
def test_lora_and_packing_variants_train_and_hand_off_a_plain_model(tmp_path: Path, variant: list[str]):
    from transformers import AutoModelForCausalLM

    from r1pipe.toy.base_model import toy_base_dir

    run_dir = tmp_path / "run"
    r1pipe(
        "run",
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        "pipeline.stages=[cold_start]",
        "eval.after_stage=false",
        "cold_start.max_steps=3",
        *variant,
        cwd=tmp_path,
    )
    model_dir = run_dir / "01_cold_start" / "model"
    assert not (model_dir / "adapter_config.json").exists(), (
        "LoRA adapters must be merged into the final model"
    )
    tuned = AutoModelForCausalLM.from_pretrained(model_dir)
    base = AutoModelForCausalLM.from_pretrained(toy_base_dir())
    assert any(not p.equal(q) for p, q in zip(tuned.parameters(), base.parameters(), strict=True))
    saved = (run_dir / "01_cold_start" / "config.yaml").read_text()
    assert ("enabled: true" in saved) if variant == ["cold_start=lora"] else ("packing: true" in saved)


def test_reasoning_rl_starts_from_stage_one_and_logs_reward_components(finished_run: Path):
    from transformers import AutoModelForCausalLM

    stage1, stage2 = finished_run / "01_cold_start", finished_run / "02_reasoning_rl"
    manifest = json.loads((stage2 / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 2
    assert manifest["inputs"]["model"] == "../01_cold_start/model"  # inside the run: relative
    assert (
        manifest["inputs"]["from_completion"]
        == json.loads((stage1 / "manifest.json").read_text())["completion_id"]
    )
    logged = {
        k
        for row in (json.loads(line) for line in (stage2 / "metrics.jsonl").read_text().splitlines())
        for k in row
    }
    for key in (
        "rewards/toy_accuracy/mean",
        "rewards/r1_format/mean",
        "rewards/language_consistency/mean",
        "kl",
        "entropy",
        "completions/mean_length",
        "completions/clipped_ratio",
        "frac_reward_zero_std",
        "reward/toy_accuracy/timeouts",
        "rewards/reflective_words/mean",
        "dynamic_sampling/dropped_fraction",  # toy_quick turns dynamic sampling on
    ):
        assert key in logged, key
    samples = [json.loads(line) for line in (stage2 / "samples.jsonl").read_text().splitlines()]
    assert samples and {"step", "prompt", "completion", "answer", "language"} <= set(samples[0])
    tuned = AutoModelForCausalLM.from_pretrained(stage2 / "model")
    start = AutoModelForCausalLM.from_pretrained(stage1 / "model")
    assert any(not p.equal(q) for p, q in zip(tuned.parameters(), start.parameters(), strict=True))


def test_r1_zero_pipeline_runs_rl_straight_from_the_base_with_the_raw_template(tmp_path: Path):
    from transformers import AutoTokenizer

    from r1pipe.toy.base_model import toy_base_dir

    run_dir = tmp_path / "zero"
    r1pipe(
        "run", "pipeline=r1_zero", f"run_dir={run_dir}", *QUICK_STEPS, "eval.after_stage=false", cwd=tmp_path
    )
    assert sorted(p.name for p in run_dir.iterdir() if p.is_dir()) == ["01_reasoning_rl"]
    manifest = json.loads((run_dir / "01_reasoning_rl" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["inputs"]["model"] == str(toy_base_dir())
    logged = (run_dir / "01_reasoning_rl" / "metrics.jsonl").read_text()
    assert "rewards/r1_zero_format/mean" in logged and "language_consistency" not in logged
    template = AutoTokenizer.from_pretrained(run_dir / "01_reasoning_rl" / "model").chat_template
    assert "A conversation between User and Assistant" in template


@pytest.mark.faults
def test_interrupted_reasoning_rl_resumes_with_its_reference_model(tmp_path: Path):
    run_dir = tmp_path / "run"
    args = [
        f"run_dir={run_dir}",
        *QUICK,
        "eval.after_stage=false",
        "reasoning_rl.max_steps=12",
        "reasoning_rl.save_steps=3",
        "reasoning_rl.ref_sync_steps=2",
        "reasoning_rl.save_total_limit=5",
    ]
    checkpoints = run_dir / "02_reasoning_rl" / "checkpoints"
    kill_once_checkpointed(args, tmp_path, checkpoints / "step_000003")
    # The reference was refreshed at step 2, so step 3's checkpoint carries it.
    assert (checkpoints / "step_000003" / "reference_model" / "config.json").exists()

    dry = r1pipe("run", *args, "--dry-run", cwd=tmp_path)
    assert "cold_start           skip" in dry.stdout and "reasoning_rl         resume" in dry.stdout
    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((run_dir / "02_reasoning_rl" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 12
    assert "reference model restored from" in (run_dir / "r1pipe.log").read_text()
