"""The finish step's before/after evaluation: a stage's "before" is the previous stage's "after"
(the same model), copied rather than measured again, unless it was measured another way.

The engine is replaced by a recorder (`evaluate_model`): what matters here is which models get
evaluated and which recorded figures are reused; the real evaluation runs in the CLI tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import r1pipe.evaluation.stage_eval as stage_eval
from r1pipe.evaluation.benchmarks import load_benchmark
from r1pipe.evaluation.loop import protocol
from r1pipe.pipeline.compose import compose_config
from r1pipe.run.context import StageContext
from r1pipe.run.fingerprint import settings_key
from r1pipe.run.rundir import atomic_write_json

QUICK = ["eval.num_problems=4"]


def summaries(cfg, pass_at_1: float) -> dict:
    """What evaluate_model returns for every benchmark of cfg.eval.benchmarks."""
    out = {}
    for name in cfg.eval.benchmarks:
        bench = load_benchmark(cfg, name)
        out[name] = {
            **protocol(bench, cfg.eval),
            "protocol_key": settings_key(protocol(bench, cfg.eval)),
            "metrics": {"pass@1": pass_at_1},
        }
    return out


@pytest.fixture
def evaluated(monkeypatch) -> list[str]:
    """The models evaluated, in order; each gets pass@1 0.5."""
    calls: list[str] = []

    def fake(cfg, model, benchmarks, rows_dir, failure_log, share=None):
        calls.append(model)
        return summaries(cfg, 0.5)

    monkeypatch.setattr(stage_eval, "evaluate_model", fake)
    return calls


def previous_stage(root: Path, cfg, pass_at_1: float) -> Path:
    """A finished stage 1 that recorded its 'after' figures and per-problem rows."""
    stage = root / "01_cold_start"
    atomic_write_json(stage / "eval_after.json", summaries(cfg, pass_at_1))
    (stage / "eval" / "after").mkdir(parents=True)
    (stage / "eval" / "after" / "heldout.jsonl").write_text('{"id": "p1"}\n')
    return stage


def context(root: Path, inputs: dict) -> StageContext:
    stage_dir = root / "02_reasoning_rl"
    stage_dir.mkdir(parents=True, exist_ok=True)
    return StageContext(root, stage_dir, "reasoning_rl", 2, "fp", inputs, None)


def test_before_is_the_previous_stage_after(tmp_path, evaluated):
    cfg = compose_config(QUICK)
    previous = previous_stage(tmp_path, cfg, 0.25)
    ctx = context(tmp_path, {"model": str(previous / "model"), "from_stage": "cold_start"})
    metrics = stage_eval.evaluate_stage(cfg, ctx, ctx.stage_dir / "model")
    assert evaluated == [str(ctx.stage_dir / "model")], "only the stage's own model is evaluated"
    assert metrics["eval/before/heldout/pass@1"] == 0.25
    assert metrics["eval/after/heldout/pass@1"] == 0.5
    assert (ctx.stage_dir / "eval" / "before" / "heldout.jsonl").read_text() == '{"id": "p1"}\n'
    recorded = json.loads((ctx.stage_dir / "eval.json").read_text())
    assert recorded["before"]["heldout"]["metrics"]["pass@1"] == 0.25


def test_a_previous_after_measured_another_way_is_measured_again(tmp_path, evaluated):
    previous = previous_stage(tmp_path, compose_config([*QUICK, "eval.temperature=1.0"]), 0.25)
    cfg = compose_config(QUICK)
    ctx = context(tmp_path, {"model": str(previous / "model"), "from_stage": "cold_start"})
    metrics = stage_eval.evaluate_stage(cfg, ctx, ctx.stage_dir / "model")
    assert evaluated == [str(previous / "model"), str(ctx.stage_dir / "model")]
    assert metrics["eval/before/heldout/pass@1"] == 0.5


def test_a_first_stage_evaluates_its_input_model_once(tmp_path, evaluated):
    cfg = compose_config(QUICK)
    ctx = context(tmp_path, {"model": "/models/base", "from_stage": None})
    stage_eval.evaluate_stage(cfg, ctx, ctx.stage_dir / "model")
    # A second finish (the first crashed after its evaluations) reuses the recorded 'before'.
    stage_eval.evaluate_stage(cfg, ctx, ctx.stage_dir / "model")
    assert evaluated == ["/models/base", str(ctx.stage_dir / "model"), str(ctx.stage_dir / "model")]


def test_evaluation_off(tmp_path, evaluated):
    cfg = compose_config([*QUICK, "eval.after_stage=false"])
    ctx = context(tmp_path, {"model": "/models/base", "from_stage": None})
    assert stage_eval.evaluate_stage(cfg, ctx, ctx.stage_dir / "model") == {}
    assert evaluated == []


def test_a_process_other_than_the_main_one_samples_and_writes_nothing(tmp_path, evaluated):
    """Under several processes the others sample the same models as the main one (their chunks)
    and leave every file to it: no adopted rows, no eval_*.json, no metrics."""
    from r1pipe.generation.shards import Share

    cfg = compose_config(QUICK)
    previous = previous_stage(tmp_path, cfg, 0.25)
    ctx = context(tmp_path, {"model": str(previous / "model"), "from_stage": "cold_start"})
    assert stage_eval.evaluate_stage(cfg, ctx, ctx.stage_dir / "model", Share(1, 2)) == {}
    assert evaluated == [str(ctx.stage_dir / "model")]
    assert sorted(p.name for p in ctx.stage_dir.iterdir()) == []
    first = context(tmp_path / "first", {"model": "/models/base", "from_stage": None})
    assert stage_eval.evaluate_stage(cfg, first, first.stage_dir / "model", Share(1, 2)) == {}
    assert evaluated[1:] == ["/models/base", str(first.stage_dir / "model")]
    assert sorted(p.name for p in first.stage_dir.iterdir()) == []
