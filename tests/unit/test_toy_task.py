"""The toy task: held-out operand pairs stay out of every training text, the chain of thought does
correct column arithmetic in the prompt's language, and responses follow the R1 format."""

from __future__ import annotations

import re

import pytest

from r1pipe.toy.corpus import digit_facts, pretraining_documents
from r1pipe.toy.task import (
    ColumnCheck,
    Problem,
    Rework,
    SelfCheck,
    chain_of_thought,
    columns,
    copying_slip,
    plan_self_checks,
    r1_response,
    sample_problems,
    slipped_sum,
    split_of,
)

# --- splits ----------------------------------------------------------------------------------------


def _pairs(problems) -> set[tuple[int, int]]:
    """Unordered operand pairs (47+38 and 38+47 are the same problem for the split)."""
    return {tuple(sorted((p.a, p.b))) for p in problems}


@pytest.mark.parametrize(
    ("digits", "seed", "fraction"), [(1, 0, 0.1), (2, 1234, 0.1), (2, 7, 0.3), (3, 5, 0.1)]
)
def test_heldout_pairs_never_in_train(digits, seed, fraction):
    n_train = {1: 60, 2: 3000, 3: 3000}[digits]
    train = sample_problems(n_train, digits=digits, split="train", seed=seed, heldout_fraction=fraction)
    heldout = sample_problems(10, digits=digits, split="heldout", seed=seed, heldout_fraction=fraction)
    assert _pairs(train).isdisjoint(_pairs(heldout))
    assert all(split_of(p.a, p.b, fraction) == "train" for p in train)
    assert all(split_of(p.a, p.b, fraction) == "heldout" for p in heldout)


def test_samples_are_distinct_and_sized():
    problems = sample_problems(500, digits=2, split="train", seed=3)
    assert len({(p.a, p.b, p.language) for p in problems}) == 500
    assert all(10 <= p.a <= 99 and 10 <= p.b <= 99 for p in problems)
    assert {p.language for p in problems} == {"en", "zh"}


def test_sampling_is_reproducible():
    assert sample_problems(50, digits=2, split="heldout", seed=9) == sample_problems(
        50, digits=2, split="heldout", seed=9
    )


def test_asking_for_more_problems_than_exist_fails():
    with pytest.raises(ValueError, match="only"):
        sample_problems(1000, digits=1, split="heldout", seed=0)


@pytest.mark.parametrize(("a", "b"), [(47, 38), (10, 99), (1, 2), (123, 45), (5, 5)])
def test_split_is_symmetric(a, b):
    for fraction in (0.1, 0.5):
        assert split_of(a, b, fraction) == split_of(b, a, fraction)


def test_heldout_share_is_about_the_fraction():
    pairs = [(a, b) for a in range(10, 100) for b in range(a, 100)]
    share = sum(split_of(a, b) == "heldout" for a, b in pairs) / len(pairs)
    assert 0.07 < share < 0.13


# --- chain of thought ------------------------------------------------------------------------------

COLUMN = {
    "en": re.compile(
        r"^(?:Ones|Tens|Hundreds|Thousands|Ten-thousands): (\d) \+ (\d)(?: \+ (\d))? = (\d+)\. Write (\d)(?:, carry (\d))?\.$"
    ),
    "zh": re.compile(
        r"^(?:个位|十位|百位|千位|万位)：(\d) \+ (\d)(?: \+ (\d))? = (\d+)，写 (\d)(?:，进 (\d))?。$"
    ),
}
LAST_CARRY = {"en": re.compile(r"^The last carry gives (\d)\.$"), "zh": re.compile(r"^最后的进位是 (\d)。$")}
RESULT = {
    "en": re.compile(r"^Reading the written digits from the left: (\d+)\.$"),
    "zh": re.compile(r"^从左往右读出写下的数字：(\d+)。$"),
}


