"""What a stage declares (StageSpec), receives (StageContext) and returns (StageResult)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from r1pipe.config.problems import ConfigProblem


class StageStopped(Exception):
    """A stage that ended on purpose before its last step, with a message that says it all (a
    stop signal; no learning signal): its process prints the message, not a traceback."""


@dataclass(frozen=True)
class StageSpec:
    """A stage, as its module declares it in `SPEC` (r1pipe/pipeline/stage_specs.py finds them)."""

    name: str
    module: str  # module with `run(cfg, ctx) -> StageResult`
    # Config keys whose values decide the stage's output. Changing one re-runs the stage and every
    # later one; keys outside (launcher, eval, logging) never invalidate a finished stage.
    config_keys: tuple[str, ...]
    # "base": starts from model.name_or_path; "previous": from the previous stage's final model;
    # "student": from the top-level `student` (distillation).
    model_from: Literal["base", "previous", "student"]
    summary: str
    # The stage's config section (`cold_start`, `rejection`) and its schema: a dataclass, or a
    # function returning its default instance (when the defaults differ from the class's own).
    # The root schema gets one field per stage from these (pipeline/root_schema.py: root_schema).
    section: str = ""
    schema: Callable[[], Any] | None = None
    # Keys inside config_keys that only change how the stage runs, not what it produces
    # (logging, checkpoint cadence, resume policy): changing them never invalidates the stage.
    operational_keys: tuple[str, ...] = ()
    # The config key of the stage's `resume` setting (auto | false | PATH); default `<section>.resume`.
    resume_key: str = ""
    # The module also has `prepare(cfg, ctx) -> StageResult | None`, run before the training
    # processes start (stage 3: sampling and its SFT set); None from any process but the main one.
    # Training then finds its result as ctx.prepared. A function of the config when only some
    # settings need it (stage 2: the difficulty filter); `prepares(cfg)` answers.
    prepare: bool | Callable[[DictConfig], bool] = False
    # Where `prepare` runs: "one" process, or "all" the training launcher's processes (data-parallel
    # sampling, generation/shards.py: stage 3), after which the main process alone goes on.
    prepare_processes: Literal["one", "all"] = "one"
    # The stage's own config checks, run by `r1pipe validate` and before every run when the stage
    # is in the pipeline: problems with the key and the fix (pipeline/validate.py runs the rest).
    check: Callable[[DictConfig], list[ConfigProblem]] | None = None
    # Whether a stage dir without a checkpoint still holds finished work a rerun reuses (stage 3's
    # persisted steps): the plan then resumes it, and a failed fresh start does not discard it.
    has_partial_work: Callable[[Path], bool] | None = None

    def __post_init__(self) -> None:
        if not self.section:
            object.__setattr__(self, "section", self.name)
        if not self.resume_key:
            object.__setattr__(self, "resume_key", f"{self.section}.resume")

    def prepares(self, cfg: DictConfig) -> bool:
        """Whether the stage has a prepare step under this config."""
        return bool(self.prepare(cfg) if callable(self.prepare) else self.prepare)

    def problems(self, cfg: DictConfig) -> list[ConfigProblem]:
        return self.check(cfg) if self.check else []

    def holds_partial_work(self, stage_dir: Path) -> bool:
        return bool(self.has_partial_work and self.has_partial_work(stage_dir))


# Keys of an SFT section that change how it runs, not what it produces (StageSpec.operational_keys).
SFT_OPERATIONAL_KEYS = ("logging_steps", "save_steps", "save_total_limit", "resume", "report_to")


def rl_operational_keys(section: str) -> tuple[str, ...]:
    """An RL stage's operational keys: the SFT ones, its watchers, and how rewards are computed."""
    keys = (
        *SFT_OPERATIONAL_KEYS,
        "reflective_words",
        "sample_every",
        "signal_check_steps",
        "signal_max_unjudged",
    )
    return tuple(f"{section}.{k}" for k in keys) + ("reward.workers", "reward.timeout_s")


@dataclass(frozen=True)
class StageContext:
    run_dir: Path
    stage_dir: Path
    name: str
    index: int
    fingerprint: str
    inputs: dict[str, Any]  # {"model": path, "model_fingerprint": ..., "from_stage": name | None}
    resume_from: str | None  # a checkpoint dir to resume from, decided by the plan
    # What the stage's one-process `prepare` step produced (stage 3: its SFT set), for training.
    prepared: StageResult | None = None
    # The world the launcher asked for (launch.json): processes, machines, parallelism, precision.
    world: dict[str, Any] = field(default_factory=dict)

    @property
    def checkpoints_dir(self) -> Path:
        return self.stage_dir / "checkpoints"

    @property
    def model_dir(self) -> Path:
        return self.stage_dir / "model"

    @property
    def data_dir(self) -> Path:
        return self.stage_dir / "data"

    @property
    def metrics_path(self) -> Path:
        return self.stage_dir / "metrics.jsonl"


@dataclass(frozen=True)
class StageResult:
    outputs: dict[str, Any]  # {"model": path, ...}: what the next stage reads
    metrics: dict[str, Any] = field(default_factory=dict)  # key figures shown by `r1pipe status`
