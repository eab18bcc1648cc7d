"""Planning decides run / resume / skip from the config and the run directory, and changes nothing.

State is faked by writing the files a real run leaves (manifest.json, launch.json, checkpoint
dirs) with the fingerprint a first make_plan call computed, so no model is ever trained.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from r1pipe.pipeline.compose import ConfigError, compose_config
from r1pipe.pipeline.plan import LAUNCH, make_plan
from r1pipe.pipeline.stage_specs import STAGES
from r1pipe.run.context import StageSpec
from r1pipe.run.rundir import TRAINED, atomic_write_json, write_manifest

STAGE_DIR = "01_cold_start"


# --- helpers ---------------------------------------------------------------------------------------


@dataclass
class Env:
    """The paths of one test: a fake base model and a run directory, both under tmp_path."""

    root: Path
    model: Path
    run: Path

    def cfg(self, overrides=()):
        return compose_config(
            # One stage unless a case says otherwise: the table is about a single stage's decisions.
            [
                f"model.name_or_path={self.model}",
                f"run_dir={self.run}",
                "pipeline.stages=[cold_start]",
                *self.fill(overrides),
            ]
        )

    def plan(self, overrides=()):
        return make_plan(self.cfg(overrides), self.run)

    def fill(self, overrides) -> list[str]:
        """Overrides may name {ckpt}, the latest fake checkpoint of the first stage, and {model2},
        a second fake base model."""
        ckpt = self.run / STAGE_DIR / "checkpoints" / "step_000004"
        return [o.format(ckpt=ckpt, model2=self.root / "model2") for o in overrides]


@pytest.fixture
def env(tmp_path, make_model_dir) -> Env:
    make_model_dir(tmp_path / "model2").joinpath("config.json").write_text('{"model_type": "llama"}')
    return Env(tmp_path, make_model_dir(tmp_path / "model"), tmp_path / "run")


def record_manifest(stage_plan, status: str = "complete", outputs: dict | None = None):
    """What r1pipe.pipeline.stage_process (or the orchestrator on failure) writes last, with the
    final model a complete stage leaves (a fake one: config and an empty weights header)."""
    if status == "complete" and outputs is None:
        model = stage_plan.dir / "model"
        model.mkdir(parents=True, exist_ok=True)
        (model / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
        (model / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")
    return write_manifest(
        stage_plan.dir,
        stage=stage_plan.name,
        status=status,
        fingerprint=stage_plan.fingerprint,
        inputs=stage_plan.inputs,
        outputs=outputs or {"model": "model"},
        metrics={},
        versions={},
        wall_time_s=1.0,
    )


def record_launch(stage_plan) -> None:
    """What the orchestrator writes before starting a stage."""
    atomic_write_json(
        stage_plan.dir / LAUNCH,
        {"fingerprint": stage_plan.fingerprint, "stage_config": stage_plan.stage_config},
    )


def make_checkpoints(stage_plan, steps) -> None:
    for step in steps:
        fake_checkpoint(stage_plan.dir / "checkpoints" / f"step_{step:06d}", step)


def fake_checkpoint(path: Path, step: int) -> None:
    """The files a resume needs (rundir.checkpoint_problem), with real safetensors weights."""
    import torch
    from safetensors.torch import save_file

    path.mkdir(parents=True)
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (path / "optimizer.pt").write_bytes(b"state")
    (path / "rng_state.pth").write_bytes(b"state")
    save_file({"w": torch.zeros(4)}, str(path / "model.safetensors"))


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and dir under root with size and mtime: equal snapshots mean nothing was written."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
    }


# --- the decision table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    action: str
    reason: str  # a substring of the plan's reason
    overrides: tuple[str, ...] = ()  # of the plan under test
    state_overrides: tuple[str, ...] = ()  # of the earlier launch that left the state
    manifest: str | None = None  # complete | failed | None
    launch: bool = False
    checkpoints: tuple[int, ...] = ()
    resume_from: str | None = None  # expected suffix
    changed: str | None = None  # a key expected in StagePlan.changed
    trained: str | None = None  # trained.json left by the train step: "model kept" | "model gone"


CASES = [
    Case("empty run dir", "run", "not run yet"),
    Case("complete, same config", "skip", "complete", manifest="complete", launch=True),
    Case(
        "complete, changed lr",
        "run",
        "cold_start.learning_rate",
        overrides=("cold_start.learning_rate=0.5",),
        manifest="complete",
        launch=True,
        changed="cold_start.learning_rate",
    ),
    Case(
        "complete, changed input model",
        "run",
        "config changed: model.name_or_path",
        overrides=("model.name_or_path={model2}",),
        manifest="complete",
        launch=True,
    ),
    Case("complete, force", "run", "force=true", overrides=("force=true",), manifest="complete", launch=True),
    Case(
        "complete, from_stage",
        "run",
        "from_stage=cold_start",
        overrides=("from_stage=cold_start",),
        manifest="complete",
        launch=True,
    ),
    Case("interrupted", "resume", "step_000004", launch=True, checkpoints=(2, 4), resume_from="step_000004"),
    Case(
        "checkpoints of another config",
        "run",
        "starting over",
        state_overrides=("cold_start.learning_rate=0.5",),
        launch=True,
        checkpoints=(2, 4),
        changed="cold_start.learning_rate",
    ),
    Case("checkpoints without launch.json", "run", "starting over", checkpoints=(4,)),
    # Any reason will do for resume=false; what matters is not resuming from the checkpoint.
    Case("resume=false", "run", "", overrides=("cold_start.resume=false",), launch=True, checkpoints=(4,)),
    Case(
        "resume=PATH",
        "resume",
        "resume=",
        overrides=("cold_start.resume={ckpt}",),
        launch=True,
        checkpoints=(4,),
        resume_from="step_000004",
    ),
    Case(
        "failed with checkpoint",
        "resume",
        "step_000004",
        manifest="failed",
        launch=True,
        checkpoints=(4,),
        resume_from="step_000004",
    ),
    Case("failed, no checkpoint", "run", "previous attempt failed", manifest="failed", launch=True),
    # Operational keys (context.SFT_OPERATIONAL_KEYS) change how a stage runs, not what it makes:
    # they neither re-run a finished stage nor discard its checkpoints.
    Case(
        "complete, resume=false",
        "skip",
        "complete",
        overrides=("cold_start.resume=false",),
        manifest="complete",
        launch=True,
    ),
    Case(
        "complete, logging/save cadence",
        "skip",
        "complete",
        overrides=(
            "cold_start.logging_steps=1",
            "cold_start.save_steps=3",
            "cold_start.save_total_limit=5",
            "cold_start.report_to=[tensorboard]",
        ),
        manifest="complete",
        launch=True,
    ),
    # The train step finished (trained.json) but the finish step (hand-off check, evaluation) did
    # not: only finish runs again, as long as the model it wrote is still there.
    Case("trained, finish crashed", "resume", "trained", launch=True, checkpoints=(4,), trained="model kept"),
    Case(
        "trained, finish failed",
        "resume",
        "trained",
        manifest="failed",
        launch=True,
        checkpoints=(4,),
        trained="model kept",
    ),
    Case(
        "trained, model deleted since",
        "resume",
        "step_000004",
        launch=True,
        checkpoints=(4,),
        trained="model gone",
        resume_from="step_000004",
    ),
    Case(
        "trained under another config",
        "run",
        "starting over",
        state_overrides=("cold_start.learning_rate=0.5",),
        launch=True,
        checkpoints=(4,),
        trained="model kept",
    ),
    Case(
        "trained, resume=false",
        "run",
        "",
        overrides=("cold_start.resume=false",),
        launch=True,
        checkpoints=(4,),
        trained="model kept",
    ),
    Case(
        "interrupted, save cadence changed",
        "resume",
        "step_000004",
        overrides=("cold_start.save_steps=3",),
        launch=True,
        checkpoints=(4,),
        resume_from="step_000004",
    ),
]


def make_state(env: Env, case: Case):
    """The run dir an earlier launch with case.state_overrides left behind."""
    earlier = env.plan(case.state_overrides).stages[0]
    make_checkpoints(earlier, case.checkpoints)
    if case.launch:
        record_launch(earlier)
    if case.manifest:
        record_manifest(earlier, case.manifest)
    if case.trained:
        model = earlier.dir / "model"
        if case.trained == "model kept":
            model.mkdir(parents=True)
        outputs = {"model": str(model)}
        atomic_write_json(earlier.dir / TRAINED, {"fingerprint": earlier.fingerprint, "outputs": outputs})
    env.run.mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_plan_decision(env, case):
    make_state(env, case)
    before = tree(env.root)
    stage = env.plan(case.overrides).stages[0]
    assert tree(env.root) == before, "make_plan must not write to disk"
    assert (stage.action, stage.name, stage.index, stage.dir) == (
        case.action,
        "cold_start",
        1,
        env.run / STAGE_DIR,
    )
    assert case.reason in stage.reason
    if case.resume_from:
        assert stage.resume_from and Path(stage.resume_from).name == case.resume_from
    else:
        assert stage.resume_from is None
    if case.changed:
        assert case.changed in stage.changed


def test_plan_on_missing_run_dir_creates_nothing(env):
    plan = env.plan()
    assert not env.run.exists()
    assert [s.action for s in plan.stages] == ["run"]
    assert plan.to_execute == plan.stages
    assert "cold_start" in plan.describe()
    assert plan.to_json()["stages"][0]["dir"] == STAGE_DIR


def test_base_input_records_model_and_fingerprint(env):
    stage = env.plan().stages[0]
    assert stage.inputs["model"] == str(env.model)
    assert stage.inputs["from_stage"] is None
    # The input model's identity is part of the stage's: another config.json, another fingerprint.
    (env.model / "config.json").write_text('{"model_type": "llama"}')
    assert env.plan().stages[0].fingerprint != stage.fingerprint


# --- a second, model_from=previous stage -----------------------------------------------------------


@pytest.fixture
def two_stages(monkeypatch):
    """Registers a fake stage that starts from the previous stage's model."""
    spec = StageSpec(
        name="fake",
        module="tests.unit.no_such_module",
        config_keys=("seed",),
        model_from="previous",
        summary="a stage for tests",
    )
    monkeypatch.setitem(STAGES, "fake", spec)
    return ["pipeline.stages=[cold_start,fake]"]


