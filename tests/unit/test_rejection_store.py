"""Persisted steps: read back on a rerun with the same key, recomputed with another, copied from a
superseded attempt whose key matches (so tuning a later step never resamples)."""

from __future__ import annotations

import os
import time

from r1pipe.rejection.store import StepStore, has_persisted_steps, step_key, superseded_attempts


def counting(records):
    calls = []

    def compute():
        calls.append(1)
        return records

    return compute, calls


def test_a_step_is_computed_once_per_key(tmp_path):
    store = StepStore(tmp_path / "data")
    compute, calls = counting([{"a": 1}])
    assert store.step("correct", "k1", compute) == [{"a": 1}]
    assert store.step("correct", "k1", compute) == [{"a": 1}]
    assert len(calls) == 1
    store.step("correct", "k2", compute)
    assert len(calls) == 2, "another key: recomputed"
    assert (tmp_path / "data" / "steps" / "correct.key").read_text() == "k2"


def test_steps_with_the_same_key_come_from_a_superseded_attempt(tmp_path):
    old, new = tmp_path / "old" / "data", tmp_path / "new" / "data"
    first, _ = counting([{"x": 1}])
    StepStore(old).step("correct", "same", first)
    StepStore(old).step("kept", "old-kept", first)
    store = StepStore(new, earlier=[old])
    compute, calls = counting([{"x": 2}])
    assert store.step("correct", "same", compute) == [{"x": 1}] and not calls
    assert (new / "steps" / "correct.jsonl").is_file(), "copied, so deleting superseded/ loses nothing"
    assert store.step("kept", "new-kept", compute) == [{"x": 2}] and len(calls) == 1


def test_shards_are_adopted_only_under_the_same_generation_key(tmp_path):
    old = tmp_path / "old" / "data"
    StepStore(old).adopt_shards(old / "generations", "gen-1")
    (old / "generations" / "shard_00000.jsonl").write_text('{"t": 1}\n')
    same = tmp_path / "same" / "data"
    StepStore(same, earlier=[old]).adopt_shards(same / "generations", "gen-1")
    assert (same / "generations" / "shard_00000.jsonl").read_text() == '{"t": 1}\n'
    other = tmp_path / "other" / "data"
    StepStore(other, earlier=[old]).adopt_shards(other / "generations", "gen-2")
    assert not list((other / "generations").glob("shard_*")), "another model or sampling: resample"
    assert has_persisted_steps(same.parent) and not has_persisted_steps(other.parent)


def test_step_keys_chain():
    a = step_key("model-fp", {"temperature": 0.7})
    assert step_key("model-fp", {"temperature": 0.7}) == a
    assert step_key("model-fp", {"temperature": 0.8}) != a
    assert step_key("other-model", {"temperature": 0.7}) != a


def test_superseded_attempts_newest_first(tmp_path):
    for i, name in enumerate(
        ["03_rejection_sampling-20261101-a", "03_rejection_sampling-20261102-b", "02_reasoning_rl-x"]
    ):
        d = tmp_path / "superseded" / name / "data"
        d.mkdir(parents=True)
        os.utime(d.parent, (time.time() + i, time.time() + i))
    found = superseded_attempts(tmp_path, "03_rejection_sampling")
    assert [p.parent.name for p in found] == [
        "03_rejection_sampling-20261102-b",
        "03_rejection_sampling-20261101-a",
    ]


def test_the_log_counts_what_passes_a_step_not_what_it_read(tmp_path, caplog):
    # Issue 31, point 5: "kept: 41 records" counted the step's input (dropped records stay, marked).
    store = StepStore(tmp_path / "data")
    records = [{"drop": ""}, {"drop": "mixed_language"}, {"drop": ""}]
    with caplog.at_level("INFO", logger="r1pipe.rejection.store"):
        store.step("readable", "k", lambda: records)
        store.step("readable", "k", lambda: records)
    assert caplog.messages[0] == "rejection sampling, readable: 2 of 3 records pass"
    assert caplog.messages[1].startswith("rejection sampling, readable: 2 of 3 records pass (from an earlier")
