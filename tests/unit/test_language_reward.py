"""Language consistency: the proportion of the chain of thought's words in the target language.
Counts are by hand: a Han/kana/Hangul character is one word, other words are runs of letters,
maths/code/LaTeX/digits/punctuation and single letters (variables) do not count."""

from __future__ import annotations

import pytest

from r1pipe.rewards.language import (
    consistency,
    detect_language,
    language_consistency,
    make_language_consistency,
    reasoning_of,
    words,
)
from r1pipe.rewards.registry import get_reward
from r1pipe.toy.task import chain_of_thought, r1_response, sample_problems

MATH_ZH = (
    "设 $x^2 + \\frac{1}{2} = 3$，则 \\boxed{\\frac{5}{2}}。代码 `print(x)` 和\n"
    "```python\nfor i in range(10):\n    pass\n```\n以及 \\(a+b\\) 和 \\[c = d\\] 12345 + 678 = 13023，"
    "x 与 y 的 sin 值 \\alpha https://example.com/page <tag>"
)  # Han: 设 则 代 码 和 以 及 和 与 的 值 = 11 words, everything else ignored


@pytest.mark.parametrize(
    ("cot", "target", "expected"),
    [
        ("我们先计算个位，然后计算十位。", "zh", 1.0),
        # Han 我 们 来 计 算 = 5 target, Latin use/the/formula = 3 non-target.
        ("我们 use the formula 来计算。", "zh", 5 / 8),
        # Latin We/compute/of/the/function = 5 target, Han 导 数 = 2 non-target.
        ("We compute 导数 of the function.", "en", 5 / 7),
        ("We compute the derivative.", "zh", 0.0),
        (MATH_ZH, "zh", 1.0),
        (MATH_ZH + " okay", "zh", 11 / 12),  # one countable English word among 12
        (MATH_ZH, "en", 0.0),  # the 11 Han words are all that count
        # Unicode: emoji, full-width punctuation and digits are no words.
        ("好的😀！计算：１２＋３４＝４６。", "zh", 1.0),
        ("好的，ｙｅｓ。", "zh", 2 / 3),  # full-width Latin is still Latin
        # Kana is Japanese, not Chinese: こ れ は で す = 5 non-target, 计 算 = 2 target.
        ("これは计算です", "zh", 2 / 7),
        ("한국어 计算", "zh", 2 / 5),  # 3 Hangul syllables
        ("Это 计算", "zh", 2 / 3),  # a Cyrillic word
        ("don't stop", "en", 1.0),  # an inner apostrophe keeps one word
        ("don't stop 计算", "en", 2 / 4),
        # Points, segments and short acronyms are maths, not English: 三 角 形 的 边 = 5 words.
        ("三角形 ABC 的边 AB，OK", "zh", 1.0),
        ("三角形 ABCDE 的边", "zh", 5 / 6),  # five capitals: counted
        ("1 + 2 = 3 = x, y = 4.", "zh", 1.0),  # no countable word: nothing inconsistent
        ("", "en", 1.0),
        ("我们计算", "zh-CN", 1.0),  # region subtags are dropped
        ("我们计算", "ZH", 1.0),
    ],
)
def test_consistency_table(cot, target, expected):
    assert consistency(cot, target) == pytest.approx(expected)


@pytest.mark.parametrize("target", [None, "", "xx", "klingon", 7])
def test_unknown_target_cannot_be_judged(target):
    assert consistency("We add.", target) is None
    assert language_consistency(["<think>We add.</think>ok"], language=[target]) == [None]


def test_words():
    assert words("我们 add 3 apples, カード & 한") == [
        ("Han", "我"),
        ("Han", "们"),
        ("Latin", "add"),
        ("Latin", "apples"),
        ("Kana", "カ"),
        ("Kana", "ー"),
        ("Kana", "ド"),
        ("Hangul", "한"),
    ]


def test_toy_chains_of_thought_are_consistent():
    problems = sample_problems(40, digits=4, split="train", seed=3)
    assert {p.language for p in problems} == {"en", "zh"}
    for p in problems:
        assert consistency(chain_of_thought(p), p.language) == 1.0, p
    scores = language_consistency([r1_response(p) for p in problems], language=[p.language for p in problems])
    assert scores == [1.0] * len(problems)
    # Each toy CoT in the other language scores 0: no word of it is in the target.
    swapped = ["zh" if p.language == "en" else "en" for p in problems]
    assert language_consistency([r1_response(p) for p in problems], language=swapped) == [0.0] * len(problems)


def test_only_the_chain_of_thought_counts():
    # The summary after </think> is not part of the CoT.
    assert language_consistency(["<think>我们计算</think>The answer is 5."], language=["zh"]) == [1.0]
    # Broken format: the text before the last </think>; tags are no words.
    assert language_consistency(["<think>我们<think>计算</think>The answer"], language=["zh"]) == [1.0]
    # No </think> at all: the whole text (2 Han of 2 + 2 English words).
    assert language_consistency(["我们 compute it"], language=["zh"]) == [pytest.approx(2 / 4)]
    # Prefilled <think>: the completion starts with the reasoning.
    assert language_consistency(["计算 ok</think>结果"], language=["zh"], think_prefilled=True) == [
        pytest.approx(2 / 3)
    ]
    chat = [[{"role": "assistant", "content": "<think>计算 ok</think>x"}]]
    assert language_consistency(chat, language=["zh"]) == [pytest.approx(2 / 3)]
    assert reasoning_of("<think> a b </think> c") == "a b"


