"""Exact and near-duplicate removal and n-gram decontamination, as tables of cases."""

from __future__ import annotations

import pytest

from r1pipe.rejection.dedup import Contamination, exact_duplicates, near_duplicates, shingles

BASE = (
    "To add 47 and 38 start with the ones column where seven plus eight is fifteen so write five and "
    "carry one then the tens column four plus three plus one is eight so the answer is eighty five"
)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["a", "b", "a"], [False, False, True]),
        (["Hello  World", "hello world"], [False, True]),  # case and whitespace are folded
        (["x", "x", "x"], [False, True, True]),
        ([], []),
    ],
)
def test_exact_duplicates(texts, expected):
    assert exact_duplicates(texts) == expected


def test_shingles_of_a_short_text_are_the_whole_text():
    assert shingles("one two", 5) == {"one two"}
    assert shingles("a b c d", 3) == {"a b c", "b c d"}


@pytest.mark.parametrize(
    ("other", "duplicate"),
    [
        (BASE, True),  # identical
        (BASE.replace("eighty five", "eighty-five"), True),  # punctuation only
        (BASE + " done", True),  # one word appended: Jaccard ~0.97
        ("To add 12 and 30 the ones give two and the tens give four so the answer is forty two", False),
        ("完全不同的一段中文文字，讲的是别的事情。", False),
    ],
)
def test_near_duplicates_at_threshold_0_9(other, duplicate):
    assert near_duplicates([BASE, other], threshold=0.9, k=5, num_perm=128) == [False, duplicate]


def test_near_duplicates_keep_the_first_of_a_cluster():
    texts = [BASE, BASE + " done", BASE + " done again", "something else entirely here"]
    assert near_duplicates(texts, threshold=0.8, k=5, num_perm=128) == [False, True, True, False]


INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."  # 12 words
EVAL = [
    "Find the number of ordered pairs of positive integers whose product is 2024 and whose sum is odd.",
    "How many primes are there between 100 and 150?",
] + [f"Problem {i}: how many apples are left?" for i in range(40)]


@pytest.mark.parametrize(
    ("text", "contaminated"),
    [
        # 10 consecutive words of the first eval problem, inside other text
        ("Solve: the number of ordered pairs of positive integers whose product is 2024 please", True),
        ("Q: how many primes are there between 100 and 150? Please explain.", True),
        ("How many primes are there between 100 and 150 inclusive?", False),  # a 9-gram only
        ("Short one: 17 + 25? Think step by step.", True),  # shorter than n: the whole prompt
        ("Short one: 17 + 26?", False),
        # the instruction every eval prompt ends with is not contamination
        (f"What is 2 + 2? {INSTRUCTION}", False),
    ],
)
def test_contamination_by_word_ngrams(text, contaminated):
    short = "Short one: 17 + 25?"  # 4 words: contributes itself as one n-gram
    c = Contamination([f"{e} {INSTRUCTION}" for e in EVAL] + [short], n=10, common_share=0.05)
    assert c.contaminated(text) is contaminated


def test_without_the_common_share_rule_the_instruction_would_contaminate_everything():
    c = Contamination([f"{e} {INSTRUCTION}" for e in EVAL], n=10, common_share=1.0)
    assert c.contaminated(f"What is 2 + 2? {INSTRUCTION}")


def test_contamination_counts_chinese_characters_as_words():
    c = Contamination(["一个正方形的边长是七厘米它的面积是多少平方厘米"], n=10)
    assert c.contaminated("题目：一个正方形的边长是七厘米它的面积是多少")
    assert not c.contaminated("一个正方形的边长是八厘米")