def check_column_arithmetic(p: Problem, cot: str) -> None:
    """Replays the reasoning: each column adds the right digits and the incoming carry."""
    lines = cot.splitlines()
    da, db = str(p.a)[::-1], str(p.b)[::-1]
    columns = [m for line in lines[1:-1] if (m := COLUMN[p.language].match(line))]
    assert len(columns) == max(len(da), len(db))
    carry, written = 0, []
    for i, m in enumerate(columns):
        x, y, c_in, total, digit, c_out = m.groups()
        assert int(x) == (int(da[i]) if i < len(da) else 0)
        assert int(y) == (int(db[i]) if i < len(db) else 0)
        assert int(c_in or 0) == carry
        assert int(total) == int(x) + int(y) + carry
        assert (int(digit), int(c_out or 0)) == (int(total) % 10, int(total) // 10)
        carry = int(c_out or 0)
        written.append(digit)
    final_carry = [m for line in lines if (m := LAST_CARRY[p.language].match(line))]
    assert [int(m.group(1)) for m in final_carry] == ([carry] if carry else [])
    result = RESULT[p.language].match(lines[-1])
    assert result and int(result.group(1)) == p.a + p.b


CASES = [(47, 38), (99, 99), (10, 90), (12, 34), (5, 123), (999, 1), (50, 50), (99999, 1)]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("a", "b"), CASES)
def test_chain_of_thought_arithmetic(a, b, language):
    p = Problem(a, b, language, 0)
    check_column_arithmetic(p, chain_of_thought(p))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_final_carry_is_written(language):
    cot = chain_of_thought(Problem(99, 99, language, 0))
    assert ("The last carry gives 1." if language == "en" else "最后的进位是 1。") in cot
    assert "198" in cot.splitlines()[-1]


def test_chain_of_thought_on_many_samples():
    for p in sample_problems(300, digits=3, split="train", seed=11):
        check_column_arithmetic(p, chain_of_thought(p))


def test_five_digit_operands_are_supported():
    p = Problem(12345, 98765, "en", 0)
    check_column_arithmetic(p, chain_of_thought(p))


# --- the self-check (the "aha" material) ------------------------------------------------------------

OPENING = {
    "en": re.compile(r"^We add (\d+) and (\d+) column by column, starting from the ones\.$"),
    "zh": re.compile(r"^从个位开始，逐位把 (\d+) 和 (\d+) 相加。$"),
}


@pytest.mark.parametrize("seed", range(5))
def test_a_copying_slip_changes_one_digit_of_one_operand(seed):
    import random

    rng = random.Random(seed)
    for p in sample_problems(200, digits=3, split="train", seed=seed):
        wa, wb = copying_slip(p, rng)
        changed = [(x, w) for x, w in ((p.a, wa), (p.b, wb)) if x != w]
        assert len(changed) == 1
        ((x, w),) = changed
        assert len(str(w)) == len(str(x)), "the slip keeps the number of digits"
        assert sum(c != d for c, d in zip(str(x), str(w), strict=True)) == 1


