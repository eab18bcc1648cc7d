"""`r1pipe status RUN_DIR`: one row per stage: status, wall time, key metrics, outputs."""

from __future__ import annotations

import json
from pathlib import Path

from r1pipe.pipeline.plan import read_launch, recorded_result_damage
from r1pipe.run.rundir import TRAINED, latest_usable_checkpoint, read_manifest
from r1pipe.run.topology import describe

TRAIN_METRICS = ("train/final_step", "train/loss")
EVAL_METRICS = ("pass@1", "language_consistency")  # of each benchmark, before -> after


class StatusError(Exception):
    pass


def stage_rows(run_dir: Path) -> list[dict]:
    plan_path = run_dir / "plan.json"
    if not plan_path.exists():
        raise StatusError(
            f"{run_dir} is not an r1pipe run directory (no plan.json); give the run_dir of an `r1pipe run`"
        )
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    rows = []
    for entry in plan["stages"]:
        stage_dir = run_dir / entry["dir"]
        manifest = read_manifest(stage_dir)
        checkpoint, passed_over = latest_usable_checkpoint(stage_dir / "checkpoints")
        damage = recorded_result_damage(stage_dir, manifest)
        if damage:  # what the next run's plan will say too (r1pipe/pipeline/plan.py)
            status = f"damaged: {damage}"
        elif manifest:
            status = manifest.status
        elif (stage_dir / TRAINED).is_file():
            status = "trained, evaluating/interrupted"  # the finish step runs or was stopped
        elif read_launch(stage_dir):
            status = f"running/interrupted ({checkpoint.name})" if checkpoint else "running/interrupted"
            if passed_over:
                status += f"; {'; '.join(passed_over)}"
        else:
            status = "not started"
        metrics = manifest.metrics if manifest else {}
        rows.append(
            {
                "stage": entry["dir"],
                "status": status,
                "wall": f"{manifest.wall_time_s:.0f}s" if manifest else "-",
                "processes": describe(manifest.topology) if manifest else "-",
                "metrics": key_metrics(metrics) or metrics.get("failure", "-"),
                "output": (manifest.outputs.get("model", "-") if manifest else "-"),
            }
        )
    return rows


def key_metrics(metrics: dict) -> str:
    """`heldout/pass@1=0.52->0.73, final_step=500, loss=0.41`: eval before -> after, then training."""
    shown = []
    benchmarks = sorted(
        {k.split("/")[2] for k in metrics if k.startswith("eval/after/") and k.count("/") == 3}
    )
    for bench in benchmarks:
        for name in EVAL_METRICS:
            before, after = (
                metrics.get(f"eval/before/{bench}/{name}"),
                metrics.get(f"eval/after/{bench}/{name}"),
            )
            if after is not None:
                shown.append(f"{bench}/{name}={'' if before is None else f'{before}->'}{after}")
    for name in ("eval/before/pass@1", "eval/after/pass@1"):  # runs recorded before benchmarks had names
        if name in metrics:
            shown.append(f"{name.removeprefix('eval/')}={metrics[name]}")
    shown += [f"{k.split('/', 1)[-1]}={metrics[k]}" for k in TRAIN_METRICS if k in metrics]
    return ", ".join(shown)


def report_line(run_dir: Path) -> str:
    page = run_dir / "report" / "index.html"
    if page.exists():
        return f"report: {page} (refresh: r1pipe report {run_dir})"
    return f"report: r1pipe report {run_dir}  (writes {page})"


def status_table(run_dir: Path) -> str:
    rows = stage_rows(run_dir)
    cols = ("stage", "status", "wall", "processes", "metrics", "output")
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    line = "  ".join(f"{c:<{widths[c]}}" for c in cols)
    out = [f"run: {run_dir}", line, "  ".join("-" * widths[c] for c in cols)]
    out += ["  ".join(f"{str(r[c]):<{widths[c]}}" for c in cols) for r in rows]
    out.append(f"log: {run_dir / 'r1pipe.log'}")
    out.append(report_line(run_dir))
    return "\n".join(out)
