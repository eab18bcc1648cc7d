"""`r1pipe run experiment=toy_quick`, the preset as a user runs it (nothing cut further): all four
stages run to the end and hand off, and stage 3's set is not empty (issue 17 point 6: it once
ended "kept no sample", 29 of 32 samples truncated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import r1pipe
from omegaconf import OmegaConf

pytestmark = pytest.mark.integration


def test_the_quick_preset_runs_all_four_stages(tmp_path: Path):
    run_dir = tmp_path / "run"
    r1pipe("run", f"run_dir={run_dir}", "experiment=toy_quick", cwd=tmp_path)
    manifests = {p.parent.name: json.loads(p.read_text()) for p in run_dir.glob("*/manifest.json")}
    assert sorted(manifests) == [
        "01_cold_start",
        "02_reasoning_rl",
        "03_rejection_sampling",
        "04_all_scenario_rl",
    ]
    assert all(m["status"] == "complete" for m in manifests.values())
    stage3 = manifests["03_rejection_sampling"]["metrics"]
    assert stage3["rejection/reasoning_rows"] > 0, "the preset's stage 3 keeps samples in the format"
    funnel = json.loads((run_dir / "03_rejection_sampling" / "funnel.json").read_text())["funnel"]
    assert [step["step"] for step in funnel][:3] == ["prompts", "generated", "correct"]
    # Evaluation still judges the sums (reward.accuracy); only stage 3 keeps by the format.
    cfg = OmegaConf.load(run_dir / "config.yaml")
    assert (cfg.reward.accuracy, cfg.rejection.accuracy) == ("toy_accuracy", "r1_format")