def test_plan_self_checks_follows_the_fractions_and_the_seed():
    problems = sample_problems(4000, digits=2, split="train", seed=1)
    plan = plan_self_checks(problems, fraction=0.2, slip_fraction=0.5, seed=1)
    checks = [c for c in plan if c]
    assert 0.17 < len(checks) / len(plan) < 0.23
    assert 0.4 < sum(c.kind == "correct" for c in checks) / len(checks) < 0.6
    assert plan == plan_self_checks(problems, fraction=0.2, slip_fraction=0.5, seed=1)
    assert plan_self_checks(problems, fraction=0.0, slip_fraction=0.5, seed=1) == [None] * len(problems)
    for p, c in zip(problems, plan, strict=True):
        if c and c.kind == "confirm":
            assert c.written == (p.a, p.b)
        if c and c.kind == "correct":
            assert c.written != (p.a, p.b)


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("a", "b"), CASES)
def test_a_correcting_check_names_the_slip_and_the_sum_uses_the_questions_operands(a, b, language):
    p = Problem(a, b, language, 0)
    slip = (a + 1 if a % 10 != 9 else a - 1, b)
    cot = chain_of_thought(p, SelfCheck("correct", slip))
    lines = cot.splitlines()
    opening = OPENING[language].match(lines[0])
    assert opening and (int(opening.group(1)), int(opening.group(2))) == slip, "the opening line has the slip"
    expected = {
        "en": f"Wait, check the question: {a} + {b}, not {slip[0]} + {slip[1]}. Redo.",
        "zh": f"等等，检查题目：{a} + {b}，不是 {slip[0]} + {slip[1]}，重新算。",
    }
    assert lines[1] == expected[language]
    check_column_arithmetic(p, cot)  # the columns add the question's digits and reach a + b


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_confirming_check_keeps_the_arithmetic(language):
    p = Problem(47, 38, language, 0)
    cot = chain_of_thought(p, SelfCheck("confirm", (47, 38)))
    lines = cot.splitlines()
    assert OPENING[language].match(lines[0]).groups() == ("47", "38")
    assert lines[1] == (
        "Wait, check the question: 47 + 38. Yes." if language == "en" else "等等，检查题目：47 + 38，没错。"
    )
    check_column_arithmetic(p, cot)


@pytest.mark.parametrize("kind", ["confirm", "correct"])
def test_checks_count_as_reflection_in_both_languages(kind):
    from r1pipe.config.schema import REFLECTIVE_WORDS

    for language in ("en", "zh"):
        p = Problem(47, 38, language, 0)
        written = (47, 38) if kind == "confirm" else (41, 38)
        text = r1_response(p, SelfCheck(kind, written)).lower()
        assert any(word in text for word in REFLECTIVE_WORDS)
        assert not any(word in r1_response(p).lower() for word in REFLECTIVE_WORDS), "no check, no reflection"


@pytest.mark.parametrize("kind", ["confirm", "correct"])
def test_a_chinese_check_has_no_english_words(kind):
    p = Problem(47, 38, "zh", 0)
    cot = chain_of_thought(p, SelfCheck(kind, (47, 38) if kind == "confirm" else (47, 39)))
    assert re.search(r"[A-Za-z]", cot) is None


def test_cold_start_set_carries_the_configured_share_of_checks():
    from r1pipe.data.loading import toy_cold_start
    from r1pipe.pipeline.compose import compose_config

    cfg = compose_config(["data.toy.cold_start_examples=400", "data.toy.self_check_fraction=0.25"])
    rows = toy_cold_start(cfg.data.toy)
    checked = [r for r in rows if re.search("Wait, check|等等，检查", r["messages"][1]["content"])]
    assert 0.18 < len(checked) / len(rows) < 0.32
    plain = toy_cold_start(compose_config(["data.toy.cold_start_examples=400"]).data.toy)
    assert not any(re.search("Wait, check|等等，检查", r["messages"][1]["content"]) for r in plain), (
        "off by default"
    )


# --- the R1 response format ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("a", "b"), CASES)
def test_r1_response_format(a, b, language):
    p = Problem(a, b, language, 0)
    text = r1_response(p)
    assert text.count("<think>") == 1 and text.count("</think>") == 1
    assert text.startswith("<think>\n") and text.index("<think>") < text.index("</think>")
    summary = text.split("</think>", 1)[1]
    assert f"\\boxed{{{a + b}}}" in summary


@pytest.mark.parametrize(("a", "b"), CASES)
def test_chinese_reasoning_has_no_english_words(a, b):
    p = Problem(a, b, "zh", 0)
    assert re.search(r"[A-Za-z]", chain_of_thought(p)) is None
    # In the whole response, only the format markup is Latin: the think tags and \boxed.
    markup_free = r1_response(p).replace("<think>", "").replace("</think>", "").replace("\\boxed", "")
    assert re.search(r"[A-Za-z]", markup_free) is None