def only_stage(cfg, name: str):
    # `stage=fake` cannot be given as an override: `stage` is also a config group, and Hydra only
    # accepts names with a YAML file in conf/stage/. Set the value after composing instead.
    cfg.stage = name
    return cfg


def test_missing_input_names_manifest_and_fix(env, two_stages):
    cfg = only_stage(env.cfg(two_stages), "fake")
    with pytest.raises(ConfigError) as info:
        make_plan(cfg, env.run)
    message = str(info.value)
    assert str(Path("01_cold_start") / "manifest.json") in message
    assert "init_model" in message
    assert not env.run.exists()


def test_init_model_replaces_missing_input(env, two_stages):
    cfg = only_stage(env.cfg([*two_stages, f"init_model={env.model}"]), "fake")
    plan = make_plan(cfg, env.run)
    assert [(s.name, s.action) for s in plan.stages] == [("cold_start", "skip"), ("fake", "run")]
    assert plan.stages[1].inputs["model"] == str(env.model.resolve())
    assert plan.stages[1].dir.name == "02_fake"


def test_later_stage_with_complete_input_plans(env, two_stages):
    record_manifest(env.plan(two_stages).stages[0])
    plan = make_plan(only_stage(env.cfg(two_stages), "fake"), env.run)
    fake = plan.stages[1]
    assert fake.action == "run"
    assert fake.inputs["from_stage"] == "cold_start"
    assert fake.inputs["model"] == str(env.run / STAGE_DIR / "model")


