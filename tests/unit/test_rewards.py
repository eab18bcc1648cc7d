"""Rewards judge final answers only: the region after the last </think> (none without it, unless
reward.without_think_end=whole_text), its \\boxed{} answers (braces balanced), else its <answer>
tags, else the bare summary; toy_accuracy compares integers, math_accuracy checks equivalence.
The adversarial tables (answers in the reasoning, hedges, text references, agreement with TRL)
are in test_reward_attacks.py."""

from __future__ import annotations

import pytest

from r1pipe.rewards import (
    REWARDS,
    completion_text,
    extract_answer,
    get_reward,
    last_boxed,
    math_accuracy,
    toy_accuracy,
)

THINK = "<think>\nreasoning\n</think>\n\n"


def after_think(completion):
    """The completion as a summary after a closed reasoning block (unless it has its own)."""
    if isinstance(completion, list):
        return [{**m, "content": after_think(m["content"])} for m in completion]
    return completion if "</think>" in completion else THINK + completion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{42}", "42"),
        ("The answer is \\boxed{ 42 }.", "42"),  # stripped
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
        ("\\boxed{\\sqrt{\\frac{a}{b^{2}}}} done", "\\sqrt{\\frac{a}{b^{2}}}"),  # deeply nested
        ("first \\boxed{1}, then \\boxed{2}", "2"),  # the last box wins
        ("\\boxed{1} and an unclosed \\boxed{2", None),  # the last box is unclosed
        ("\\boxed{12", None),  # unclosed
        ("\\boxed{}", ""),
        ("no box here", None),
        ("", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>a</think>\n\nSo \\boxed{7}.", "7"),  # boxed
        ("<think>a</think> <answer>7</answer>", "7"),  # tags
        ("<think>a</think> <answer>1</answer> then <answer> 2 </answer>", "2"),  # last tag, stripped
        ("<think>a</think><answer>\nmulti\nline\n</answer>", "multi\nline"),
        ("<think>reasoning</think>\n\n  7  ", "7"),  # text after </think>
        ("<think>a</think>x<think>b</think> final", "final"),  # after the last </think>
        ("<think>a</think> \\boxed{3} <answer>4</answer>", "3"),  # boxed beats tags
        ("<think>\\boxed{3}</think> 4", "4"),  # a box in the reasoning is not the answer
        ("<think>only thinking</think>   ", None),  # nothing after </think>
        ("\\boxed{7}", None),  # no </think>: no final answer
        ("<answer>7</answer>", None),
        ("just some text", None),
        ("", None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{7}", "7"),
        ("<answer>7</answer>", "7"),
        ("just some text", "just some text"),
        ("<think>\\boxed{3}</think> 4", "4"),  # with </think>, still only the summary
        ("", None),
    ],
)
def test_extract_answer_from_the_whole_text_when_configured(text, expected):
    assert extract_answer(text, "whole_text") == expected


@pytest.mark.parametrize(
    ("completion", "answer", "score"),
    [
        ("<think>9 + 9 = 18</think>\n\nThe sum is \\boxed{198}.", "198", 1.0),
        ("\\boxed{197}", "198", 0.0),  # wrong
        ("The sum is 198.", "198", 0.0),  # a sentence, not the answer
        ("\\boxed{1,234}", "1234", 1.0),  # thousands separator
        ("\\boxed{1 234}", "1234", 1.0),  # spaces
        ("\\boxed{ 12 }", " 12 ", 1.0),  # reference is stripped too
        ("\\boxed{12}", 12, 1.0),  # integer reference
        ("<answer>55</answer>", "55", 1.0),
        ("\\boxed{}", "0", 0.0),
        ([{"role": "assistant", "content": "\\boxed{5}"}], "5", 1.0),  # chat-format completion
    ],
)
def test_toy_accuracy(completion, answer, score):
    assert toy_accuracy([after_think(completion)], answer=[answer]) == [score]


def test_toy_accuracy_ignores_extra_columns_and_checks_lengths():
    got = toy_accuracy([THINK + "\\boxed{1}", THINK + "\\boxed{2}"], answer=["1", "3"], language=["en", "zh"])
    assert got == [1.0, 0.0]
    with pytest.raises(ValueError):
        toy_accuracy(["\\boxed{1}"], answer=["1", "2"])


@pytest.mark.parametrize(
    ("completion", "answer", "score"),
    [
        ("\\boxed{\\frac{1}{2}}", "0.5", 1.0),
        ("\\boxed{0.5}", "\\frac{1}{2}", 1.0),
        ("<think>x</think> \\boxed{2}", "2", 1.0),
        ("<think>\\boxed{2}</think> \\boxed{3}", "2", 0.0),  # the summary's answer counts
        ("\\boxed{3}", "0.5", 0.0),  # wrong
        ("no answer at all", "0.5", 0.0),
        ("\\boxed{\\{1,2,3\\}}", "\\{3,2,1\\}", 1.0),  # sets, any order
        ("\\boxed{\\{1,2\\}}", "\\{1,2,3\\}", 0.0),
        ("\\boxed{(0,1]}", "(0,1]", 1.0),  # intervals
        ("\\boxed{[0,1)}", "(0,1]", 0.0),  # open/closed ends matter
        ("\\boxed{x^2+2x+1}", "(x+1)^2", 1.0),  # expressions
        ("\\boxed{\\sqrt{2}/2}", "\\frac{1}{\\sqrt{2}}", 1.0),
        ("<answer>3/4</answer>", "0.75", 1.0),  # R1-Zero answer tag
        ("<think>a</think> so it is 12", "12", 1.0),  # free text after </think>
        ("\\boxed{2}", "\\invalid{{{", None),  # unparsable reference: not judged, not wrong
        ("\\boxed{２}", "2", 1.0),  # full-width digit
    ],
)
def test_math_accuracy(completion, answer, score):
    assert math_accuracy([after_think(completion)], answer=[answer]) == [score]


def test_registry():
    assert {"toy_accuracy", "math_accuracy"} <= set(REWARDS)
    assert get_reward("toy_accuracy") is toy_accuracy
    with pytest.raises(KeyError, match="toy_accuracy"):
        get_reward("nope")


def test_completion_text():
    assert completion_text("plain") == "plain"
    assert (
        completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}])
        == "ab"
    )


# Issue 30, finding 8: rewards run from any thread. math-verify's own timeout uses signal.alarm,
# which raises ValueError off the main thread (TRL's reward tests call rewards from a worker
# thread); there the reward runs without it, as TRL's do, and gives the main thread's verdicts.
THREAD_CASES = {
    "completions": [
        "<think>We add one and one.</think>\n\n\\boxed{2}",
        "<think>We add.</think>\n\n\\boxed{3}",
    ],
    "answer": ["2", "2"],
    "language": ["en", "en"],
    "tests": [[{"input": "", "output": "2\n"}]] * 2,
}


def test_every_registered_reward_runs_from_a_thread():
    from concurrent.futures import ThreadPoolExecutor

    from r1pipe.rewards import REWARDS
    from r1pipe.rewards.registry import declared_columns

    def call(name):
        fn = REWARDS[name]
        wanted = declared_columns(fn) or set(THREAD_CASES)
        columns = {k: v for k, v in THREAD_CASES.items() if k in wanted and k != "completions"}
        return fn(THREAD_CASES["completions"], **columns)

    names = sorted(REWARDS)
    in_main = {name: call(name) for name in names}
    with ThreadPoolExecutor(2) as pool:
        in_thread = dict(zip(names, pool.map(call, names), strict=True))
    assert in_thread == in_main
    assert in_thread["math_accuracy"] == [1.0, 0.0]