@pytest.mark.parametrize("template", range(4))
def test_prompts_carry_language_and_box_instruction(template):
    en, zh = Problem(12, 34, "en", template).prompt(), Problem(12, 34, "zh", template).prompt()
    assert "12" in en and "34" in en and "\\boxed{}" in en
    assert "\\boxed{}" in zh and re.search(r"[\u4e00-\u9fff]", zh)


# --- the pretraining corpus ------------------------------------------------------------------------


def mentions_pair(doc: str, a: int, b: int) -> bool:
    """Whether a document states the equation of a+b (either order), in any of its sentence forms."""
    for x, y in ((a, b), (b, a)):
        for form in (
            rf"{x} \+ {y} = ",
            rf"{x} and {y}",
            rf"{x} plus {y}",
            rf"{x} 加 {y}",
            rf"{x} 和 {y}",
            rf"{x} 与 {y}",
        ):
            if re.search(rf"(?<!\d){form}", doc):
                return True
    return False


def test_mentions_pair_detector():
    assert mentions_pair("1 + 2 = 3\n47 + 38 = 85.", 47, 38)
    assert mentions_pair("38 加 47 等于 85。", 47, 38)
    assert not mentions_pair("147 + 38 = 185.", 47, 38)


# Every way the corpus puts two operands together ("47 + 38", "47 and 38", "把 47 和 38 相加", ...).
PAIR_IN_TEXT = re.compile(r"(?<!\d)(\d{2}) (?:\+|and|plus|加|和|与) (\d{2})(?!\d)")


def test_pretraining_never_states_heldout_equations():
    heldout = sample_problems(50, digits=2, split="heldout", seed=1234)
    docs = pretraining_documents(1000, digits=2, seed=0)
    assert len(docs) == 1000
    leaks = [(p.a, p.b) for p in heldout for doc in docs if mentions_pair(doc, p.a, p.b)]
    assert leaks == []
    # Stronger: no operand pair anywhere in the corpus (questions, worked chains, self-checks that
    # name a miscopied pair) is a held-out one.
    pairs = {(int(a), int(b)) for doc in docs for a, b in PAIR_IN_TEXT.findall(doc)}
    assert len(pairs) > 500
    assert [pair for pair in pairs if split_of(*pair) == "heldout"] == []
    # A base model's text, not the R1 chat format: cold start teaches the chat turns.
    assert not any("<|im_start|>" in doc or "<|im_end|>" in doc or "<think>\n" in doc for doc in docs)


def test_pretraining_corpus_mixes_its_kinds_in_both_languages():
    from r1pipe.toy.corpus import CORPUS_MIX

    docs = pretraining_documents(2000, digits=2, seed=0)
    questions = [d for d in docs if "\\boxed{}" in d]  # the task's prompt asks for a box
    worked = [d for d in questions if "Ones:" in d or "个位：" in d]
    tagged = [d for d in questions if "<answer>" in d]
    general = [d for d in docs if d not in questions and ("Assistant: " in d or "助手：" in d)]
    assert abs(len(questions) / len(docs) - CORPUS_MIX["questions"]) < 0.03
    assert abs(len(general) / len(docs) - CORPUS_MIX["general"]) < 0.03
    assert 0.5 < len(worked) / len(questions) < 0.7  # worked answers, and half the tagged ones
    assert 0.15 < len(tagged) / len(questions) < 0.25
    assert any("等等，检查题目" in d for d in docs) and any("Wait, check the question" in d for d in docs)
    drifted = [d for d in worked if ("Ones:" in d) != d.split("\n")[0].isascii()]
    assert drifted  # some worked chains drift into the other language


