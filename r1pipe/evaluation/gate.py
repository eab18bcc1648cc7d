"""eval.gate: stop the pipeline after a stage whose evaluation fell below a floor, or below its own
input model (the previous stage's output) by more than a margin. The stage itself stays complete
(its model is fine to inspect or reuse); only the stages after it do not start.
"""

from __future__ import annotations

import logging
import re

from omegaconf import DictConfig

log = logging.getLogger(__name__)

PLAIN_METRICS = ("pass@1", "language_consistency", "think_format", "answered", "mean_length")
SAMPLED_METRIC = re.compile(r"^(pass|cons)@\d+$")


def gate_enabled(cfg: DictConfig) -> bool:
    g = cfg.eval.gate
    return g.min_value is not None or g.max_drop is not None


def gate_benchmark(cfg: DictConfig) -> str:
    return cfg.eval.gate.benchmark or cfg.eval.benchmarks[0]


def gate_verdict(cfg: DictConfig, stage: str, metrics: dict) -> str | None:
    """Why the pipeline must stop after `stage` (its manifest `metrics`), or None to go on."""
    if not gate_enabled(cfg):
        return None
    g, bench = cfg.eval.gate, gate_benchmark(cfg)
    if not any(k.startswith("eval/after/") for k in metrics):
        log.info("eval gate: stage %s recorded no evaluation (e.g. rejection.sft=false); not checked", stage)
        return None
    after = metrics.get(f"eval/after/{bench}/{g.metric}")
    before = metrics.get(f"eval/before/{bench}/{g.metric}")
    if after is None:
        have = sorted({k.split("/", 3)[-1] for k in metrics if k.startswith(f"eval/after/{bench}/")})
        return (
            f"eval gate: stage {stage} has no {bench} {g.metric} to check (recorded: {', '.join(have) or 'none'}). "
            "Set eval.gate.metric to a recorded metric, or eval.after_stage=true so stages are evaluated"
        )
    where = f"{bench} {g.metric} after {stage}"
    if g.min_value is not None and after < g.min_value:
        return f"eval gate: {where} is {after}, below eval.gate.min_value={g.min_value}"
    if g.max_drop is not None and before is not None and before - after > g.max_drop:
        return (
            f"eval gate: {where} is {after}, {before - after:.4f} below its input model ({before}), "
            f"more than eval.gate.max_drop={g.max_drop}"
        )
    return None