def test_from_stage_needs_earlier_stages_complete(env, two_stages):
    with pytest.raises(ConfigError) as info:
        env.plan([*two_stages, "from_stage=fake"])
    assert "from_stage" in [p.key for p in info.value.problems]


def _complete_both(env: Env, overrides: list[str]) -> None:
    """Both stages finished, in order, as a real run would leave them."""
    record_manifest(env.plan(overrides).stages[0])
    record_manifest(env.plan(overrides).stages[1])  # planned after stage 1 completed: sees its completion id


def test_chain_skips_when_nothing_changed(env, two_stages):
    _complete_both(env, two_stages)
    assert [s.action for s in env.plan(two_stages).stages] == ["skip", "skip"]


def test_change_upstream_reruns_downstream(env, two_stages):
    _complete_both(env, two_stages)
    plan = env.plan([*two_stages, "cold_start.learning_rate=0.5"])
    assert [s.action for s in plan.stages] == ["run", "run"]
    assert "cold_start runs in this invocation" in plan.stages[1].reason


def test_rerun_upstream_invalidates_downstream(env, two_stages):
    _complete_both(env, two_stages)
    record_manifest(env.plan(two_stages).stages[0])  # stage 1 re-ran since: new completion id
    plan = env.plan(two_stages)
    assert [s.action for s in plan.stages] == ["skip", "run"]
    assert "re-run" in plan.stages[1].reason


