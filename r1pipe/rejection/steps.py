"""The steps of rejection sampling, each a function from the samples that survived so far to the
same samples marked: `drop` is empty for a survivor, else the reason it goes; survivors add the
step's name to `passed` (the provenance of every row of the SFT set). Persisting the marked
records (store.py) keeps the reasons, so the funnel can always be recounted from disk.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from r1pipe.data.loading import id_column, row_id
from r1pipe.generation import Engine, Sampling
from r1pipe.generation.shards import Share, wait_for_shards
from r1pipe.rejection.dedup import Contamination, exact_duplicates, near_duplicates
from r1pipe.rejection.filters import failed_filters
from r1pipe.rejection.store import Records, read_records, write_records
from r1pipe.rewards.language import detect_language

if TYPE_CHECKING:
    from datasets import Dataset

log = logging.getLogger(__name__)

PROMPT_FIELDS = ("prompt", "answer", "language", "task")
ALONE = Share()  # one process samples every shard


def survivors(records: Records) -> Records:
    return [r for r in records if not r.get("drop")]


def mark(records: Records, step: str, reasons: list[str]) -> Records:
    """Copies of `records` with this step's verdict: a reason to drop, or '' and the step in `passed`."""
    marked = []
    for record, reason in zip(records, reasons, strict=True):
        passed = record.get("passed", []) + ([] if reason else [step])
        marked.append({**record, "drop": reason, "passed": passed})
    return marked


# -- a. generation, in shards ------------------------------------------------------------------


def prompt_rows(prompts: Dataset) -> list[dict]:
    """Each prompt with a unique id (the dataset's own id column, else a hash of prompt and
    answer: data.loading.row_id) and its language (the row's, else the prompt's: the funnel counts
    by language and the readability filter holds each CoT to it)."""
    column = id_column(prompts.column_names)
    rows, seen = [], set()
    for row in prompts.select_columns([c for c in (*PROMPT_FIELDS, column) if c in prompts.column_names]):
        prompt_id = row_id(row, column)
        if prompt_id not in seen:  # a repeated id is the same prompt drawn twice
            seen.add(prompt_id)
            fields = {k: row.get(k) for k in PROMPT_FIELDS}
            fields["language"] = fields["language"] or detect_language(str(fields["prompt"]))
            rows.append({"prompt_id": prompt_id, **fields})
    if len(rows) < len(prompts):
        log.warning(
            "data.rejection_prompts: %d rows repeat an earlier id; each id is sampled once",
            len(prompts) - len(rows),
        )
    return rows


def generate_in_shards(
    rows: list[dict],
    r: DictConfig,
    shards_dir: Path,
    open_engine: Callable[[], AbstractContextManager[Engine]],
    share: Share = ALONE,
) -> Records | None:
    """n samples per prompt, `r.shard_size` prompts per shard file, shard `i` seeded `r.seed + i`.
    Finished shards are kept, so an interrupted generation resumes at the missing shards; the
    engine starts only if one is. Under several processes (generation/shards.py) each samples the
    missing shards it owns; the main process then waits for the rest and returns every record,
    the others return None."""
    bounds = [(s, min(s + r.shard_size, len(rows))) for s in range(0, len(rows), r.shard_size)]
    paths = [shards_dir / f"shard_{i:05d}.jsonl" for i in range(len(bounds))]
    todo = [i for i in range(len(bounds)) if not paths[i].is_file() and share.owns(i)]
    owned = sum(share.owns(i) for i in range(len(bounds)))
    if len(todo) < owned:
        log.info("generation: %d of %d shards already written", owned - len(todo), owned)
    if todo:
        with open_engine() as engine:
            log.info("generation engine: %s%s", engine.backend, _of_processes(share, owned))
            for done, i in enumerate(todo, start=1):
                start, end = bounds[i]
                write_records(paths[i], generate_shard(engine, rows[start:end], r, seed=r.seed + i))
                log.info("generation: shard %d/%d written (%d done this attempt)", i + 1, len(bounds), done)
                stop_after_shard(i + 1, done, len(todo))
    if not share.is_main:
        return None
    wait_for_shards(paths, share, r.shard_stall_timeout_s)
    return [record for path in paths for record in read_records(path)]


def _of_processes(share: Share, owned: int) -> str:
    return f", process {share.rank} of {share.world}, {owned} shards its own" if share.world > 1 else ""


def stop_after_shard(shard: int, written: int, total: int) -> None:
    """A stop signal (SIGTERM, Ctrl-C) during generation ends it here, with the shard it arrived
    in finished and written: StopRequested marks the stage interrupted, and the rerun generates
    only the shards still missing."""
    from r1pipe.run.interrupt import StopRequested, stop_requested  # imports transformers: only when sampling

    signal_name = stop_requested()
    if signal_name and written < total:
        raise StopRequested(
            f"{signal_name}: generation stopped after shard {shard} ({written} of the {total} this process "
            "had to sample); the rerun generates the rest"
        )


def generate_shard(engine: Engine, rows: list[dict], r: DictConfig, seed: int) -> Records:
    sampling = Sampling(
        n=r.samples_per_prompt, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens, seed=seed
    )
    t0 = time.time()
    samples = engine.generate([row["prompt"] for row in rows], [row["prompt_id"] for row in rows], sampling)
    by_id = {row["prompt_id"]: row for row in rows}
    tokens = sum(s.num_tokens for s in samples)
    log.info(
        "generated %d samples, %d tokens, %.0f tokens/s", len(samples), tokens, tokens / (time.time() - t0)
    )
    return [
        {
            **by_id[s.prompt_id],
            "sample_index": s.sample_index,
            "text": s.text,
            "num_tokens": s.num_tokens,
            "finish_reason": s.finish_reason,
            "passed": [],
            "drop": "",
        }
        for s in samples
    ]


# -- b. verification -----------------------------------------------------------------------------


def verify_in_shards(
    shards_dir: Path,
    verified_dir: Path,
    shards: int,
    check: Callable[[Records], Records],
    share: Share = ALONE,
    stall_timeout_s: float = 3600.0,
) -> Records | None:
    """`check` (step b: `verify` with the rules and the judge) on every generation shard, each by
    the process that sampled it, in one call for all of its shards (the judge model loads once),
    to verified_dir/shard_i.jsonl; the main process waits for the others' and returns every
    record, the others None. A shard already verified (a crash after it) is not checked again."""
    sampled = [shards_dir / f"shard_{i:05d}.jsonl" for i in range(shards)]
    verified = [verified_dir / path.name for path in sampled]
    mine = [i for i in range(shards) if share.owns(i) and not verified[i].is_file()]
    if mine:
        per_shard = [read_records(sampled[i]) for i in mine]
        checked = check([record for records in per_shard for record in records])
        start = 0
        for i, records in zip(mine, per_shard, strict=True):
            write_records(verified[i], checked[start : start + len(records)])
            start += len(records)
    if not share.is_main:
        return None
    wait_for_shards(verified, share, stall_timeout_s)
    return [record for path in verified for record in read_records(path)]


def verify(
    records: Records,
    score: Callable[[list[str], list[str]], list[float | None]],
    judge: Callable[[Records], list[bool | None]] | None,
) -> Records:
    """Rules first (the reward library's accuracy reward); where they cannot judge (None), the
    generative judge when configured. Truncated samples are dropped before either runs."""
    scores = score([r["text"] for r in records], [str(r["answer"]) for r in records])
    unjudged = [i for i, s in enumerate(scores) if s is None]
    verdicts: dict[int, bool | None] = {}
    if judge and unjudged:
        verdicts = dict(zip(unjudged, judge([records[i] for i in unjudged]), strict=True))
    reasons, marked_by = [], []
    for i, (record, s) in enumerate(zip(records, scores, strict=True)):
        by = "rules" if s is not None else ("judge" if verdicts.get(i) is not None else None)
        correct = s is not None and s > 0 if by == "rules" else bool(verdicts.get(i))
        marked_by.append(by)
        if record["finish_reason"] == "length":
            reasons.append("truncated")
        elif by is None:
            reasons.append("unjudged")
        else:
            reasons.append("" if correct else f"incorrect ({by})")
    return [
        {**m, "verdict_by": by} for m, by in zip(mark(records, "correct", reasons), marked_by, strict=True)
    ]


# -- c. readability --------------------------------------------------------------------------------


def filter_readable(records: Records, readability: DictConfig) -> Records:
    failures = failed_filters(
        [r["text"] for r in records],
        [r["num_tokens"] for r in records],
        [r.get("language") for r in records],
        [r["prompt"] for r in records],
        readability,
    )
    return mark(records, "readable", [",".join(f) for f in failures])


# -- d. duplicates and decontamination -------------------------------------------------------------


def drop_duplicates(records: Records, dedup: DictConfig) -> Records:
    texts = [f"{r['prompt']}\n{r['text']}" for r in records]
    exact = exact_duplicates(texts) if dedup.exact else [False] * len(texts)
    # near-duplicate search only among samples that are not exact copies
    distinct = [t for t, e in zip(texts, exact, strict=True) if not e]
    near_flags = (
        iter(near_duplicates(distinct, dedup.near_threshold, dedup.shingle, dedup.num_perm))
        if dedup.near
        else iter([False] * len(distinct))
    )
    reasons = ["exact_duplicate" if e else ("near_duplicate" if next(near_flags) else "") for e in exact]
    return mark(records, "unique", reasons)


def decontaminate(records: Records, contamination: Contamination) -> Records:
    reasons = [
        "contaminated" if contamination.contaminated(f"{r['prompt']}\n{r['text']}") else "" for r in records
    ]
    return mark(records, "decontaminated", reasons)


# -- e. at most m per prompt -----------------------------------------------------------------------


def keep_per_prompt(records: Records, m: int, strategy: str, seed: int) -> Records:
    """At most `m` samples per prompt: the shortest (fewest tokens), a seeded random choice, or
    all of them (`strategy=all` or m=0)."""
    if strategy == "all" or m <= 0:
        return mark(records, "kept", [""] * len(records))
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(r["prompt_id"], []).append(i)
    chosen: set[int] = set()
    for prompt_id, members in groups.items():
        if strategy == "shortest":
            members = sorted(members, key=lambda i: (records[i]["num_tokens"], records[i]["sample_index"]))
        else:
            members = random.Random(f"{seed}:{prompt_id}").sample(members, len(members))
        chosen.update(members[:m])
    return mark(records, "kept", ["" if i in chosen else f"over_{m}_per_prompt" for i in range(len(records))])
