"""What a stage receives (StageContext) and returns (StageResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