@pytest.mark.faults
def test_a_manifest_that_does_not_parse_is_reported_and_the_stage_resumed(env):
    earlier = env.plan().stages[0]
    make_checkpoints(earlier, (4,))
    record_launch(earlier)
    record_manifest(earlier)
    manifest = earlier.dir / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # a torn write
    stage = env.plan().stages[0]
    assert stage.action == "resume" and stage.resume_from and Path(stage.resume_from).name == "step_000004"
    assert (
        f"{manifest} does not parse (truncated or edited); interrupted; resuming from step_000004"
        == stage.reason
    )


def test_a_complete_stage_whose_model_is_gone_is_not_skipped(env):
    earlier = env.plan().stages[0]
    make_checkpoints(earlier, (4,))
    record_launch(earlier)
    model = earlier.dir / "model"
    record_manifest(earlier, outputs={"model": str(model)})  # never created: as if deleted
    stage = env.plan().stages[0]
    assert stage.action == "resume" and f"complete, but its output model ({model}) is missing" in stage.reason
    model.mkdir()
    assert env.plan().stages[0].action == "skip"  # present again: trusted


@pytest.mark.faults
@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda c: (c / "optimizer.pt").unlink(), "has no optimizer state"),
        (lambda c: (c / "rng_state.pth").unlink(), "has no RNG state"),
        (lambda c: (c / "trainer_state.json").write_text("{"), "has no readable trainer_state.json"),
        (
            lambda c: (c / "model.safetensors").write_bytes((c / "model.safetensors").read_bytes()[:-5]),
            "has an unreadable model.safetensors",
        ),
    ],
)
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(env, damage, why):
    earlier = env.plan().stages[0]
    make_checkpoints(earlier, (2, 4))
    record_launch(earlier)
    damage(earlier.dir / "checkpoints" / "step_000004")
    stage = env.plan().stages[0]
    assert stage.action == "resume" and Path(stage.resume_from).name == "step_000002"
    assert stage.reason.startswith(f"step_000004 {why}") and "resuming from step_000002" in stage.reason


def test_a_stage_directory_as_run_dir_is_refused_with_its_run(env):
    earlier = env.plan().stages[0]
    record_launch(earlier)
    with pytest.raises(ConfigError, match=rf"is a stage directory of the run in {env.run}"):
        make_plan(env.cfg(), earlier.dir)


def test_the_run_directory_of_another_pipeline_is_refused(env):
    env.run.mkdir(parents=True)
    (env.run / "config.yaml").write_text("pipeline:\n  name: r1_zero\n")
    with pytest.raises(ConfigError, match="holds a r1_zero run, not r1"):
        env.plan()
    (env.run / "config.yaml").write_text("pipeline:\n  name: r1\n")
    assert env.plan().stages  # its own pipeline goes on


def test_status_shows_the_verdicts_the_plan_acts_on(env):
    from r1pipe.pipeline.status import stage_rows

    plan = env.plan()
    earlier = plan.stages[0]
    make_checkpoints(earlier, (2, 4))
    record_launch(earlier)
    atomic_write_json(env.run / "plan.json", plan.to_json())
    (earlier.dir / "checkpoints" / "step_000004" / "optimizer.pt").unlink()
    assert stage_rows(env.run)[0]["status"] == (
        "running/interrupted (step_000002); step_000004 has no optimizer state (optimizer.pt)"
    )
    record_manifest(earlier)
    (earlier.dir / "manifest.json").write_text("{")
    assert (
        stage_rows(env.run)[0]["status"].startswith("damaged: ")
        and "does not parse" in stage_rows(env.run)[0]["status"]
    )


def test_a_later_stage_whose_complete_input_lost_its_model_is_refused_before_work(env, two_stages):
    # Issue 31, point 3: from_stage past a complete stage whose model/ was deleted failed inside
    # the stage ("Repo id must be in the form ...").
    record_manifest(env.plan(two_stages).stages[0])
    shutil.rmtree(env.run / STAGE_DIR / "model")
    with pytest.raises(ConfigError) as info:
        make_plan(only_stage(env.cfg(two_stages), "fake"), env.run)
    [problem] = info.value.problems
    assert (
        problem.key == "from_stage" and "model dir" in problem.message and "does not exist" in problem.message
    )
    assert "from_stage=cold_start" in problem.fix


