"""A stage that runs afresh sets the previous attempt aside; if the new attempt stops before it
produces anything (a bad value that passed validation, a stop signal at start), the previous
attempt is put back: nothing complete is lost to a failed start.

The stage process is faked (`_run_child`), so nothing is trained."""

from __future__ import annotations

import pytest

from r1pipe.pipeline import orchestrator
from r1pipe.pipeline.compose import compose_config
from r1pipe.pipeline.plan import make_plan
from r1pipe.run.rundir import read_manifest, step_dir_name, write_manifest

pytestmark = pytest.mark.faults


@pytest.fixture
def replaced_stage(tmp_path, make_model_dir):
    """A run whose complete cold_start stage the plan re-runs (another learning rate)."""
    run = tmp_path / "run"
    cfg = compose_config(
        [
            f"model.name_or_path={make_model_dir(tmp_path / 'model')}",
            f"run_dir={run}",
            "pipeline.stages=[cold_start]",
        ]
    )
    stage = make_plan(cfg, run).stages[0]
    write_manifest(
        stage.dir,
        stage="cold_start",
        status="complete",
        fingerprint="an-older-config",
        inputs={},
        outputs={},
        metrics={"note": "the previous attempt"},
        versions={},
        wall_time_s=1.0,
    )
    replan = make_plan(cfg, run).stages[0]
    assert replan.action == "run"
    return cfg, replan


def _fail_after(work):
    def fake_child(command, env, stage, started):
        work(stage.dir)
        return 1

    return fake_child


def test_an_attempt_that_fails_at_once_puts_the_previous_one_back(replaced_stage, monkeypatch):
    cfg, stage = replaced_stage
    monkeypatch.setattr(orchestrator, "_run_child", _fail_after(lambda stage_dir: None))
    with pytest.raises(orchestrator.StageFailed):
        orchestrator.execute_stage(cfg, stage)
    assert read_manifest(stage.dir).metrics == {"note": "the previous attempt"}
    (failed,) = (stage.dir.parent / "superseded").iterdir()
    # exit 1 and no error recorded: the stopped attempt's record is kept too
    assert read_manifest(failed).status == "interrupted"


def test_an_interrupted_start_puts_the_previous_one_back(replaced_stage, monkeypatch):
    cfg, stage = replaced_stage

    def stopped(command, env, stage, started):
        raise KeyboardInterrupt

    monkeypatch.setattr(orchestrator, "_run_child", stopped)
    with pytest.raises(KeyboardInterrupt):
        orchestrator.execute_stage(cfg, stage)
    assert read_manifest(stage.dir).metrics == {"note": "the previous attempt"}


def test_an_attempt_that_saved_a_checkpoint_stays_to_be_resumed(replaced_stage, monkeypatch):
    cfg, stage = replaced_stage
    checkpoint = lambda stage_dir: (stage_dir / "checkpoints" / step_dir_name(2)).mkdir(parents=True)  # noqa: E731
    monkeypatch.setattr(orchestrator, "_run_child", _fail_after(checkpoint))
    with pytest.raises(orchestrator.StageFailed):
        orchestrator.execute_stage(cfg, stage)
    assert read_manifest(stage.dir).status == "interrupted"
    assert (stage.dir / "checkpoints" / step_dir_name(2)).is_dir()
    (previous,) = (stage.dir.parent / "superseded").iterdir()
    assert read_manifest(previous).metrics == {"note": "the previous attempt"}
