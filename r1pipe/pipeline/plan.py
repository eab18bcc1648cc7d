"""The plan: for each stage, run, resume or skip, and why.

Decided from the config and what the run directory holds, before anything is changed:
- complete manifest, same fingerprint, input unchanged            -> skip
- complete manifest, different fingerprint                        -> run (names the changed keys)
- checkpoints from a launch with the same fingerprint             -> resume from the latest
- training finished (trained.json, same fingerprint, model kept)  -> resume (check and evaluate)
- no checkpoint, but finished steps of stage 3 (same fingerprint)  -> resume (reuse those steps)
- an earlier stage runs in this invocation                        -> run (its input changes)
- force=true, or at/after from_stage                              -> run
A stage whose input (the previous stage's model) is missing stops the plan with the path and fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigError, ConfigProblem
from r1pipe.models.loading import model_dir_problem, model_fingerprint, resolve_model_path
from r1pipe.pipeline.stage_specs import stage_spec
from r1pipe.run.fingerprint import changed_keys, fingerprint, select_keys
from r1pipe.run.rundir import (
    MANIFEST,
    Manifest,
    latest_usable_checkpoint,
    read_manifest,
    stage_dir_name,
    trained_completion_id,
    trained_model_kept,
)

Action = Literal["run", "resume", "skip"]
LAUNCH = "launch.json"


@dataclass(frozen=True)
class StagePlan:
    name: str
    index: int
    dir: Path
    action: Action
    reason: str
    fingerprint: str
    stage_config: dict[str, Any]
    inputs: dict[str, Any]
    resume_from: str | None = None
    changed: list[str] = field(default_factory=list)
    # resume with training done (trained.json, model kept): only the hand-off check and evaluation
    refinish_only: bool = False


@dataclass(frozen=True)
class Plan:
    run_dir: Path
    stages: list[StagePlan]

    @property
    def to_execute(self) -> list[StagePlan]:
        return [s for s in self.stages if s.action != "skip"]

    def describe(self) -> str:
        lines = [f"plan for {self.run_dir}:"]
        for s in self.stages:
            lines.append(f"  {s.index:>2}. {s.name:<20} {s.action:<7} {s.reason}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "run_dir": str(self.run_dir),
            "stages": [
                {
                    "name": s.name,
                    "dir": s.dir.name,
                    "action": s.action,
                    "reason": s.reason,
                    "fingerprint": s.fingerprint,
                }
                for s in self.stages
            ],
        }


def read_launch(stage_dir: Path) -> dict | None:
    path = stage_dir / LAUNCH
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _selection(cfg: DictConfig) -> list[str]:
    stages = list(cfg.pipeline.stages)
    if cfg.stage != "all":
        return [cfg.stage]
    if cfg.from_stage:
        return stages[stages.index(cfg.from_stage) :]
    return stages


def _missing_input(
    name: str, prev_name: str, prev_dir: Path, cfg: DictConfig, run_dir: Path
) -> ConfigProblem:
    return ConfigProblem(
        "run_dir",
        f"stage {name} needs the final model of stage {prev_name}, but {prev_dir / 'manifest.json'} "
        "does not exist or is not complete",
        f"run `r1pipe run run_dir={run_dir} stage={prev_name}` first, or start {name} from a model "
        f"with init_model=PATH",
    )


def _damaged_input(name: str, prev_name: str, why: str, run_dir: Path) -> ConfigProblem:
    return ConfigProblem(
        "from_stage",
        f"stage {name} starts from the final model of stage {prev_name}, which is complete, but {why}",
        f"re-run {prev_name}: `r1pipe run run_dir={run_dir} from_stage={prev_name}`, or start {name} "
        "from a model with init_model=PATH",
    )


def _base_input(cfg: DictConfig) -> dict[str, Any]:
    path = resolve_model_path(cfg.model.name_or_path)
    return {"model": path, "model_fingerprint": model_fingerprint(cfg.model.name_or_path), "from_stage": None}


def _student_input(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Distillation's model: `student` (validation has made sure it is set); and its set, when that
    is a run's complete stage 3 (distill.data=RUN_DIR, or unset: this run), as an input whose
    completion is recorded like a previous stage's: re-running that stage 3 re-runs the
    distillation (its fingerprint holds only the path)."""
    student = str(cfg.student)
    path = str(Path(student).expanduser().resolve()) if Path(student).expanduser().exists() else student
    inputs: dict[str, Any] = {
        "model": resolve_model_path(path),
        "model_fingerprint": model_fingerprint(student),
        "from_stage": None,
    }
    data = cfg.get("distill", {}).get("data")
    source = Path(str(data)).expanduser() if data else run_dir
    for stage_dir in sorted(source.glob("*_rejection_sampling")) if source.is_dir() else []:
        manifest = read_manifest(stage_dir)
        if manifest and manifest.complete:
            inputs |= {
                "from_stage": f"{stage_dir.name} of {source}",
                "from_dir": str(stage_dir.resolve()),  # where the completion is read (not the model's dir)
                "from_completion": manifest.completion_id,
            }
    return inputs


