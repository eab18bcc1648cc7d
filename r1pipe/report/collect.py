"""Read a run directory into plain data for the report: one `StageData` per planned stage.

Every file is optional: a stage not started has nothing, a running stage has a log but no
manifest, a failed stage has a manifest and perhaps half a log. Nothing here raises on a missing
or torn file; only a directory without plan.json is an error (it is not a run at all).
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1pipe.pipeline.status import stage_rows
from r1pipe.run.rundir import read_jsonl, read_manifest

log = logging.getLogger(__name__)

SIDES = ("before", "after")
LEGACY_BENCHMARK = "heldout"  # the one held-out set that eval.json held before benchmarks had names
# Watchers with weight 0: sample_logger is always 0, reflective_words gets its own figure.
NOT_A_REWARD = ("sample_logger", "reflective_words")
REWARD_KEY = re.compile(r"^(rewards?)/(.+)/mean$")
SAMPLES_SHOWN = 2


class ReportError(Exception):
    """A user error: the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class StageData:
    name: str  # cold_start
    dir_name: str  # 01_cold_start
    status: str  # complete | failed | running/interrupted (...) | not started
    wall: str
    key_metrics: str
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)  # metrics.jsonl rows
    evals: dict[str, dict[str, dict]] = field(default_factory=dict)  # side -> benchmark -> metrics
    funnel: list[dict] = field(default_factory=list)  # rejection sampling: one entry per filter step
    difficulty: dict = field(default_factory=dict)  # RL difficulty filter: difficulty.json
    samples: list[dict] = field(default_factory=list)  # the last logged completions (RL)

    @property
    def is_rl(self) -> bool:
        # From the data, not the name: any stage whose trainer logs a reward is an RL stage.
        return any("reward" in row for row in self.log)


@dataclass(frozen=True)
class RunData:
    name: str  # the run directory's name, the label of its series in comparisons
    path: Path
    stages: list[StageData]


def collect_run(run_dir: Path) -> RunData:
    plan = _read_plan(run_dir)
    rows = {row["stage"]: row for row in stage_rows(run_dir)}
    stages = [_collect_stage(run_dir, entry, rows.get(entry["dir"], {})) for entry in plan["stages"]]
    return RunData(name=run_dir.resolve().name, path=run_dir, stages=stages)


def _read_plan(run_dir: Path) -> dict:
    plan_path = run_dir / "plan.json"
    if not run_dir.is_dir() or not plan_path.is_file():
        raise ReportError(
            f"{run_dir} is not an r1pipe run directory (no plan.json in it); "
            "give the run_dir of an `r1pipe run`, e.g. `r1pipe report runs/<name>`"
        )
    plan = _read_json(plan_path)
    if not isinstance(plan, dict) or not isinstance(plan.get("stages"), list):
        raise ReportError(
            f"{plan_path} is not a valid plan (no list under 'stages'); "
            "it is written by `r1pipe run`: rerun it with run_dir={run_dir} to rewrite the plan"
        )
    return plan


def _collect_stage(run_dir: Path, entry: dict, row: dict) -> StageData:
    stage_dir = run_dir / entry["dir"]
    manifest = read_manifest(stage_dir)
    return StageData(
        name=entry.get("name", entry["dir"]),
        dir_name=entry["dir"],
        status=str(row.get("status", "not started")),
        wall=str(row.get("wall", "-")),
        key_metrics=str(row.get("metrics", "-")),
        outputs={k: _relative(v, run_dir) for k, v in manifest.outputs.items()} if manifest else {},
        log=read_jsonl(stage_dir / "metrics.jsonl"),
        evals=read_evals(stage_dir),
        funnel=_read_funnel(stage_dir),
        difficulty=_read_difficulty(stage_dir),
        samples=_last_samples(stage_dir / "samples.jsonl"),
    )


def read_evals(stage_dir: Path) -> dict[str, dict[str, dict]]:
    """{"before"|"after": {benchmark: metrics}} from eval.json, in the new or the legacy format."""
    raw = _read_json(stage_dir / "eval.json")
    if not isinstance(raw, dict):
        # A running stage has only written its before-eval (eval_before.json) so far.
        raw = {side: _read_json(stage_dir / f"eval_{side}.json") for side in SIDES}
    evals = {side: _benchmarks(raw.get(side)) for side in SIDES}
    return {side: found for side, found in evals.items() if found}


def _benchmarks(side: Any) -> dict[str, dict]:
    if not isinstance(side, dict):
        return {}
    if isinstance(side.get("metrics"), dict):  # legacy: one unnamed result
        return {LEGACY_BENCHMARK: side["metrics"]}
    return {
        name: result["metrics"]
        for name, result in side.items()
        if isinstance(result, dict) and isinstance(result.get("metrics"), dict)
    }


def _read_difficulty(stage_dir: Path) -> dict:
    """difficulty.json of an RL stage's difficulty filter, {} when there is none or it is torn."""
    raw = _read_json(stage_dir / "difficulty.json")
    histogram = raw.get("solved_histogram") if isinstance(raw, dict) else None
    ok = isinstance(histogram, list) and all(isinstance(n, int) for n in histogram) and len(histogram) > 1
    return raw if ok else {}


def _read_funnel(stage_dir: Path) -> list[dict]:
    raw = _read_json(stage_dir / "funnel.json")
    steps = raw.get("funnel") if isinstance(raw, dict) else None
    return [s for s in steps if isinstance(s, dict) and "step" in s] if isinstance(steps, list) else []


def _last_samples(path: Path) -> list[dict]:
    """The last few logged completions; the file grows all run long, so only a tail is kept."""
    if not path.exists():
        return []
    tail: deque[str] = deque(maxlen=SAMPLES_SHOWN + 1)  # one spare: the last line may be torn
    with path.open(encoding="utf-8", errors="replace") as f:
        tail.extend(f)
    samples = []
    for line in tail:
        try:
            samples.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return [s for s in samples if isinstance(s, dict)][-SAMPLES_SHOWN:]


def series(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of one logged key. Rows without it (the trainer's final summary line) are
    skipped; a step logged twice (a resumed stage replays steps after its checkpoint) keeps the
    last value."""
    by_step: dict[float, float] = {}
    for row in rows:
        value, step = row.get(key), row.get("step")
        if isinstance(value, int | float) and isinstance(step, int | float) and _is_number(value):
            by_step[float(step)] = float(value)
    steps = sorted(by_step)
    return steps, [by_step[s] for s in steps]


def reward_components(rows: list[dict]) -> dict[str, str]:
    """{component name: logged key} for the per-function reward means.

    `rewards/<name>/mean` is TRL's column per reward function; stage 4 logs one routed column
    there and its components as `reward/<name>/mean`, so both count (TRL's column wins a tie).
    """
    found: dict[str, str] = {}
    for key in sorted({k for row in rows for k in row}, key=lambda k: (k.startswith("rewards/"), k)):
        match = REWARD_KEY.match(key)
        if match and match.group(2) not in NOT_A_REWARD:
            found[match.group(2)] = key
    return dict(sorted(found.items()))


def _relative(path: Any, run_dir: Path) -> str:
    try:
        return str(Path(str(path)).resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(path)


def _read_json(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as err:
        log.warning("skipping unreadable %s: %s", path, err)
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN
