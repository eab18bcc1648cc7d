"""Persisted steps of stage 3.

Each step's records are written once, atomically, to `<stage>/data/steps/<name>.jsonl` with a
key beside it (`<name>.key`: a hash of everything the step's output depends on, the previous
step's key included). A rerun reads a step back instead of recomputing it when its key matches,
so a crash in a later step never redoes an earlier one. When the stage re-runs under a new
fingerprint (e.g. `rejection.keep_per_prompt` changed) the plan sets the old stage dir aside
under `superseded/`; steps whose key is unchanged there (the generation, verification, ...) are
copied from it rather than recomputed, so tuning a filter never resamples.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from r1pipe.run.fingerprint import settings_key
from r1pipe.run.rundir import atomic_write_text

log = logging.getLogger(__name__)

Records = list[dict]


def step_key(previous: str, settings: Any) -> str:
    """The key of a step: its settings and the key of the step it reads from."""
    return settings_key({"previous": previous, "settings": settings})


def write_records(path: Path, records: Records) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def read_records(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _key_of(path: Path) -> str | None:
    key_file = path.with_suffix(".key")
    return key_file.read_text(encoding="utf-8").strip() if key_file.is_file() else None


class StepStore:
    def __init__(self, data_dir: Path, earlier: list[Path] = ()):  # type: ignore[assignment]
        # earlier: data dirs of superseded attempts of this stage, newest first
        self.data_dir, self.dir, self.earlier = data_dir, data_dir / "steps", list(earlier)

    def has(self, name: str, key: str) -> bool:
        """Whether step `name` is finished under `key`, in this attempt or a superseded one."""
        found = [self.dir / f"{name}.jsonl"] + [d / "steps" / f"{name}.jsonl" for d in self.earlier]
        return any(path.is_file() and _key_of(path) == key for path in found)

    def step(self, name: str, key: str, compute: Callable[[], Records]) -> Records:
        """The records of step `name`: read back when this or a superseded attempt finished it
        with the same key, else computed and written."""
        path = self.dir / f"{name}.jsonl"
        if path.is_file() and _key_of(path) == key:
            records = read_records(path)
            log.info(
                "rejection sampling, %s: %d of %d records pass (from an earlier attempt: %s)",
                name,
                sum(not r.get("drop") for r in records),
                len(records),
                path,
            )
            return records
        for data_dir in self.earlier:
            old = data_dir / "steps" / f"{name}.jsonl"
            if old.is_file() and _key_of(old) == key:
                self.dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(old, path)
                atomic_write_text(path.with_suffix(".key"), key)
                log.info("rejection sampling, %s: reused from %s (same inputs and settings)", name, old)
                return read_records(path)
        records = compute()
        write_records(path, records)
        atomic_write_text(path.with_suffix(".key"), key)
        # What survives the step, not what it read: its records keep the dropped ones, marked.
        kept = sum(not r.get("drop") for r in records)
        log.info("rejection sampling, %s: %d of %d records pass", name, kept, len(records))
        return records

    def adopt_shards(self, shards_dir: Path, key: str) -> None:
        """Mark `shards_dir` with the generation key; bring over finished shards of a superseded
        attempt that sampled with the same key, and drop shards written under another key."""
        key_file = shards_dir / "generation.key"
        if key_file.is_file() and key_file.read_text(encoding="utf-8").strip() != key:
            shutil.rmtree(shards_dir)  # only possible by hand: the plan sets other fingerprints aside
        shards_dir.mkdir(parents=True, exist_ok=True)
        for data_dir in self.earlier:
            old = data_dir / "generations"
            if (old / "generation.key").is_file() and (old / "generation.key").read_text().strip() == key:
                copied = [
                    shutil.copyfile(s, shards_dir / s.name)
                    for s in sorted(old.glob("shard_*.jsonl"))
                    if not (shards_dir / s.name).exists()
                ]
                if copied:
                    log.info(
                        "generation: %d shards reused from %s (same model, prompts and sampling)",
                        len(copied),
                        old,
                    )
                break
        if not key_file.is_file():
            atomic_write_text(key_file, key)


def wait_for_adopted_shards(shards_dir: Path, key: str, timeout_s: float, poll_s: float = 0.5) -> None:
    """What a process other than the main one does before sampling: wait until the main process
    has marked `shards_dir` with the generation key (`StepStore.adopt_shards`), so that it never
    samples into a folder the main process is about to clear or fill from an earlier attempt."""
    key_file = shards_dir / "generation.key"
    deadline = time.monotonic() + timeout_s
    while not (key_file.is_file() and key_file.read_text(encoding="utf-8").strip() == key):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{key_file}: the main process did not set up the generation folder within {timeout_s:.0f}s "
                "(rejection.shard_stall_timeout_s); look at its log"
            )
        time.sleep(poll_s)


def superseded_attempts(run_dir: Path, stage_dir_name: str) -> list[Path]:
    """Data dirs of earlier attempts of this stage that the plan set aside, newest first."""
    found = sorted(
        (run_dir / "superseded").glob(f"{stage_dir_name}-*"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    return [p / "data" for p in found if (p / "data").is_dir()]


def has_persisted_steps(stage_dir: Path) -> bool:
    """Whether an interrupted stage-3 attempt left steps or generation shards to reuse."""
    data = stage_dir / "data"
    return any((data / "steps").glob("*.jsonl")) or any((data / "generations").glob("shard_*.jsonl"))
