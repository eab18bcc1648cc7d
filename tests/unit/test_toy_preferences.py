"""The toy general prompts and preference pairs stage 4's toy reward models learn from: deterministic,
both languages, and shaped like what each judge scores (helpfulness: summaries; harmlessness:
whole responses, reasoning included)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from r1pipe.rewards.general import general_match
from r1pipe.toy.number_words import EN_NUMBER_WORDS, ZH_NUMBER_WORDS
from r1pipe.toy.preferences import (
    GENERAL_TASK,
    JUDGES,
    NUMBER_WORD_TASK,
    PAIRS,
    every_request,
    general_prompts,
    general_rows,
    harmlessness_pairs,
    helpfulness_pairs,
    misspelt,
    off_topic_answers,
    r1_text,
    spliced,
    wrong_answers,
)


@pytest.mark.parametrize("judge", JUDGES)
def test_pairs_are_deterministic_and_depend_on_the_seed(judge):
    assert PAIRS[judge](64, seed=3) == PAIRS[judge](64, seed=3)
    assert PAIRS[judge](64, seed=3) != PAIRS[judge](64, seed=4)


@pytest.mark.parametrize("judge", JUDGES)
def test_every_pair_prefers_a_different_response(judge):
    pairs = PAIRS[judge](200, seed=0)
    assert len(pairs) == 200
    assert all(p["prompt"] and p["chosen"] and p["chosen"] != p["rejected"] for p in pairs)


def test_helpfulness_pairs_are_summaries():
    # A `target: summary` judge never sees the reasoning, so it must not train on any.
    pairs = helpfulness_pairs(200, seed=0)
    assert not any("</think>" in p["chosen"] or "</think>" in p["rejected"] for p in pairs)
    rejected = Counter(p["rejected"] for p in pairs)
    assert rejected[""] > 0, "an empty summary is among the unhelpful answers"
    assert any("\\boxed{" in r for r in rejected), "so is an addition answer to a non-addition request"


def test_harmlessness_pairs_are_whole_responses_with_rudeness_in_summary_or_reasoning():
    pairs = harmlessness_pairs(200, seed=0)
    assert all(p["chosen"].startswith("<think>\n") and "\n</think>\n\n" in p["chosen"] for p in pairs)
    assert all(p["rejected"].startswith("<think>\n") and "\n</think>\n\n" in p["rejected"] for p in pairs)

    def summary(text: str) -> str:
        return text.split("</think>")[1].strip()

    polite_summary = [p for p in pairs if summary(p["rejected"]) == summary(p["chosen"])]
    assert polite_summary, "some rejected responses differ only in their reasoning (the judge must read it)"


@pytest.mark.parametrize(
    ("prompt_contains", "answer"),
    [
        ("digit 7 as an English word", "seven"),
        ("digit 7 in Chinese", "七"),
        ("数字 7 的英文单词", "seven"),
        ("数字 7 的中文写法", "七"),
        ("sky", "Blue."),
        ("天空", "蓝色。"),
    ],
)
def test_general_prompt_answers(prompt_contains, answer):
    found = [p for p in general_prompts(800, seed=0) if prompt_contains in p.prompt]
    assert found and all(answer in p.answers for p in found)


def test_general_prompts_cover_every_kind_in_both_languages():
    prompts = general_prompts(16, seed=0)
    assert Counter(p.language for p in prompts) == {"en": 8, "zh": 8}
    assert {p.kind for p in prompts} >= {"greeting", "number_word", "thanks"}
    assert general_prompts(16, seed=0, languages=("zh",))[0].language == "zh"


def test_general_rows_are_stage_four_dataset_rows():
    """Judged kinds carry no answer (task general); number-word requests carry their one right
    word as the general benchmark does and take the rule route (task number_word)."""
    rows = general_rows(12, seed=1)
    judged = [r for r in rows if r["task"] == GENERAL_TASK]
    words = [r for r in rows if r["task"] == NUMBER_WORD_TASK]
    assert len(judged) == 9 and len(words) == 3 and all(r["id"].endswith("number_word") for r in words)
    assert all(r["answer"] == "" for r in judged)
    for r in words:
        (word,) = json.loads(r["answer"])
        assert word in EN_NUMBER_WORDS + ZH_NUMBER_WORDS
        assert general_match([r1_text("x", word)], answer=[r["answer"]]) == [1.0]
        assert general_match([r1_text("x", "nine" if word != "nine" else "one")], answer=[r["answer"]]) == [
            0.0
        ]
    assert all(r["language"] in ("en", "zh") and r["prompt"] for r in rows)
    assert len({r["id"] for r in rows}) == 12


# What a model fresh from stage 3 writes to general requests (measured: a third of its answers
# answer another request, a quarter are misspelt or broken): the helpfulness pairs must reject
# both, or stage 4's judge pays for them and the general benchmark cannot rise.
@pytest.mark.parametrize(
    ("prompt", "gamed"),
    [
        ("Say hello.", "Blue."),  # a good answer to another request
        ("Thank you!", "Hello! How can I help you today?"),
        ("请打个招呼。", "不客气！"),
        ("晴天的天空是什么颜色？", "你好！很高兴见到你。"),
        # Number words, in either language, to any other kind of request: measured in stage 4, a
        # judge that never saw them rejected scored "three" above "Blue." for "Name a colour.".
        ("Name a colour.", "three"),
        ("谢谢你！", "二"),
        ("Say hello.", "五"),
    ],
)
def test_off_topic_answers_answer_another_request(prompt, gamed):
    found = [p for p in general_prompts(400, seed=0) if p.prompt == prompt]
    assert found and all(gamed in off_topic_answers(p) for p in found)
    assert all(not set(off_topic_answers(p)) & set(p.answers) for p in general_prompts(400, seed=0))


def test_misspelt_answers_are_never_good_ones():
    rng = random.Random(0)
    for p in general_prompts(400, seed=0):
        for answer in p.answers:
            wrong = misspelt(answer, p.answers, rng)
            assert wrong not in p.answers and _one_letter_off(wrong, answer)


def test_helpfulness_pairs_reject_off_topic_and_misspelt_answers():
    pairs = helpfulness_pairs(400, seed=0)
    prompts = {p.prompt: p for p in general_prompts(400, seed=0)}
    off_topic = [p for p in pairs if p["rejected"] in off_topic_answers(prompts[p["prompt"]])]
    misspelt_ = [
        p for p in pairs if any(_one_letter_off(p["rejected"], a) for a in prompts[p["prompt"]].answers)
    ]
    assert len(off_topic) > 20 and len(misspelt_) > 20


def test_every_kind_of_off_topic_answer_is_rejected_often():
    """Each kind of wrong answer a request gets (greetings, thanks, colours, number words) is drawn
    alike, not in proportion to how many answers it has: drawn from all 26 alike, "蓝色。" was
    rejected against a Chinese greeting twice in 3,000 pairs, the judge paid it above the greeting,
    and stage 4's policy answered every Chinese greeting with it (seed 44)."""
    pairs = helpfulness_pairs(3000, seed=0)
    requests = {p.prompt: p for p in every_request()}
    colours_to_zh_greetings = [
        p
        for p in pairs
        if requests[p["prompt"]].kind == "greeting"
        and requests[p["prompt"]].language == "zh"
        and p["rejected"] in ("蓝色。", "红色。", "绿色。", "黄色。")
    ]
    assert len(colours_to_zh_greetings) >= 10


