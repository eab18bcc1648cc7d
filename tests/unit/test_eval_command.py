"""`r1pipe eval TARGET`: what a model, stage or run dir resolves to, where results go, and which
of the run's settings apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from r1pipe.evaluation.command import EvalTargetError, output_dir, resolve_target, with_run_settings
from r1pipe.pipeline.compose import compose_config
from r1pipe.run.rundir import write_manifest


def make_stage(run: Path, dir_name: str, status: str, model: bool = True) -> Path:
    stage = run / dir_name
    stage.mkdir(parents=True)
    outputs = {"model": str(stage / "model")} if model else {}
    if model:  # what the check before any loading reads: config.json and a weights header
        (stage / "model").mkdir()
        (stage / "model" / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
        (stage / "model" / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")
    write_manifest(
        stage,
        stage=dir_name[3:],
        status=status,
        fingerprint="f",
        inputs={},
        outputs=outputs,
        metrics={},
        versions={},
        wall_time_s=1.0,
    )
    return stage


@pytest.fixture
def run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "x"
    run.mkdir(parents=True)
    stages = ["01_cold_start", "02_reasoning_rl", "03_rejection_sampling"]
    (run / "plan.json").write_text(json.dumps({"stages": [{"name": d[3:], "dir": d} for d in stages]}))
    make_stage(run, stages[0], "complete")
    make_stage(run, stages[1], "complete")
    make_stage(run, stages[2], "failed", model=False)
    OmegaConf.save(
        compose_config(["data.toy.heldout_examples=50", "reward.accuracy=math_accuracy"]), run / "config.yaml"
    )
    return run


def test_a_run_dir_means_its_last_complete_stage(run: Path):
    target = resolve_target(run)
    assert target.model == run / "02_reasoning_rl" / "model"
    assert target.stage_dir == run / "02_reasoning_rl" and target.run_config == run / "config.yaml"


def test_a_stage_dir_means_its_model_and_a_failed_one_is_refused(run: Path):
    assert resolve_target(run / "01_cold_start").model == run / "01_cold_start" / "model"
    with pytest.raises(EvalTargetError, match="has no final model .status: failed"):
        resolve_target(run / "03_rejection_sampling")


def test_a_model_dir_is_itself_and_anything_else_is_an_error(fake_model_dir: Path, tmp_path: Path):
    target = resolve_target(fake_model_dir)
    assert (target.model, target.stage_dir, target.run_config) == (fake_model_dir, None, None)
    with pytest.raises(EvalTargetError, match="is not a model dir .no config.json., a stage dir"):
        resolve_target(tmp_path / "nothing")


def test_the_runs_data_and_reward_apply_unless_overridden(run: Path):
    target = resolve_target(run)
    cfg = with_run_settings(compose_config([]), target, [])
    assert cfg.data.toy.heldout_examples == 50 and cfg.reward.accuracy == "math_accuracy"
    overrides = ["reward.timeout_s=9"]  # a key in the section: the rest of the run's section stays
    cfg = with_run_settings(compose_config(overrides), target, overrides)
    assert cfg.reward.timeout_s == 9 and cfg.reward.accuracy == "math_accuracy"
    overrides = ["reward=math", "data.toy.heldout_examples=20"]  # a group replaces the run's section
    cfg = with_run_settings(compose_config(overrides), target, overrides)
    assert cfg.reward.funcs[0] == "math_accuracy" and cfg.data.toy.heldout_examples == 20


def test_results_go_next_to_the_stage_or_under_runs_root(run: Path, fake_model_dir: Path, tmp_path: Path):
    cfg = compose_config([f"runs_root={tmp_path / 'r'}"])
    assert output_dir(cfg, resolve_target(run), None).parent == run / "02_reasoning_rl" / "evals"
    outside = output_dir(cfg, resolve_target(fake_model_dir), None)
    assert outside.parent == tmp_path / "r" / "eval" and outside.name.startswith("fake_model-")
    assert output_dir(cfg, resolve_target(run), tmp_path / "mine") == tmp_path / "mine"


# Issue 31, point 3: a damaged model is named before any loading, not by the library's loader.
@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("config", "config.json does not parse"),
        ("weights", "model.safetensors is unreadable"),
        ("gone", "does not exist"),
    ],
)
def test_a_damaged_or_missing_model_is_named_before_loading(run: Path, damage: str, says: str):
    model = run / "02_reasoning_rl" / "model"
    if damage == "config":
        (model / "config.json").write_text('{"model_type": "qw')
    elif damage == "weights":
        (model / "model.safetensors").write_bytes((4096).to_bytes(8, "little") + b"{")
    else:
        for f in model.iterdir():
            f.unlink()
        model.rmdir()
    for target in (run, run / "02_reasoning_rl", model):
        if damage == "gone" and target == model:
            continue
        with pytest.raises(EvalTargetError, match=says):
            resolve_target(target)