def _decide(
    cfg: DictConfig,
    name: str,
    stage_dir: Path,
    fp: str,
    stage_config: dict,
    inputs: dict,
    upstream_runs: bool,
    forced: str | None,
) -> tuple[Action, str, str | None, list[str]]:
    manifest = read_manifest(stage_dir)
    launch = read_launch(stage_dir)
    old_config = (launch or {}).get("stage_config", {})
    if forced:
        return "run", forced, None, []
    if upstream_runs:
        return "run", f"input changes: {inputs.get('from_stage')} runs in this invocation", None, []
    damage = recorded_result_damage(stage_dir, manifest)
    if damage:  # not trusted: the decision below resumes or re-runs it, and says why
        action, reason, resume_from, changed = _decide_unfinished(
            cfg, name, stage_dir, fp, stage_config, launch, "not run yet"
        )
        return action, f"{damage}; {reason}", resume_from, changed
    if manifest and manifest.complete:
        # Options r1pipe added since the stage ran, and off, leave it as it was: its recorded config
        # with today's inputs still gives its fingerprint.
        added_off = (
            manifest.fingerprint != fp
            and only_added_off_blocks(old_config, stage_config)
            and fingerprint(old_config, {"model": inputs["model_fingerprint"]}) == manifest.fingerprint
        )
        if manifest.fingerprint == fp or added_off:
            recorded = manifest.inputs.get("from_completion")
            if recorded != inputs.get("from_completion"):
                return (
                    "run",
                    f"input changed: {inputs.get('from_stage')} was re-run since this stage ran",
                    None,
                    [],
                )
            if added_off:
                return "skip", f"{ADDED_OFF}: {', '.join(changed_keys(old_config, stage_config))}", None, []
            return "skip", "complete, fingerprint unchanged", None, []
        changed = changed_keys(old_config, stage_config)
        what = f"config changed: {', '.join(changed)}" if changed else "input model changed"
        return "run", what, None, changed
    attempted = f"previous attempt {manifest.status}; no checkpoint to resume" if manifest else "not run yet"
    return _decide_unfinished(cfg, name, stage_dir, fp, stage_config, launch, attempted)


ADDED_OFF = "complete; options added to r1pipe since it ran, and off or null"


