"""Preemption as a cluster delivers it (issue 31, point 1): SIGTERM to every process of the run at
once (Slurm signals every process of the step; `kill -TERM -- -PGID` and a container stop do the
same). The RL stages' reward workers get the signal too; they used to die first, the step aborted
("Unexpected error within the Pool") and nothing past the last periodic checkpoint was saved.
Now the workers outlive the step they serve and the stage stops at the step's end with a
checkpoint, as for a SIGTERM to the orchestrator alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import r1pipe, start_run

from r1pipe.toy.base_model import toy_base_dir

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def rl_stage(section: str) -> list[str]:
    """Stage 2 or 4 alone from the toy base, 12 short steps, no periodic checkpoint."""
    return [
        f"stage={section}",
        f"init_model={toy_base_dir()}",
        "reward.workers=2",  # verification in worker processes, as on any real run
        f"{section}.max_steps=12",
        f"{section}.prompts_per_step=2",
        f"{section}.num_generations=4",
        f"{section}.max_completion_length=24",
        f"{section}.logging_steps=1",
        f"{section}.save_steps=1000",  # no periodic checkpoint: only the stop's
        f"{section}.signal_check_steps=0",
        "eval.after_stage=false",
    ]


@pytest.mark.parametrize("stage_dir", ["02_reasoning_rl", "04_all_scenario_rl"])
def test_sigterm_to_the_process_group_in_an_rl_stage_saves_and_resumes(tmp_path: Path, stage_dir: str):
    run_dir = tmp_path / "run"
    args = [f"run_dir={run_dir}", *rl_stage(stage_dir[3:])]
    stage = run_dir / stage_dir
    orchestrator = start_run(args, tmp_path, stderr=subprocess.PIPE)
    metrics, deadline = stage / "metrics.jsonl", time.time() + 300
    while not metrics.exists() or len(metrics.read_text().splitlines()) < 3:
        assert orchestrator.poll() is None and time.time() < deadline, "no 3 logged steps"
        time.sleep(0.2)
    os.killpg(orchestrator.pid, signal.SIGTERM)  # orchestrator, stage, reward workers: all at once
    _, err = orchestrator.communicate(timeout=300)
    assert orchestrator.returncode == 130, err
    assert f"resume with: r1pipe run run_dir={run_dir}" in err
    assert "Unexpected error within the Pool" not in err + (run_dir / "r1pipe.log").read_text()
    assert "Traceback" not in err
    assert json.loads((stage / "manifest.json").read_text())["status"] == "interrupted"
    saved = sorted(p.name for p in (stage / "checkpoints").iterdir() if p.name.startswith("step_"))
    assert len(saved) == 1 and 3 <= int(saved[0][5:]) < 12, saved  # past any periodic one (none)

    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 12
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [row["step"] for row in rows if "loss" in row] == list(range(1, 13))
