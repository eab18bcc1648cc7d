"""Format rewards: R1 (`<think>..</think>` + non-empty summary) and R1-Zero (`<think>..</think>`
+ `<answer>..</answer>`); the opening tag may be left out only when the prompt prefilled it."""

from __future__ import annotations

import pytest

from r1pipe.rewards.format import r1_format, r1_zero_format, resolve_prefilled, split_think
from r1pipe.rewards.registry import get_reward
from r1pipe.toy.task import r1_response, sample_problems


@pytest.mark.parametrize(
    ("text", "prefilled", "expected"),
    [
        ("<think>a</think>b", False, ("a", "b")),
        ("<think>\n reason \n</think>\n\n summary ", False, ("reason", "summary")),
        ("  \n<think>a</think>b", False, ("a", "b")),  # leading whitespace before the tag
        ("<think>a</think>", False, ("a", "")),  # the summary may be empty here
        ("reason\n</think>\n\nsummary", True, ("reason", "summary")),  # prefilled <think>
        ("reason</think>summary", False, None),  # opening tag missing, not prefilled
        ("<think>a</think>b", True, None),  # prefilled, so a second <think> is nested
        ("<think> \n\t </think>b", False, None),  # empty reasoning
        ("  </think>b", True, None),  # empty reasoning, prefilled
        ("<think>a<think>b</think>c", False, None),  # nested
        ("<think>a</think>b</think>c", False, None),  # two closing tags
        ("<think>a</think>b<think>c", False, None),  # repeated opening tag
        ("x <think>a</think>b", False, None),  # text before the tag
        ("<think>a", False, None),  # never closed
        ("", False, None),
    ],
)
def test_split_think(text, prefilled, expected):
    assert split_think(text, prefilled) == expected


@pytest.mark.parametrize(
    ("text", "r1", "zero"),
    [
        ("<think>reason</think>\n\nThe answer is 7.", 1.0, 0.0),
        ("<think>reason</think><answer>7</answer>", 1.0, 1.0),  # an <answer> is a summary too
        ("<think>reason</think>\n  <answer> 7 </answer>\n", 1.0, 1.0),  # whitespace between
        ("<think>reason</think>   ", 0.0, 0.0),  # empty summary / no answer
        ("<think>reason</think><answer> </answer>", 1.0, 0.0),  # empty answer
        ("<think>reason</think>so <answer>7</answer>", 1.0, 0.0),  # text before <answer>
        ("<think>reason</think><answer>7</answer> more", 1.0, 0.0),  # text after </answer>
        ("<think>reason</think><answer>7</answer><answer>8</answer>", 1.0, 0.0),  # two answers
        ("<think>reason</think><answer>7</answer></answer>", 1.0, 0.0),  # two closing tags
        ("<think>say <answer>7</answer></think><answer>7</answer>", 1.0, 0.0),  # answer in think
        ("<think><think>reason</think></think>summary", 0.0, 0.0),  # nested
        ("<think>a</think>b</think>c", 0.0, 0.0),  # two </think>
        ("<think>\n\n</think>summary", 0.0, 0.0),  # empty reasoning
        ("reason</think>summary", 0.0, 0.0),  # no opening tag and nothing prefilled
        ("The answer is 7.", 0.0, 0.0),
        ("", 0.0, 0.0),
    ],
)
def test_formats(text, r1, zero):
    assert r1_format([text]) == [r1]
    assert r1_zero_format([text]) == [zero]


def test_prefilled_by_argument_or_column():
    text = "reason\n</think>\n\nsummary"
    zero = "reason</think> <answer>7</answer>"
    assert r1_format([text]) == [0.0]  # default: the opening tag is required
    assert r1_format([text], think_prefilled=True) == [1.0]
    assert r1_zero_format([zero], think_prefilled=True) == [1.0]
    # A column, one flag per row (TRL passes dataset columns as lists).
    assert r1_format([text, text], think_prefilled=[True, False]) == [1.0, 0.0]
    # Prefilled, the model must not open the tag again.
    assert r1_format(["<think>reason</think>summary"], think_prefilled=True) == [0.0]


def test_prefilled_seen_in_the_prompt():
    text = "reason</think>summary"
    rendered = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert r1_format([text], prompts=[rendered]) == [1.0]
    assert r1_format([text], prompts=["<|im_start|>assistant\n"]) == [0.0]
    continued = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\n"}]
    assert r1_format([text], prompts=[continued]) == [1.0]
    # A chat prompt does not show the template's generation prompt: no prefill assumed.
    assert r1_format([text], prompts=[[{"role": "user", "content": "Q <think>"}]]) == [0.0]
    # The explicit flag wins over what the prompt shows.
    assert r1_format([text], prompts=[rendered], think_prefilled=False) == [0.0]


def test_resolve_prefilled_checks_length():
    assert resolve_prefilled(2) == [False, False]
    with pytest.raises(ValueError, match="2 values for 3"):
        resolve_prefilled(3, [True, False])


def test_chat_completions_and_registry():
    chat = [[{"role": "assistant", "content": "<think>r</think>s"}], [{"role": "assistant", "content": "s"}]]
    assert r1_format(chat) == [1.0, 0.0]
    assert get_reward("r1_format") is r1_format
    assert get_reward("r1_zero_format") is r1_zero_format


def test_toy_responses_are_in_r1_format():
    problems = sample_problems(20, digits=3, split="train", seed=0)
    responses = [r1_response(p) for p in problems]
    assert r1_format(responses) == [1.0] * 20
    assert r1_zero_format(responses) == [0.0] * 20  # boxed summary, no <answer> tags
    reasoning, summary = split_think(responses[0])
    assert "\\boxed{" in summary and "</think>" not in reasoning


def test_with_think_prefilled_wraps_any_reward():
    from r1pipe.rewards.format import with_think_prefilled
    from r1pipe.rewards.language import language_consistency

    fmt = with_think_prefilled(r1_format)
    assert fmt.__name__ == "r1_format"  # TRL logs rewards by name
    assert fmt(["reason</think>summary", "<think>reason</think>summary"]) == [1.0, 0.0]
    assert fmt(["<think>reason</think>summary"], think_prefilled=[False]) == [1.0]  # a column wins
    lang = with_think_prefilled(language_consistency)
    assert lang(["计算 ok</think>结果"], language=["zh"]) == [pytest.approx(2 / 3)]