def _one_letter_off(text: str, answer: str) -> bool:
    """`text` is `answer` with one character dropped, doubled or replaced."""
    return any(
        text in (answer[:i] + answer[i + 1 :], answer[:i] + answer[i] + answer[i:])
        or (len(text) == len(answer) and text[:i] == answer[:i] and text[i + 1 :] == answer[i + 1 :])
        for i in range(len(answer))
    )


def test_helpfulness_pairs_reject_a_good_answer_in_the_other_language_for_every_kind_but_number_words():
    # Measured in stage 4: a judge that never saw "蓝色。" rejected for "Name a colour." paid it 0.96.
    pairs = helpfulness_pairs(3000, seed=0)  # what the judge trains on
    wrong_language = {
        "Name a colour.": {"蓝色。", "红色。", "绿色。", "黄色。"},
        "请说出一种颜色。": {"Blue.", "Red.", "Green.", "Yellow."},
        "Say hello.": {"你好！很高兴见到你。", "你好！有什么可以帮你的吗？"},
        "Thank you!": {"不客气！", "很高兴能帮到你！"},
    }
    for prompt, gamed in wrong_language.items():
        assert any(p["prompt"] == prompt and p["rejected"] in gamed for p in pairs), prompt


def test_every_request_is_each_distinct_general_request_once():
    requests = every_request()
    assert len({p.prompt for p in requests}) == len(requests) == 54
    assert Counter(p.kind for p in requests)["number_word"] == 40  # 10 digits x 2 words x 2 languages


def test_wrong_answers_are_all_wrong_by_the_general_benchmark_rule_and_good_answers_right():
    # The judge check (scripts/toy_judge_check.py) counts a judge right when a good answer outscores
    # all of these; the rule judge of the general benchmark must agree on which is which.
    for p in every_request():
        wrong = wrong_answers(p)
        assert "" in wrong and ("三" in wrong) == (p.answers != ("三",))
        scores = general_match(
            [f"<think>\nx\n</think>\n\n{a}" for a in [*p.answers, *wrong]],
            [list(p.answers)] * (len(p.answers) + len(wrong)),
        )
        assert scores == [1.0] * len(p.answers) + [0.0] * len(wrong), p.prompt


def test_spliced_answers_join_a_good_and_a_wrong_answer_and_are_never_good():
    # What stage 4's policy wrote to every request once its judge paid for it (0.96):
    # "Blue！有什么可以帮你的吗？" to "请打个招呼。", "Y! How can I help you today?".
    rng = random.Random(0)
    for p in every_request():
        for _ in range(5):
            text = spliced(p, rng)
            assert general_match([f"<think>\nx\n</think>\n\n{text}"], [list(p.answers)]) == [0.0], (
                p.prompt,
                text,
            )
    greeting = next(p for p in every_request() if p.prompt == "请打个招呼。")
    assert "黄色！有什么可以帮你的吗？" in {spliced(greeting, rng) for _ in range(300)}


def test_the_judge_check_adds_the_wrong_answers_a_run_recorded(tmp_path):
    """scripts/toy_judge_check.py --written RUN: what the policy wrote joins the wrong answers."""
    import importlib.util
    import json
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "toy_judge_check.py"
    spec = importlib.util.spec_from_file_location("toy_judge_check", script)
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    records = tmp_path / "04_all_scenario_rl" / "eval" / "after"
    records.mkdir(parents=True)
    row = {"prompt": "Say hello.", "answers": ["Hello! How can I help you today?", "Blue! Hello!", None]}
    row["scores"] = [1.0, 0.0, 0.0]
    (records / "general.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert check.written_wrong_answers(tmp_path) == {"Say hello.": {"Blue! Hello!"}}