@pytest.mark.parametrize("seed", [0, 1])
def test_the_corpus_answers_follow_their_reasoning_and_some_are_wrong_as_on_the_web(seed):
    from r1pipe.toy.corpus import AnswerMix, question_answer_documents

    question = re.compile(r"(\d+) (?:\+|and|和|与) (\d+)")
    read_off = re.compile(r"(?:from the left: |读出写下的数字：)(\d+)")
    worked_wrong, worked, direct_wrong, direct = 0, 0, 0, 0
    for doc in question_answer_documents(2000, digits=2, seed=seed):
        a, b = map(int, question.search(doc).groups())
        answers = [int(x or y) for x, y in re.findall(r"\\boxed\{(\d+)\}|<answer> (\d+) </answer>", doc)]
        assert len(answers) == 1, doc
        chain_result = read_off.search(doc)
        if chain_result:  # a worked answer ends with the number its columns wrote, right or not
            assert answers[0] == int(chain_result.group(1)), doc
            worked += 1
            worked_wrong += answers[0] != a + b
        else:
            assert f"{a} + {b} = {answers[0]}" in doc, doc
            direct += 1
            direct_wrong += answers[0] != a + b
    mix = AnswerMix()
    # Worked answers go wrong only where the sum has a carry to forget (most 2-digit pairs).
    assert 0.6 * mix.wrong_worked < worked_wrong / worked < mix.wrong_worked
    assert abs(direct_wrong / direct - mix.wrong_direct) < 0.05
    assert worked_wrong / worked < direct_wrong / direct  # reasoning pays


@pytest.mark.parametrize(
    ("a", "b", "dropped"), [(47, 38, 75), (99, 99, 188), (62, 60, 22), (12, 34, 46), (95, 5, 90)]
)
def test_a_dropped_carry_forgets_the_first_carry_only(a, b, dropped):
    from r1pipe.toy.task import columns

    assert columns(a, b)[1] == a + b
    assert columns(a, b, drop_carry=True)[1] == dropped
    p = Problem(a, b, "en", 0)
    chain = chain_of_thought(p, drop_carry=True)
    assert chain.endswith(f"from the left: {dropped}.")
    assert chain_of_thought(p, drop_carry=False) == chain_of_thought(p)


def test_general_documents_never_answer_a_heldout_number_word_request():
    from r1pipe.toy.number_words import number_word_request, number_word_split
    from r1pipe.toy.preferences import general_documents, number_word_statement

    text = "\n".join(general_documents(2000, seed=0))
    combos = [(d, i, a) for d in range(10) for i in ("en", "zh") for a in ("en", "zh")]
    for digit, into, asked in combos:
        seen = number_word_statement(digit, into, asked) in text
        assert seen == (number_word_split(digit, into, asked) == "train"), (digit, into, asked)
        if number_word_split(digit, into, asked) == "heldout":
            assert number_word_request(digit, into, asked) not in text


def test_smaller_heldout_fraction_stays_inside_the_pretraining_heldout():
    # Validation refuses shares above PRETRAIN_HELDOUT_FRACTION for the toy base (test_config);
    # smaller shares pick a subset of the pairs the base never saw.
    heldout = sample_problems(50, digits=2, split="heldout", seed=1234, heldout_fraction=0.05)
    docs = pretraining_documents(1000, digits=2, seed=0)
    assert [(p.a, p.b) for p in heldout for doc in docs if mentions_pair(doc, p.a, p.b)] == []


def test_digit_facts_cover_every_column_sum():
    facts = set(digit_facts())
    assert "9 + 9 = 18" in facts and "9 + 9 + 1 = 19" in facts and len(facts) == 200


def test_non_reasoning_examples_are_r1_format_chats_in_both_languages():
    from r1pipe.toy.preferences import non_reasoning_examples

    rows = non_reasoning_examples(40, seed=3)
    assert {r["language"] for r in rows} == {"en", "zh"} and {r["task"] for r in rows} == {"general"}
    for row in rows:
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert assistant["content"].startswith("<think>\n") and "\n</think>\n\n" in assistant["content"]
        assert assistant["content"].split("</think>\n\n", 1)[1].strip(), "a non-empty summary"
    assert non_reasoning_examples(40, seed=3) == rows, "deterministic for a seed"


