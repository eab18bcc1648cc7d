"""The stage-3 SFT set: kept reasoning samples as chats, non-reasoning chats mixed in at the
configured ratio, written as one JSONL or parquet file that `datasets` and TRL's SFTTrainer load,
with provenance on every row; and the funnel report (counts after each step, by task and language).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

from omegaconf import DictConfig

from r1pipe.data.loading import id_column, load_table, require_columns, row_id
from r1pipe.rejection.steps import survivors
from r1pipe.rejection.store import Records
from r1pipe.rewards.language import detect_language
from r1pipe.run.rundir import atomic_write_json, fsync_dir
from r1pipe.toy.preferences import non_reasoning_examples

log = logging.getLogger(__name__)


def reasoning_rows(kept: Records, source_stage: str | None) -> list[dict]:
    return [
        {
            "messages": [
                {"role": "user", "content": r["prompt"]},
                {"role": "assistant", "content": r["text"]},
            ],
            "prompt_id": r["prompt_id"],
            "sample_index": r["sample_index"],
            "source": "rejection_sampling",
            "source_stage": source_stage,
            "task": r.get("task"),
            "language": r.get("language"),
            "verdict_by": r.get("verdict_by"),
            "filters_passed": r["passed"],
        }
        for r in kept
    ]


def non_reasoning_count(reasoning: int, ratio: float) -> int:
    """Non-reasoning rows that make `reasoning : non-reasoning` equal `ratio` (0: none)."""
    return round(reasoning / ratio) if ratio > 0 and reasoning else 0


def chat_language(messages: object) -> str | None:
    """The language of a chat's last user turn (hub chat sets such as ultrachat have no column)."""
    turns = messages if isinstance(messages, list) else []
    users = [t.get("content") for t in turns if isinstance(t, dict) and t.get("role") == "user"]
    return detect_language(str(users[-1])) if users else None


def non_reasoning_rows(data: DictConfig, n: int, seed: int) -> list[dict]:
    """`n` chats from data.non_reasoning (the toy: generated general requests, toy.preferences),
    shuffled with `seed`; fewer when the dataset has fewer rows (logged)."""
    if n == 0:
        return []
    spec = data.non_reasoning
    if spec.path == "toy":
        source = non_reasoning_examples(n, seed=data.toy.seed, flaw_fraction=data.toy.chat_flaw_fraction)
    else:
        ds = load_table(spec.path, spec.subset, spec.split)
        require_columns(ds, [spec.messages_column], spec.path, "data.non_reasoning.messages_column")
        ds = ds.shuffle(seed=seed).select(range(min(n, len(ds), spec.num_examples or len(ds))))
        source = [dict(row) for row in ds]
        if len(source) < n:
            log.warning("data.non_reasoning has %d rows; the mix asked for %d", len(source), n)
    column = id_column(source[0]) if source else None
    return [
        {
            "messages": row.get(spec.messages_column, row.get("messages")),
            "prompt_id": row_id(row, column, content=[spec.messages_column]),
            "sample_index": 0,
            "source": "non_reasoning",
            "source_stage": None,
            "task": row.get("task") or "general",
            "language": row.get("language")
            or chat_language(row.get(spec.messages_column, row.get("messages"))),
            "verdict_by": None,
            "filters_passed": [],
        }
        for row in source
    ]


def write_sft_set(rows: list[dict], path: Path) -> Path:
    """One file, written to a temporary name and renamed, so a crash never leaves a partial set."""
    from datasets import Dataset

    tmp = path.with_name(f".{path.name}.tmp")
    ds = Dataset.from_list(rows)
    if path.suffix == ".parquet":
        ds.to_parquet(str(tmp))
    else:
        ds.to_json(str(tmp), force_ascii=False)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def counts(records: list[dict]) -> dict:
    return {
        "total": len(records),
        "by_task": dict(Counter(str(r.get("task")) for r in records)),
        "by_language": dict(Counter(str(r.get("language")) for r in records)),
    }


def funnel_report(prompts: list[dict], steps: list[tuple[str, Records]], final_rows: list[dict]) -> dict:
    """Counts after each step (survivors, by task and language) with the reasons for each drop."""
    entries = [{"step": "prompts", **counts(prompts)}]
    for name, marked in steps:
        dropped = Counter(part for r in marked if r.get("drop") for part in r["drop"].split(","))
        entries.append({"step": name, **counts(survivors(marked)), "dropped": dict(dropped)})
    entries.append(
        {"step": "sft_set", **counts(final_rows), "by_source": dict(Counter(r["source"] for r in final_rows))}
    )
    return {"funnel": entries}


def write_funnel(report: dict, path: Path) -> None:
    atomic_write_json(path, report)
    lines = [f"{'step':<16}{'total':>8}  by language / dropped"]
    for e in report["funnel"]:
        detail = json.dumps(e.get("dropped") or e["by_language"], ensure_ascii=False)
        lines.append(f"{e['step']:<16}{e['total']:>8}  {detail}")
    log.info("rejection sampling funnel (%s):\n%s", path, "\n".join(lines))


# What to change when a filter drops everything: the setting behind each drop reason.
FIX_FOR_DROP = {
    "truncated": "samples hit rejection.max_tokens before they ended: raise rejection.max_tokens",
    "unjudged": "the rules could not judge the answers: check reward.accuracy, or set rejection.judge.model",
    "incorrect (rules)": "no answer was correct: sample a stronger model, or more samples (rejection.samples_per_prompt)",
    "incorrect (judge)": "the judge accepted no answer: sample a stronger model, or more samples",
    "mixed_language": "loosen rejection.readability.min_language_consistency",
    "long_paragraph": "raise rejection.readability.max_paragraph_chars",
    "code_in_cot": "rejection.readability.allow_code_in_cot=true",
    "repetition": "raise rejection.readability.max_repeated_ngram_share",
    "too_long": "raise rejection.readability.max_tokens",
    "exact_duplicate": "rejection.dedup.exact=false",
    "near_duplicate": "raise rejection.dedup.near_threshold, or rejection.dedup.near=false",
    "contaminated": "the samples share n-grams with evaluation prompts (rejection.dedup.decontaminate)",
}


def emptied_by(steps: list[tuple[str, Records]]) -> str:
    """Which step left no sample, its drop reasons (most frequent first) and the setting behind
    each: the message of an empty stage-3 set."""
    for name, marked in steps:
        if marked and not survivors(marked):
            dropped = Counter(part for r in marked if r.get("drop") for part in r["drop"].split(","))
            reasons = "; ".join(
                f"{n} {reason} ({FIX_FOR_DROP.get(reason, 'see docs/DEVELOPERS.md, rejection sampling')})"
                for reason, n in dropped.most_common()
            )
            return f"step {name!r} dropped all {len(marked)} samples: {reasons}"
        if not marked:
            return f"step {name!r} had no sample to work on"
    return "every step kept samples, but none reached the set"