@pytest.mark.faults
def test_a_refinished_stage_with_the_same_model_does_not_rerun_later_stages(env, two_stages):
    # Issue 31, point 4: a truncated manifest of a complete stage made the plan re-evaluate it,
    # then re-run every later stage as "input changes", though its model was the same.
    from r1pipe.run.rundir import write_phase_result

    first = env.plan(two_stages).stages[0]
    record_manifest(first)
    completion = json.loads((first.dir / "manifest.json").read_text())["completion_id"]
    write_phase_result(  # what the train step leaves: its result, under the id the manifest carries
        first.dir,
        TRAINED,
        {
            "fingerprint": first.fingerprint,
            "completion_id": completion,
            "outputs": {"model": str(first.dir / "model")},
        },
    )
    record_manifest(env.plan(two_stages).stages[1])
    manifest = first.dir / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # a torn write
    plan = env.plan(two_stages)
    assert [s.action for s in plan.stages] == ["resume", "skip"], [s.reason for s in plan.stages]
    assert plan.stages[0].refinish_only and "hand-off check and evaluation are left" in plan.stages[0].reason
    assert plan.stages[1].inputs["from_completion"] == completion


def test_distillation_reruns_when_the_stage_three_it_learns_from_was_re_run(env, tmp_path):
    """distill.data=RUN_DIR: that run's stage-3 completion is an input like a previous stage's
    model (the stage's fingerprint holds only the path), so a re-run stage 3 re-runs distillation."""
    teacher = tmp_path / "teacher" / "03_rejection_sampling"
    teacher.mkdir(parents=True)

    def stage_three_completes() -> None:
        write_manifest(
            teacher,
            stage="rejection_sampling",
            status="complete",
            fingerprint="f",
            inputs={},
            outputs={"data": str(teacher / "sft.jsonl")},
            metrics={},
            versions={},
            wall_time_s=1.0,
        )

    stage_three_completes()
    args = [
        "pipeline=distill",
        "pipeline.stages=[distill]",
        f"student={env.model}",
        f"distill.data={teacher.parent}",
    ]
    distill = env.plan(args).stages[0]
    assert distill.inputs["from_dir"] == str(teacher.resolve()) and distill.inputs["from_completion"]
    record_manifest(distill)
    assert env.plan(args).stages[0].action == "skip"
    stage_three_completes()  # re-run since: a new completion id
    again = env.plan(args).stages[0]
    assert again.action == "run"
    assert (
        again.reason
        == f"input changed: 03_rejection_sampling of {teacher.parent} was re-run since this stage ran"
    )


def _as_if_finished_before_lora_existed(stage_plan) -> None:
    """Rewrite a complete stage's records as an older r1pipe left them: its config without the
    cold_start.lora block, and the fingerprint that config gave."""
    from r1pipe.run.fingerprint import fingerprint

    launch = json.loads((stage_plan.dir / LAUNCH).read_text())
    del launch["stage_config"]["cold_start"]["lora"]
    launch["fingerprint"] = fingerprint(
        launch["stage_config"], {"model": stage_plan.inputs["model_fingerprint"]}
    )
    atomic_write_json(stage_plan.dir / LAUNCH, launch)
    manifest = json.loads((stage_plan.dir / "manifest.json").read_text())
    manifest["fingerprint"] = launch["fingerprint"]
    atomic_write_json(stage_plan.dir / "manifest.json", manifest)


def test_an_option_added_since_a_stage_ran_and_off_does_not_rerun_it_or_later_ones(env, two_stages):
    """Each new option block (reasoning_rl.lora, the difficulty filter) changes every stage's config;
    off, it cannot have changed the result, so finished runs stay finished: with it on, or with the
    stage's input changed, the stage runs as for any other change."""
    first = env.plan(two_stages).stages[0]
    record_manifest(first)
    record_launch(first)
    _as_if_finished_before_lora_existed(first)
    second = env.plan(two_stages).stages[1]
    record_manifest(second)
    record_launch(second)
    plan = env.plan(two_stages)
    assert [s.action for s in plan.stages] == ["skip", "skip"]
    assert (
        plan.stages[0].reason
        == "complete; options added to r1pipe since it ran, and off or null: cold_start.lora"
    )
    turned_on = env.plan([*two_stages, "cold_start.lora.enabled=true"])
    assert [s.action for s in turned_on.stages] == ["run", "run"]
    assert "config changed: cold_start.lora" in turned_on.stages[0].reason
    other_base = env.plan([*two_stages, "model.name_or_path={model2}"])
    assert other_base.stages[0].action == "run", "the input changed too: not only the new block"