def test_a_language_switch_keeps_the_opening_line_and_writes_the_rest_in_the_other_language():
    from r1pipe.rewards import language_consistency
    from r1pipe.toy.task import plan_language_switches, summary

    problems = sample_problems(400, digits=2, split="train", seed=5)
    p = next(q for q in problems if q.language == "zh")
    switched = r1_response(p, switch=True)
    assert switched.split("\n")[1] == r1_response(p).split("\n")[1], "the opening line is unchanged"
    assert "Ones:" in switched and "个位：" not in switched and switched.endswith(summary(p))
    (mixed,) = language_consistency([switched], language=["zh"])
    assert mixed is not None and mixed <= 0.6  # half its words in the other language
    assert language_consistency([r1_response(p)], language=["zh"]) == [1.0]
    plan = plan_language_switches(problems, 0.25, seed=5)
    assert 0.18 < sum(plan) / len(plan) < 0.32 and plan == plan_language_switches(problems, 0.25, seed=5)
    assert not any(plan_language_switches(problems, 0.0, seed=5))


# --- column checks (data.toy.self_check_target=column) ----------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_column_check_after_a_slip_names_it_and_the_chain_goes_on_from_the_right_total(language):
    p = Problem(38, 82, language, 0)  # tens: 3 + 8 + 1 = 12
    lines = chain_of_thought(p, ColumnCheck(1, slip=11)).splitlines()
    tens = lines.index(next(line for line in lines if line.startswith(("Tens", "十位"))))
    assert lines[tens] == (
        "Tens: 3 + 8 + 1 = 11. Write 1, carry 1."
        if language == "en"
        else "十位：3 + 8 + 1 = 11，写 1，进 1。"
    )
    assert lines[tens + 1] == (
        "Wait, check: 3 + 8 + 1 = 12, not 11. Write 2, carry 1."
        if language == "en"
        else "等等，检查：3 + 8 + 1 = 12，不是 11。写 2，进 1。"
    )
    assert lines[-1].endswith(("120.", "120。")), "the answer is the right sum"


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("a", "b"), CASES)
def test_a_confirming_column_check_keeps_every_column_right(a, b, language):
    p = Problem(a, b, language, 0)
    cot = chain_of_thought(p, ColumnCheck(0))
    assert cot.splitlines()[2].startswith(("Wait, check: ", "等等，检查：")) and cot.splitlines()[2].endswith(
        ("Yes.", "没错。")
    )
    check_column_arithmetic(p, cot)


def test_plan_column_checks_slip_by_one_in_a_real_column():
    problems = sample_problems(400, digits=2, split="train", seed=0)
    plan = plan_self_checks(problems, fraction=0.5, slip_fraction=0.5, seed=1, target="column")
    checks = [(p, c) for p, c in zip(problems, plan, strict=True) if c]
    assert all(isinstance(c, ColumnCheck) for _, c in checks) and 150 < len(checks) < 250
    slips = [(p, c) for p, c in checks if c.slip is not None]
    assert 50 < len(slips) < 150
    for p, c in slips:
        assert abs(c.slip - columns(p.a, p.b)[0][c.column].total) == 1 and c.slip >= 0
        assert str(p.a + p.b) in r1_response(p, c).rsplit("</think>", 1)[1]


