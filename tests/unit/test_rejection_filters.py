"""Readability filters of rejection sampling, as tables of cases."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from r1pipe.config.schema import ReadabilityConfig
from r1pipe.rejection.filters import (
    failed_filters,
    has_code_block,
    longest_paragraph,
    repeated_ngram_share,
    word_tokens,
)

READABILITY = OmegaConf.structured(ReadabilityConfig(max_paragraph_chars=80, max_tokens=50))


@pytest.mark.parametrize(
    ("cot", "expected"),
    [
        ("", 0),
        ("short", 5),
        ("one\n\ntwo three", 9),
        ("a\n  \nbbbb", 4),  # a blank line may hold spaces
        ("line one\nline two", 17),  # a single newline does not end a paragraph
    ],
)
def test_longest_paragraph(cot, expected):
    assert longest_paragraph(cot) == expected


@pytest.mark.parametrize(
    ("cot", "expected"),
    [("no code here", False), ("```python\nprint(1)\n```", True), ("inline `x` only", False)],
)
def test_has_code_block(cot, expected):
    assert has_code_block(cot) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is 47 + 38?", ["what", "is", "47", "38"]),
        ("计算 33 + 27。", ["计", "算", "33", "27"]),  # one word per Han character
        ("Don't stop_now", ["don", "t", "stop", "now"]),
    ],
)
def test_word_tokens(text, expected):
    assert word_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("a b c d e f", 2, 0.0),  # every bigram new
        ("a b a b a b", 2, 0.6),  # 5 bigrams, 2 distinct
        ("x y", 4, 0.0),  # shorter than n
        ("wait " * 20, 4, 16 / 17),  # a loop
    ],
)
def test_repeated_ngram_share(text, n, expected):
    assert repeated_ngram_share(text, n) == pytest.approx(expected)


GOOD_EN = "<think>\nAdd the ones: 7 + 8 = 15, write 5, carry 1.\n</think>\n\nThe answer is 85."
MIXED = "<think>\nAdd the ones 个位相加 then the tens.\n</think>\n\n85"
CODE = "<think>\nLet me compute.\n```python\nprint(47 + 38)\n```\n</think>\n\n85"
LONG = (
    "<think>\nFirst the ones column gives fifteen, so five is written and one is carried over to "
    "the tens column, which then sums to eight.\n</think>\n\n85"
)
LOOP = "<think>\n" + "wait let me check again " * 10 + "\n</think>\n\n85"


@pytest.mark.parametrize(
    ("text", "tokens", "language", "expected"),
    [
        (GOOD_EN, 30, "en", []),
        (MIXED, 30, "en", ["mixed_language"]),
        (CODE, 30, "en", ["code_in_cot"]),
        (LONG, 30, "en", ["long_paragraph"]),
        (LOOP, 30, "en", ["long_paragraph", "repetition"]),
        (GOOD_EN, 51, "en", ["too_long"]),
        (GOOD_EN, 30, None, []),  # no language column: the prompt's language (English) is the target
        (MIXED, 30, None, ["mixed_language"]),
    ],
)
def test_failed_filters_names_each_failing_filter(text, tokens, language, expected):
    assert failed_filters([text], [tokens], [language], ["What is 47 + 38?"], READABILITY) == [expected]


def test_filters_can_be_switched_off():
    loose = OmegaConf.structured(
        ReadabilityConfig(
            min_language_consistency=0.0,
            max_paragraph_chars=0,
            allow_code_in_cot=True,
            max_repeated_ngram_share=1.0,
            max_tokens=None,
        )
    )
    texts = [MIXED, CODE, LONG, LOOP]
    assert failed_filters(texts, [10**6] * 4, ["en"] * 4, ["q"] * 4, loose) == [[], [], [], []]