def only_added_off_blocks(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether every difference between a finished stage's config and today's is a key it did not
    have at all and that is off: an option block with enabled: false (reasoning_rl.lora) or a
    setting at null (reward.models.X.url). r1pipe added it since, and a new key at null or off
    must reproduce the behaviour from before it (DEVELOPERS.md), so the stage is not re-run for
    it (nor is every later stage)."""
    for key in set(old) | set(new):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            if not only_added_off_blocks(a, b):
                return False
        elif a != b and not (
            a is _MISSING and (b is None or isinstance(b, dict) and b.get("enabled") is False)
        ):
            return False
    return True


_MISSING = object()


def recorded_result_damage(stage_dir: Path, manifest: Manifest | None) -> str | None:
    """Why a stage directory's record cannot be trusted, or None: a manifest.json that does not
    parse (a truncated write, an edit), or a complete stage whose recorded outputs are gone."""
    path = stage_dir / MANIFEST
    if manifest is None and path.exists():
        return f"{path} does not parse (truncated or edited)"
    if manifest is not None and manifest.complete:
        for key, value in manifest.outputs.items():
            if isinstance(value, str) and Path(value).is_absolute() and not Path(value).exists():
                return f"complete, but its output {key} ({value}) is missing"
    return None


def _decide_unfinished(
    cfg: DictConfig,
    name: str,
    stage_dir: Path,
    fp: str,
    stage_config: dict,
    launch: dict | None,
    nothing_to_resume: str,
) -> tuple[Action, str, str | None, list[str]]:
    """A stage without a trustworthy complete result: resume what is left, or run it (with
    `nothing_to_resume` as the reason)."""
    resume_cfg = str(OmegaConf.select(cfg, stage_spec(name).resume_key, default="auto"))
    if resume_cfg not in ("auto", "false", "False"):
        return "resume", f"resume={resume_cfg}", resume_cfg, []
    if resume_cfg != "auto":  # resume=false: start over
        return "run", nothing_to_resume, None, []
    if trained_model_kept(stage_dir, fp):
        return "resume", "trained; its hand-off check and evaluation are left", None, []
    checkpoint, passed_over = latest_usable_checkpoint(stage_dir / "checkpoints")
    partial_work = stage_spec(name).holds_partial_work(stage_dir)
    action, reason, resume_from, changed = _from_checkpoint(
        fp, stage_config, launch, checkpoint, partial_work, nothing_to_resume
    )
    if passed_over:  # a damaged newer checkpoint: say so, and fall back to the older one
        reason = f"{'; '.join(passed_over)}; {reason}"
    return action, reason, resume_from, changed


def _from_checkpoint(
    fp: str,
    stage_config: dict,
    launch: dict | None,
    checkpoint: Path | None,
    partial_work: bool,
    nothing_to_resume: str,
) -> tuple[Action, str, str | None, list[str]]:
    """resume=auto: from the newest usable checkpoint of the same launch, or from the stage's
    finished work without a checkpoint (its SPEC's has_partial_work: stage 3's steps), or run."""
    same_launch = bool(launch and launch.get("fingerprint") == fp)
    if checkpoint is None and same_launch and partial_work:
        return "resume", "interrupted; reusing its finished steps (data/steps, data/generations)", None, []
    if checkpoint is not None:
        if same_launch:
            return "resume", f"interrupted; resuming from {checkpoint.name}", str(checkpoint), []
        changed = changed_keys((launch or {}).get("stage_config", {}), stage_config)
        return (
            "run",
            f"checkpoints are from another config ({', '.join(changed) or 'inputs changed'}); starting over",
            None,
            changed,
        )
    return "run", nothing_to_resume, None, []


def run_dir_problems(cfg: DictConfig, run_dir: Path) -> list[ConfigProblem]:
    """A run directory that is not this run's: a stage directory (a new run would nest inside
    it), or the directory of another pipeline (its stages would be overwritten or hidden)."""
    if (run_dir / LAUNCH).exists() or (run_dir / MANIFEST).exists():
        return [
            ConfigProblem(
                "run_dir",
                f"{run_dir} is a stage directory of the run in {run_dir.parent}",
                f"use run_dir={run_dir.parent}",
            )
        ]
    recorded = run_dir / "config.yaml"
    try:
        previous = OmegaConf.select(OmegaConf.load(recorded), "pipeline.name") if recorded.exists() else None
    except Exception:  # an unreadable record is not a reason to refuse; the stages are checked one by one
        previous = None
    if previous and previous != cfg.pipeline.name:
        return [
            ConfigProblem(
                "run_dir",
                f"{run_dir} holds a {previous} run, not {cfg.pipeline.name}",
                f"use another run_dir for {cfg.pipeline.name}, or pipeline={previous} to go on with that run",
            )
        ]
    return []


def make_plan(cfg: DictConfig, run_dir: Path) -> Plan:
    """The plan for this config and run directory; raises ConfigError if an input is missing."""
    wrong_dir = run_dir_problems(cfg, run_dir)
    if wrong_dir:
        raise ConfigError(wrong_dir)
    stages, selected = list(cfg.pipeline.stages), _selection(cfg)
    plans: list[StagePlan] = []
    problems: list[ConfigProblem] = []
    prev: StagePlan | None = None
    upstream_runs = False
    for i, name in enumerate(stages, start=1):
        spec, stage_dir = stage_spec(name), run_dir / stage_dir_name(i, name)
        stage_config = select_keys(cfg, spec.config_keys, spec.operational_keys)
        first_selected = name == selected[0]
        if first_selected and cfg.init_model:
            inputs: dict[str, Any] = {
                "model": str(Path(cfg.init_model).expanduser().resolve()),
                "model_fingerprint": model_fingerprint(cfg.init_model),
                "from_stage": None,
            }
        elif spec.model_from == "student":
            inputs = _student_input(cfg, run_dir)
        elif spec.model_from == "base" or prev is None:
            inputs = _base_input(cfg)
        else:
            prev_manifest = read_manifest(prev.dir)
            if prev.refinish_only:  # its manifest is lost or damaged: the one it will write again
                completion = trained_completion_id(prev.dir, prev.fingerprint)
            else:
                completion = prev_manifest.completion_id if prev_manifest else None
            inputs = {
                "model": str(prev.dir / "model"),
                "model_fingerprint": prev.fingerprint,
                "from_stage": prev.name,
                "from_completion": completion,
            }
            if name in selected and prev.action == "skip" and not (prev_manifest and prev_manifest.complete):
                problems.append(_missing_input(name, prev.name, prev.dir, cfg, run_dir))
            elif name in selected and prev.action == "skip" and (why := model_dir_problem(inputs["model"])):
                # complete, but its model was deleted or damaged since: say it now, not in the stage
                problems.append(_damaged_input(name, prev.name, why, run_dir))
        fp = fingerprint(stage_config, {"model": inputs["model_fingerprint"]})
        if name not in selected:
            if cfg.from_stage and i < stages.index(cfg.from_stage) + 1:
                manifest = read_manifest(stage_dir)
                if not (manifest and manifest.complete):
                    problems.append(
                        ConfigProblem(
                            "from_stage",
                            f"from_stage={cfg.from_stage} needs every earlier stage complete, but {stage_dir / 'manifest.json'} is missing or not complete",
                            f"run `r1pipe run run_dir={run_dir}` (without from_stage) to finish the earlier stages",
                        )
                    )
            plans.append(StagePlan(name, i, stage_dir, "skip", "not selected", fp, stage_config, inputs))
            prev = plans[-1]
            continue
        forced = "force=true" if cfg.force else (f"from_stage={cfg.from_stage}" if cfg.from_stage else None)
        action, reason, resume_from, changed = _decide(
            cfg, name, stage_dir, fp, stage_config, inputs, upstream_runs, forced
        )
        if reason.startswith(ADDED_OFF):  # its identity stays the recorded one: later stages still match
            fp = read_manifest(stage_dir).fingerprint  # type: ignore[union-attr]
        refinish = action == "resume" and resume_from is None and trained_model_kept(stage_dir, fp)
        plans.append(
            StagePlan(
                name, i, stage_dir, action, reason, fp, stage_config, inputs, resume_from, changed, refinish
            )
        )
        # A stage that only checks and evaluates a model it already trained (and keeps its completion
        # id, trained.json) changes nothing downstream, unless that record has no id (older runs).
        unchanged = refinish and trained_completion_id(stage_dir, fp) is not None
        upstream_runs = upstream_runs or (action != "skip" and not unchanged)
        prev = plans[-1]
    if problems:
        raise ConfigError(problems)
    return Plan(run_dir, plans)
