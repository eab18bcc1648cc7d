"""Persisted steps of stage 3: each step's records are written once, atomically, to
`<stage>/data/steps/<name>.jsonl`, and a rerun of the stage (same fingerprint: the plan sets a
stage dir with another fingerprint aside) reads them back instead of recomputing. A crash in a
later step therefore never redoes an earlier one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from r1pipe.rundir import atomic_write_text

log = logging.getLogger(__name__)

Records = list[dict]


def write_records(path: Path, records: Records) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def read_records(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class StepStore:
    def __init__(self, data_dir: Path):
        self.dir = data_dir / "steps"

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.jsonl"

    def done(self, name: str) -> bool:
        return self.path(name).is_file()

    def step(self, name: str, compute: Callable[[], Records]) -> Records:
        """The records of step `name`: read back if an earlier attempt finished it, else computed
        and written."""
        path = self.path(name)
        if path.is_file():
            records = read_records(path)
            log.info(
                "rejection sampling, %s: %d records from an earlier attempt (%s)", name, len(records), path
            )
            return records
        records = compute()
        write_records(path, records)
        log.info("rejection sampling, %s: %d records", name, len(records))
        return records


def has_persisted_steps(stage_dir: Path) -> bool:
    """Whether an interrupted stage-3 attempt left steps or generation shards to reuse."""
    data = stage_dir / "data"
    return any((data / "steps").glob("*.jsonl")) or any((data / "generations").glob("shard_*.jsonl"))
