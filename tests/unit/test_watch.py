"""Watchers: reward-shaped callables with weight 0 that count reflective words and log samples."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from r1pipe.config.schema import REFLECTIVE_WORDS
from r1pipe.training.watchers import ReflectionCounter, SampleLogger


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


def test_sample_logger_stride_takes_the_first_completion_of_each_group(tmp_path):
    path = tmp_path / "samples.jsonl"
    SampleLogger(path, every=1, n=2, stride=3)(list("abcdefg"), trainer_state=SimpleNamespace(global_step=0))
    assert [json.loads(line)["completion"] for line in path.read_text().splitlines()] == ["a", "d"]


def rule(completions, **_):
    return [1.0 if "ok" in c else 0.0 for c in completions]


def judge(completions, **_):
    return [0.5] * len(completions)


judge.__name__ = "helpful"


@pytest.mark.parametrize(
    ("step", "general_rewards", "general_total"),
    [(0, {"helpful": None}, None), (1, {"helpful": 0.5}, 0.5)],
    ids=["before the preference window", "in it"],
)
def test_watched_routed_reward_keeps_none_and_logs_routes_and_rewards(
    tmp_path, step, general_rewards, general_total
):
    from r1pipe.rewards.gate import LastSteps
    from r1pipe.rewards.routing import RoutedReward
    from r1pipe.training.watchers import Watched

    routed = RoutedReward({"toy": [(rule, 1.0)], "general": [(LastSteps(judge, 1), 1.0)]})
    watched = Watched(
        routed, ReflectionCounter(["wait"]), SampleLogger(tmp_path / "s.jsonl", every=1, n=4, stride=2)
    )
    logged: dict[str, float] = {}
    completions = ["ok wait", "no", "hello", "hi wait"]  # groups of 2: a toy prompt, then a general one
    totals = watched(
        completions,
        prompts=["1+1?", "1+1?", "Say hi.", "Say hi."],
        trainer_state=SimpleNamespace(global_step=step, max_steps=2),
        log_metric=logged.__setitem__,
        task=["toy", "toy", "general", "general"],
        answer=["2", "2", "", ""],
    )
    # One TRL column: None stays None (TRL: unscorable, advantage 0), never a watcher's 0.0.
    assert watched.__name__ == "routed"
    assert totals == [1.0, 0.0, general_total, general_total]
    assert logged["rewards/reflective_words/mean"] == 0.5 and logged["route/general/frac"] == 0.5
    assert ("reward/helpful/mean" in logged) is (general_total is not None)
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [(r["task"], r["route"], r["rewards"], r["reward"]) for r in rows] == [
        ("toy", "toy", {"rule": 1.0}, 1.0),
        ("general", "general", general_rewards, general_total),
    ]
