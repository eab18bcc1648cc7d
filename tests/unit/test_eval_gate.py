"""eval.gate: a gate that fires (floor, drop), one that does not, and the orchestrator stopping."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1pipe.evaluation.gate import gate_verdict
from r1pipe.pipeline.compose import ConfigError, compose_config
from r1pipe.pipeline.orchestrator import GateStopped, check_gate
from r1pipe.pipeline.plan import StagePlan
from r1pipe.pipeline.validate import validate_config
from r1pipe.run.rundir import write_manifest

METRICS = {
    "eval/before/heldout/pass@1": 0.60,
    "eval/after/heldout/pass@1": 0.52,
    "eval/after/heldout/cons@4": 0.7,
}


@pytest.mark.parametrize(
    ("overrides", "fires"),
    [
        ([], None),  # no gate configured
        (["eval.gate.min_value=0.5"], None),
        (["eval.gate.min_value=0.55"], "below eval.gate.min_value=0.55"),
        (["eval.gate.max_drop=0.1"], None),  # dropped 0.08
        (["eval.gate.max_drop=0.05"], "more than eval.gate.max_drop=0.05"),
        (["eval.gate.metric=cons@4", "eval.gate.min_value=0.8"], "heldout cons@4 after reasoning_rl is 0.7"),
        (["eval.gate.metric=cons@4", "eval.gate.max_drop=0.0"], None),  # no 'before' to compare with
        (
            ["eval.gate.metric=pass@8", "eval.gate.min_value=0.1"],
            "has no heldout pass@8 to check (recorded: cons@4, pass@1)",
        ),
    ],
)
def test_gate_verdicts(overrides, fires):
    verdict = gate_verdict(compose_config(overrides), "reasoning_rl", METRICS)
    if fires is None:
        assert verdict is None
    else:
        assert verdict is not None and fires in verdict


def test_a_stage_without_evaluation_is_not_gated():
    # rejection.sft=false builds only the set: nothing evaluated, nothing to compare
    assert (
        gate_verdict(compose_config(["eval.gate.min_value=0.9"]), "rejection_sampling", {"data/examples": 9})
        is None
    )


def stage_plan(tmp_path: Path, name: str, index: int) -> StagePlan:
    return StagePlan(name, index, tmp_path / f"{index:02d}_{name}", "run", "", "fp", {}, {})


def test_orchestrator_stops_before_the_next_stage_with_the_fix(tmp_path):
    done, nxt = stage_plan(tmp_path, "cold_start", 1), stage_plan(tmp_path, "reasoning_rl", 2)
    done.dir.mkdir()
    write_manifest(
        done.dir,
        stage="cold_start",
        status="complete",
        fingerprint="fp",
        inputs={},
        outputs={},
        metrics=METRICS,
        versions={},
        wall_time_s=1.0,
    )
    check_gate(compose_config(["eval.gate.min_value=0.5"]), done, nxt)  # passes: nothing raised
    with pytest.raises(GateStopped) as stopped:
        check_gate(compose_config(["eval.gate.max_drop=0.01"]), done, nxt)
    message = str(stopped.value)
    assert "Stopping before reasoning_rl; cold_start stays complete" in message
    assert "eval.gate.min_value=null eval.gate.max_drop=null" in message
    assert not nxt.dir.exists()


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["eval.gate.min_value=0.5", "eval.after_stage=false"], "eval.gate"),
        (["eval.gate.min_value=0.5", "eval.gate.benchmark=math500"], "eval.gate.benchmark"),
        (["eval.gate.max_drop=0.1", "eval.gate.metric=accuracy"], "eval.gate.metric"),
        (["eval.benchmarks=[]"], "eval.benchmarks"),
        (["eval.bootstrap_resamples=-1"], "eval.bootstrap_resamples"),
        (["eval.num_problems=-1"], "eval.num_problems"),
        (["eval.gate.min_value=0.5", "eval.gate.metric=cons@8"], "eval.gate.metric"),  # toy k is 4
        (["eval.suite.heldout.samples_per_problem=0"], "eval.suite.heldout.samples_per_problem"),
    ],
)
def test_bad_eval_settings_are_config_errors(overrides, key):
    with pytest.raises(ConfigError) as error:
        validate_config(compose_config(overrides))
    assert any(p.key == key for p in error.value.problems), error.value
