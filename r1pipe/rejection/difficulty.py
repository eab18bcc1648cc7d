"""A difficulty filter on RL prompts (before stage 2 and R1-Zero): sample k completions of each
candidate prompt with the starting model, check them with the accuracy reward, and keep the
prompts whose pass rate lies in a band.

Why: GRPO learns from a group only when its rewards differ. A prompt the model always solves, or
never does, gives k equal rewards, zero advantage, no gradient (TRL logs the share of such groups
as `frac_reward_zero_std`); for a small model that is most prompts. DAPO drops such groups after
sampling them (`dynamic_sampling`); this filter drops their prompts once, before training, as
DeepScaleR, Skywork-OR1 and Tina's data do. The sampling and checking are stage 3's (steps.py:
`generate_in_shards`, `verify_in_shards`): resumable shards, one per process under a multi-process
launcher, seeded by shard so 1 or N processes keep the same prompts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from r1pipe.rejection.store import Records


def pass_counts(records: Records) -> dict[str, tuple[int, int]]:
    """prompt_id -> (correct samples, samples) from checked records (steps.verify: `drop` is ''
    for a correct sample; truncated and unjudged samples count as not solved)."""
    counts: dict[str, list[int]] = {}
    for record in records:
        seen = counts.setdefault(record["prompt_id"], [0, 0])
        seen[0] += not record.get("drop")
        seen[1] += 1
    return {prompt_id: (correct, total) for prompt_id, (correct, total) in counts.items()}


def in_band(correct: int, total: int, low: float, high: float) -> bool:
    """Whether a pass rate lies in [low, high] (both ends included)."""
    return total > 0 and low <= correct / total <= high


def difficulty_report(counts: dict[str, tuple[int, int]], k: int, low: float, high: float) -> dict[str, Any]:
    """What the stage dir keeps (difficulty.json) and the report draws: how many prompts were solved
    0, 1, ..., k times of k, the band, and how many were kept."""
    by_solved = Counter(correct for correct, _ in counts.values())
    kept = sum(in_band(c, t, low, high) for c, t in counts.values())
    candidates = len(counts)
    return {
        "samples_per_prompt": k,
        "band": [low, high],
        "candidates": candidates,
        "kept": kept,
        "solved_histogram": [by_solved.get(i, 0) for i in range(k + 1)],  # index: correct samples of k
        "never_solved": by_solved.get(0, 0) / candidates if candidates else 0.0,
        "always_solved": by_solved.get(k, 0) / candidates if candidates else 0.0,
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def read_report(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and "solved_histogram" in found else None
