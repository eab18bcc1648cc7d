"""launcher=slurm against a real Slurm: Debian's slurm-wlm (munge, slurmctld, slurmd) set up on
this machine as a one-node cluster by scripts/slurm/local_cluster.sh; `sbatch` runs the
orchestrator, which starts the training stage as an `srun` step with 2 processes (gloo DDP).

Needs the packages and root (.ci/run installs them on CI, where this test must run: there a
missing Slurm fails the test instead of skipping it). Multi-node command lines are checked in
tests/unit/test_launcher.py; one machine cannot run two slurmd of this build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import QUICK_STEPS

# One cluster per machine: under pytest-xdist (`--dist loadfile`) the module runs on one worker.
pytestmark = [pytest.mark.integration, pytest.mark.distributed]

CLUSTER = Path(__file__).parents[2] / "scripts" / "slurm" / "local_cluster.sh"


def _unavailable() -> str | None:
    if not all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "sbatch", "munged")):
        return "Slurm is not installed (apt-get install slurmd slurmctld slurm-client munge)"
    if os.geteuid() != 0:
        return "the local Slurm cluster needs root (slurmd, munged)"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> dict[str, str]:
    """The environment in which sbatch talks to a private one-node cluster, stopped afterwards."""
    why = _unavailable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why}: .ci/run installs it, so CI must have it")
        pytest.skip(why)
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run([str(CLUSTER), "start", str(state)], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    yield {**os.environ, "SLURM_CONF": str(state / "slurm.conf")}
    subprocess.run([str(CLUSTER), "stop", str(state)], timeout=60)


def test_a_stage_runs_as_an_srun_step_inside_the_job(slurm, tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "r1pipe.cli",
        "run",
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        "stage=cold_start",
        "cold_start.max_steps=4",
        "launcher=slurm",
        "launcher.num_machines=1",
        "launcher.num_processes=2",
        "launcher.mixed_precision=no",
    ]
    job_log = tmp_path / "job.out"
    done = subprocess.run(
        ["sbatch", "--wait", "--parsable", "-c", "2", f"--output={job_log}", f"--chdir={tmp_path}"]
        + ["--wrap", " ".join(command)],
        env=slurm,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = job_log.read_text(errors="replace") if job_log.exists() else ""
    assert done.returncode == 0, done.stderr + log[-4000:]
    job = done.stdout.strip().split(";")[0]
    manifest = json.loads((run_dir / "01_cold_start" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 4
    topology = manifest["topology"]
    assert (topology["processes"], topology["machines"], topology["parallelism"]) == (2, 1, "ddp")
    # trained in the job's first srun step (the orchestrator itself is the batch step)
    assert topology["slurm"] == {"job": job, "step": "0"}
    assert manifest["metrics"]["train/ranks_in_sync"] == 2
    assert "eval/after/heldout/pass@1" in manifest["metrics"]  # the finish step, its own srun step
    assert topology["finish_processes"] == 2  # the evaluation sampled on both processes


def _wait_for(what: str, found, seconds: float = 400):
    deadline = time.time() + seconds
    while not (result := found()):
        assert time.time() < deadline, f"no {what} within {seconds:.0f} s"
        time.sleep(0.5)
    return result


@pytest.mark.faults
def test_a_preempted_job_that_slurm_requeues_resumes_its_run_by_itself(slurm, tmp_path):
    """`scontrol requeue` does what preemption with PreemptMode=REQUEUE does: SIGTERM to the job
    (the stage saves a checkpoint at its step's end), then the same batch command again under the
    same job id. Without run_dir, the restarted orchestrator finds its run (runs_root/.slurm-job-<id>)
    and resumes it from the checkpoint: one run directory, the final step exact."""
    runs = tmp_path / "runs"
    command = [
        sys.executable,
        "-m",
        "r1pipe.cli",
        "run",
        f"runs_root={runs}",
        *QUICK_STEPS,
        "stage=cold_start",
    ]
    command += ["cold_start.max_steps=24", "cold_start.save_steps=1000", "eval.after_stage=false"]
    submitted = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "--requeue",
            "-c",
            "2",
            f"--output={tmp_path}/job.out",
            f"--chdir={tmp_path}",
        ]
        + ["--wrap", " ".join(command)],
        env=slurm,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip().split(";")[0]
    metrics = _wait_for(
        "logged steps",
        lambda: [
            p for p in runs.glob("*/01_cold_start/metrics.jsonl") if len(p.read_text().splitlines()) >= 3
        ],
    )
    run_dir = metrics[0].parents[1]
    requeued = subprocess.run(
        ["scontrol", "requeue", job], env=slurm, capture_output=True, text=True, timeout=60
    )
    assert requeued.returncode == 0, requeued.stderr

    manifest_path = run_dir / "01_cold_start" / "manifest.json"

    def complete():
        return manifest_path.exists() and json.loads(manifest_path.read_text())["status"] == "complete"

    _wait_for("complete stage after the requeue", complete)
    job_log = (tmp_path / "job.out").read_text(errors="replace")
    assert [p.name for p in runs.iterdir() if not p.name.startswith(".")] == [run_dir.name], job_log[-3000:]
    manifest = json.loads(manifest_path.read_text())
    assert manifest["metrics"]["train/final_step"] == 24
    log = (run_dir / "r1pipe.log").read_text()
    assert "01_cold_start" in log and "interrupted; resuming from step_" in log, log[-3000:]
    assert f"Slurm job {job} restarted" in job_log, job_log[-3000:]
