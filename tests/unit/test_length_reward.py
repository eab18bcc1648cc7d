"""Soft overlong penalty (DAPO) and the n-gram repetition penalty (open-r1), hand-computed."""

from __future__ import annotations

import pytest

from r1pipe.rewards.length import (
    make_repetition_penalty,
    make_soft_overlong,
    overlong_penalty,
    repeated_ngram_fraction,
    repetition_penalty,
    soft_overlong,
)
from r1pipe.rewards.registry import get_reward


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (0, 0.0),
        (60, 0.0),
        (80, 0.0),  # exactly max_len - cache_len
        (81, -0.05),  # (80 - 81) / 20
        (90, -0.5),
        (99, -0.95),
        (100, -1.0),  # exactly max_len
        (101, -1.0),  # beyond
        (10_000, -1.0),
    ],
)
def test_overlong_penalty(length, expected):
    assert overlong_penalty(length, max_len=100, cache_len=20) == pytest.approx(expected)


def test_soft_overlong_uses_token_ids_then_lengths_then_words():
    fn = make_soft_overlong(max_len=10, cache_len=4)  # free up to 6
    completions = ["a b c", "a b c d e f g h"]  # 3 and 8 words
    assert fn(completions) == pytest.approx([0.0, -(8 - 6) / 4])
    ids = [[1] * 7, [1] * 12]  # tokens beat words
    assert fn(completions, completion_ids=ids) == pytest.approx([-0.25, -1.0])
    assert fn(completions, completion_lengths=[10, 6]) == pytest.approx([-1.0, 0.0])
    chat = [[{"role": "assistant", "content": "a b c d e f g"}]]
    assert fn(chat) == pytest.approx([-0.25])


def test_soft_overlong_default_and_validation():
    assert get_reward("soft_overlong") is soft_overlong
    assert soft_overlong(["x"], completion_ids=[[0] * 3584]) == [0.0]  # 4096 - 512
    assert soft_overlong(["x", "y"], completion_ids=[[0] * 3840, [0] * 4096]) == pytest.approx([-0.5, -1.0])
    for max_len, cache_len in [(100, 0), (100, 101), (100, -5)]:
        with pytest.raises(ValueError, match="cache_len"):
            make_soft_overlong(max_len, cache_len)


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("", 3, 0.0),
        ("a b", 3, 0.0),  # shorter than one n-gram
        ("a b c", 3, 0.0),  # one n-gram, unique
        ("a b c d e", 3, 0.0),  # 3 distinct of 3
        ("a b a b a b", 2, 1 - 2 / 5),  # ab ba ab ba ab: 2 distinct of 5
        ("a b c a b c", 3, 1 - 3 / 4),  # abc bca cab abc: 3 of 4
        ("x x x x x", 3, 1 - 1 / 3),  # xxx three times
        ("The cat THE cat the cat", 2, 1 - 2 / 5),  # lowercased: "the cat" x3, "cat the" x2
        ("one two\nthree  one two", 1, 1 - 3 / 5),  # any whitespace splits
    ],
)
def test_repeated_ngram_fraction(text, n, expected):
    assert repeated_ngram_fraction(text, n) == pytest.approx(expected)


def test_repetition_penalty_scaled_and_registered():
    fn = make_repetition_penalty(ngram_size=2, max_penalty=-0.5)
    assert fn(["a b a b a b", "a b c d", ""]) == pytest.approx([-0.5 * 0.6, 0.0, 0.0])
    assert get_reward("repetition_penalty") is repetition_penalty
    # Defaults: 3-grams, -1.0. "a b c a b c": 3 distinct of 4 trigrams.
    assert repetition_penalty(
        ["a b c a b c", [{"role": "assistant", "content": "a b c d"}]]
    ) == pytest.approx([-0.25, 0.0])
    assert repetition_penalty(["no repeats here at all"]) == [0.0]
    with pytest.raises(ValueError, match="<= 0"):
        make_repetition_penalty(3, 0.5)
    with pytest.raises(ValueError, match="ngram_size"):
        make_repetition_penalty(0, -1.0)