def test_same_script_languages_via_lingua():
    en = "First we need to find the value of the variable."  # 10 words
    fr = "D'abord nous devons trouver la valeur de la variable."  # 9 words
    fn = make_language_consistency(("en", "fr", "zh"))
    assert fn([f"<think>{en} {fr}</think>ok"], language=["en"]) == [pytest.approx(10 / 19)]
    assert fn([f"<think>{en}</think>ok"], language=["fr"]) == [0.0]
    assert fn([f"<think>{fr} 我们</think>ok"], language=["fr"]) == [pytest.approx(9 / 11)]
    # Default candidates are R1's (en, zh): every Latin word counts as English, no ML.
    assert language_consistency([f"<think>{fr}</think>ok"], language=["en"]) == [1.0]
    # A target outside the candidates joins them: French against English, by lingua.
    assert language_consistency([f"<think>{en} {fr}</think>ok"], language=["fr"]) == [pytest.approx(9 / 19)]
    with pytest.raises(ValueError, match="unknown language codes"):
        make_language_consistency(("en", "elvish"))


def test_japanese_target_counts_kanji_and_kana():
    # ja shares Han with zh (a default candidate): lingua sees the kana and says Japanese.
    assert consistency("これは計算です", "ja") == 1.0
    assert consistency("これは計算です。 We check.", "ja") == pytest.approx(7 / 9)


def test_target_detected_from_prompt():
    problems = sample_problems(10, digits=3, split="train", seed=5)
    prompts = [p.prompt() for p in problems]
    assert [detect_language(q) for q in prompts] == [p.language for p in problems]
    responses = [r1_response(p) for p in problems]
    assert language_consistency(responses, prompts=prompts) == [1.0] * 10
    chats = [[{"role": "user", "content": q}] for q in prompts]
    assert language_consistency(responses[::-1], prompts=chats) == [
        1.0 if a.language == b.language else 0.0 for a, b in zip(problems[::-1], problems, strict=True)
    ]


def test_prompt_detection_finds_the_question():
    system = {"role": "system", "content": "You are a helpful assistant. Think step by step."}
    chat = [system, {"role": "user", "content": "计算 12 + 30。"}]
    assert language_consistency(["<think>我们计算</think>42"], prompts=[chat]) == [1.0]
    zero = "A conversation between User and Assistant. The user asks ... User: 计算 12 + 30。 Assistant:"
    assert language_consistency(["<think>我们计算</think>42"], prompts=[zero]) == [1.0]
    assert detect_language("Quelle est la somme de deux et trois ?", ("en", "fr")) == "fr"
    assert detect_language("What is the sum of two and three?", ("en", "fr")) == "en"
    # Nothing to go by (no column, no prompts): cannot judge.
    assert language_consistency(["<think>a</think>b"]) == [None]


# Rows whose language column is absent or null (OpenR1-Math has none; stage 4's prompt mix fills
# the missing column with None): the prompt decides; a prompt without words leaves the CoT's own
# main language, so a CoT is still held to one language. (Before, every such row was unjudged:
# stage 4 trained its reasoning prompts on no reward at all.)
LANGUAGE_NULL_CASES = [
    # (language column value, prompt, completion, score)
    (None, "What is 1 + 1?", "<think>We add one and one.</think>2", 1.0),
    (None, "What is 1 + 1?", "<think>我们把一和一相加。</think>2", 0.0),
    (None, "计算 1 + 1。", "<think>我们把一和一相加。</think>2", 1.0),
    ("", "What is 1 + 1?", "<think>我们把一和一相加。</think>2", 0.0),
    (None, "$1+1=$?", "<think>我们把一和一相加。</think>2", 1.0),  # no words in the prompt: one language
    (None, "$1+1=$?", "<think>We add 一和一 together now.</think>2", 4 / 7),  # mixed: held to its main one
    (None, "$1+1=$?", "<think>1 + 1 = 2</think>2", 1.0),  # no words anywhere: nothing inconsistent
    ("zh", "What is 1 + 1?", "<think>We add one and one.</think>2", 0.0),  # a given column wins
    # Words in a script no candidate uses (Thai among en, zh): not judged, and said once (a log line).
    (None, "หนึ่งบวกหนึ่งเท่ากับเท่าไร", "<think>We add one and one.</think>2", None),
    (None, "หนึ่งบวกหนึ่งเท่ากับเท่าไร", "<think>หนึ่งบวกหนึ่ง</think>2", None),
    (None, "$1+1=$?", "<think>หนึ่งบวกหนึ่ง</think>2", None),
]


@pytest.mark.parametrize(("language", "prompt", "completion", "score"), LANGUAGE_NULL_CASES)
def test_rows_without_a_language_are_judged_by_the_prompt(language, prompt, completion, score):
    chat = [{"role": "user", "content": prompt}]
    expected = [None] if score is None else [pytest.approx(score)]
    for prompts in ([prompt], [chat]):
        assert language_consistency([completion], language=[language], prompts=prompts) == expected
    if language is None:  # the column absent altogether: the same verdict
        assert language_consistency([completion], prompts=[prompt]) == expected


def test_registered():
    assert get_reward("language_consistency") is language_consistency


def test_strict_variant_catches_a_same_script_language_switch():
    from r1pipe.rewards import get_reward

    french = "<think>\nNous additionnons les unités. Ensuite nous additionnons les dizaines avec la retenue.\n</think>\n\n85"
    assert get_reward("language_consistency")([french], language=["en"]) == [1.0]  # en/zh only: by design
    assert get_reward("language_consistency_strict")([french], language=["en"]) == [0.0]
