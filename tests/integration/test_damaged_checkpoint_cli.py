"""A damaged optimizer, scheduler or RNG file in the newest checkpoint is passed over, with the file
named, and the rerun resumes from the intact checkpoint before it (issue 31, point 2: it used to
crash every rerun, for the RNG file with `OSError: [Errno 22]` and no file named)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import QUICK_STEPS, kill_once_checkpointed, r1pipe

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("damaged", ["rng_state.pth", "optimizer.pt"])
def test_a_truncated_state_file_in_the_newest_checkpoint_is_passed_over(tmp_path: Path, damaged: str):
    run_dir = tmp_path / "run"
    args = [
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        "pipeline.stages=[cold_start]",
        "eval.after_stage=false",
        "cold_start.max_steps=12",
        "cold_start.save_steps=4",
        "cold_start.save_total_limit=3",
    ]
    checkpoints = run_dir / "01_cold_start" / "checkpoints"
    kill_once_checkpointed(args, tmp_path, checkpoints / "step_000008")
    state = checkpoints / "step_000008" / damaged
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])

    dry = r1pipe("run", *args, "--dry-run", cwd=tmp_path).stdout
    assert "resuming from step_000004" in dry and f"unreadable {damaged}" in dry, dry
    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((run_dir / "01_cold_start" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 12
    rows = [
        json.loads(line) for line in (run_dir / "01_cold_start" / "metrics.jsonl").read_text().splitlines()
    ]
    losses = [row["loss"] for row in rows if "loss" in row]
    assert [row["step"] for row in rows if "loss" in row] == list(range(2, 13, 2))
    # The stage's loss covers all 12 steps, not only the 4 trained after the resume.
    assert manifest["metrics"]["train/loss"] == pytest.approx(sum(losses) / len(losses), abs=1e-4)


def test_a_truncated_manifest_costs_only_its_own_stage(tmp_path: Path):
    """Issue 31, point 4: the stage is re-checked and re-evaluated (its model kept), keeps its
    completion id, and the later stage, whose input is the same model, is not re-run."""
    run_dir = tmp_path / "run"
    args = [f"run_dir={run_dir}", *QUICK_STEPS, "pipeline.stages=[cold_start,reasoning_rl]"]
    r1pipe("run", *args, cwd=tmp_path)
    first, second = (
        json.loads((run_dir / d / "manifest.json").read_text()) for d in ("01_cold_start", "02_reasoning_rl")
    )
    manifest = run_dir / "01_cold_start" / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # a torn write

    dry = r1pipe("run", *args, "--dry-run", cwd=tmp_path).stdout
    assert "hand-off check and evaluation are left" in dry and "input changes" not in dry, dry
    r1pipe("run", *args, cwd=tmp_path)
    again = json.loads(manifest.read_text())
    assert again["status"] == "complete" and again["completion_id"] == first["completion_id"]
    assert json.loads((run_dir / "02_reasoning_rl" / "manifest.json").read_text()) == second  # untouched