# --- reworked direct answers (data.toy.self_check_target=rework) ------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("a", "b"), CASES)
def test_a_reworked_guess_is_followed_by_the_full_column_work_whose_result_stands(a, b, language):
    p = Problem(a, b, language, 0)
    wrong = a + b + 1
    lines = chain_of_thought(p, Rework(wrong, worked=True)).splitlines()
    assert lines[0] == f"{a} + {b} = {wrong}" + ("." if language == "en" else "。"), "the guess first"
    assert lines[1] == (
        "Wait, let me work it out column by column." if language == "en" else "等等，我逐位重新算一遍。"
    )
    check_column_arithmetic(p, "\n".join(lines[2:]))  # the columns reach a + b, not the guess
    assert f"{{{a + b}}}" in r1_response(p, Rework(wrong, worked=True)), "the boxed answer is the worked one"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_unworked_guess_is_the_whole_chain_and_has_no_reflection(language):
    from r1pipe.config.schema import REFLECTIVE_WORDS

    p = Problem(47, 38, language, 0)
    assert chain_of_thought(p, Rework(85, worked=False)) == "47 + 38 = 85" + (
        "." if language == "en" else "。"
    )
    assert not any(w in r1_response(p, Rework(85, worked=False)).lower() for w in REFLECTIVE_WORDS)
    assert any(w in r1_response(p, Rework(85, worked=True)).lower() for w in REFLECTIVE_WORDS)


def test_a_chinese_rework_has_no_english_words():
    cot = chain_of_thought(Problem(47, 38, "zh", 0), Rework(84, worked=True))
    assert re.search(r"[A-Za-z]", cot) is None


def test_plan_rework_checks_the_fraction_and_only_checked_guesses_slip():
    problems = sample_problems(400, digits=2, split="train", seed=0)
    plan = plan_self_checks(problems, fraction=0.5, slip_fraction=0.5, seed=1, target="rework")
    assert all(isinstance(c, Rework) for c in plan), "every chain opens with a direct answer"
    worked = [(p, c) for p, c in zip(problems, plan, strict=True) if c.worked]
    assert 150 < len(worked) < 250
    assert all(c.guess == p.answer for p, c in zip(problems, plan, strict=True) if not c.worked)
    assert 50 < sum(c.guess != p.answer for p, c in worked) < 150


def test_a_slipped_sum_is_wrong_by_a_forgotten_carry_or_one():
    import random

    rng = random.Random(0)
    for p in sample_problems(300, digits=2, split="train", seed=2):
        wrong = slipped_sum(p, rng)
        assert wrong != p.answer
        assert wrong in (columns(p.a, p.b, drop_carry=True)[1], p.answer - 1, p.answer + 1)


def test_the_aha_preset_opens_every_chain_with_a_direct_answer_and_checks_a_minority():
    from r1pipe.data.loading import toy_cold_start
    from r1pipe.pipeline.compose import compose_config

    cfg = compose_config(["experiment=toy_aha", "data.toy.cold_start_examples=400"])
    assert list(cfg.pipeline.stages) == ["cold_start", "reasoning_rl"]
    rows = [r["messages"][1]["content"] for r in toy_cold_start(cfg.data.toy)]
    assert all(re.match(r"<think>\n\d+ \+ \d+ = \d+[.。]\n", r) for r in rows)
    worked = [r for r in rows if re.search("Wait, let me work it out|等等，我逐位重新算一遍", r)]
    assert 0.3 < len(worked) / len(rows) < 0.5


def test_the_language_mix_preset_switches_a_fifth_of_the_chains_and_keeps_the_language_reward():
    from r1pipe.data.loading import toy_cold_start
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.rewards.language import language_consistency

    cfg = compose_config(["experiment=toy_language_mix", "data.toy.cold_start_examples=400"])
    assert list(cfg.pipeline.stages) == ["cold_start", "reasoning_rl"]
    assert "language_consistency" in cfg.reward.funcs, "the ablation's 'with' run is the default"
    rows = toy_cold_start(cfg.data.toy)
    scores = language_consistency(
        [r["messages"][1]["content"] for r in rows], language=[r["language"] for r in rows]
    )
    mixed = sum(score is not None and score < 0.9 for score in scores) / len(rows)
    assert 0.13 < mixed < 0.27
