"""Watchers: reward-shaped callables with weight 0 that count reflective words and log samples."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from r1pipe.config import REFLECTIVE_WORDS
from r1pipe.watch import ReflectionCounter, SampleLogger


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Wait, let me check that again.", 2),
        ("We verify it; then re-check. Double-check done.", 3),
        ("waiting for checks", 0),  # whole words only in Latin script
        ("<think>\n等等，我再检查一下。\n</think>", 2),  # CJK words match as substrings
        ("Hmm... alternatively, retry.", 3),
        ("", 0),
        ("WAIT. VERIFY.", 2),  # case-insensitive
    ],
)
def test_reflection_counter(text, count):
    assert ReflectionCounter(REFLECTIVE_WORDS).count(text) == count


def test_reflection_counter_is_named_for_trl_and_takes_chat_completions():
    counter = ReflectionCounter(["wait"])
    assert counter.__name__ == "reflective_words"
    assert counter([[{"role": "assistant", "content": "wait wait"}], "no"]) == [2.0, 0.0]
    assert ReflectionCounter([])(["wait"]) == [0.0]  # an empty list counts nothing


def test_sample_logger_writes_every_n_steps_once(tmp_path):
    path = tmp_path / "samples.jsonl"
    logger = SampleLogger(path, every=2, n=2)
    for step in (0, 1, 2, 2, 3):
        out = logger(
            ["a", "b", "c"],
            prompts=["p1", "p2", "p3"],
            trainer_state=SimpleNamespace(global_step=step),
            answer=["1", "2", "3"],
            log_metric=print,
        )
        assert out == [0.0, 0.0, 0.0]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["step"], r["completion"], r["answer"]) for r in rows] == [
        (0, "a", "1"),
        (0, "b", "2"),
        (2, "a", "1"),
        (2, "b", "2"),
    ]
