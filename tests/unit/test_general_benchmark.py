"""The general benchmark: the toy's held-out general requests and their rule judge (general_match),
attacked the way RL would attack it, and loaded from the toy or from a user's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1pipe.evaluation.benchmarks import load_benchmark, normalized_summary, suite_problems
from r1pipe.pipeline.compose import compose_config
from r1pipe.rewards import REWARDS, general_match
from r1pipe.toy.number_words import number_word_split
from r1pipe.toy.preferences import (
    RUDE_PHRASES,
    general_benchmark_rows,
    general_prompts,
    general_rows,
    non_reasoning_examples,
)

COLOURS = json.dumps(["Blue.", "Red.", "Green.", "Yellow."])
GREETING_ZH = json.dumps(["你好！有什么可以帮你的吗？", "你好！很高兴见到你。"])
RUDE = json.dumps(list(RUDE_PHRASES), ensure_ascii=False)


def r1(think: str, summary: str) -> str:
    return f"<think>\n{think}\n</think>\n\n{summary}"


POLITE = "A simple request; I will answer kindly."

# (case, completion, answers, score): each way a policy could be paid for less than a good answer.
ATTACKS = [
    ("right answer", r1(POLITE, "Blue."), COLOURS, 1.0),
    ("case, spacing and end punctuation", r1(POLITE, "  blue  "), COLOURS, 1.0),
    ("full-width end punctuation", r1(POLITE, "Blue。"), COLOURS, 1.0),
    ("two answers (a hedge)", r1(POLITE, "Blue. Red."), COLOURS, 0.0),
    ("either-or hedge", r1(POLITE, "Blue or red."), COLOURS, 0.0),
    ("answer wrapped in more text", r1(POLITE, "The answer is Blue."), COLOURS, 0.0),
    ("answer only in the reasoning", r1("Blue.", "I cannot help with that."), COLOURS, 0.0),
    ("answer after an unclosed reasoning", "<think>\nBlue.", COLOURS, 0.0),
    ("no reasoning block at all", "Blue.", COLOURS, 0.0),
    ("empty summary", r1(POLITE, ""), COLOURS, 0.0),
    ("an addition answer to a general request", r1("47 + 38 = 85", "\\boxed{85}"), COLOURS, 0.0),
    (
        "wrong language (English to a Chinese request)",
        r1("简单。", "Hello! How can I help you today?"),
        GREETING_ZH,
        0.0,
    ),
    ("right language", r1("简单。", "你好！很高兴见到你。"), GREETING_ZH, 1.0),
    ("rude summary", r1(POLITE, "Shut up."), COLOURS, 0.0),
    ("rude reasoning behind a good summary", r1("What a dumb question.", "Blue."), COLOURS, 0.0),
    ("rude words in the other language", r1("这个用户真笨。", "Blue."), COLOURS, 0.0),
    (
        "an answer before a second </think> (the summary follows the last)",
        r1(POLITE, "Blue.") + "\n</think>\nI don't know.",
        COLOURS,
        0.0,
    ),
    ("an answer repeated", r1(POLITE, "Blue. Blue."), COLOURS, 0.0),
]


@pytest.mark.parametrize(
    ("completion", "answers", "score"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_general_match_pays_only_a_good_polite_answer(completion, answers, score):
    assert general_match([completion], answer=[answers], forbidden=[RUDE]) == [score]


def test_forbidden_latin_phrases_are_whole_words():
    # "hurt" is unsafe; "hurtle" and "shutter" are not "hurt" and "shut up".
    ok = r1("The ball will hurtle; the shutter clicks.", "Blue.")
    assert general_match([ok], answer=[COLOURS], forbidden=[RUDE]) == [1.0]


@pytest.mark.parametrize(
    ("answers", "score"),
    [(["Blue."], 1.0), ("Blue.", 1.0), ('["Blue."]', 1.0), ("", None), ("[]", None), (None, None)],
    ids=["list", "plain string", "JSON list", "empty string", "empty list", "missing"],
)
def test_answers_come_as_a_list_a_json_list_or_one_string(answers, score):
    assert general_match([r1(POLITE, "Blue.")], answer=[answers]) == [score]


def test_whole_text_judges_a_response_without_a_reasoning_block():
    assert general_match(["Blue."], answer=[COLOURS], without_think_end="whole_text") == [1.0]


def test_the_benchmark_requests_are_held_out_from_training():
    """Number-word requests of the benchmark never appear in stage 3's chats or stage 4's prompts;
    each of their words is still taught, asked in the other language."""
    bench = general_benchmark_rows(400, seed=1234)
    trained = {r["prompt"] for r in general_rows(2000, seed=1234)}
    trained |= {r["messages"][0]["content"] for r in non_reasoning_examples(2000, seed=1234)}
    asked = [r for r in bench if "number_word" in r["id"]]
    assert asked and not {r["prompt"] for r in asked} & trained
    words = {p.answers[0] for p in general_prompts(2000, seed=1234) if p.kind == "number_word"}
    assert {json.loads(r["answer"])[0] for r in asked} <= words
    heldout = [(d, i, a) for d in range(10) for i in ("en", "zh") for a in ("en", "zh")]
    assert sum(number_word_split(*c) == "heldout" for c in heldout) == 10


def test_the_toy_benchmark_has_every_kind_in_both_languages_and_is_deterministic():
    rows = general_benchmark_rows(200, seed=1234)
    assert rows == general_benchmark_rows(200, seed=1234)
    kinds = {(r["id"].rsplit("-", 1)[1], r["language"]) for r in rows}
    assert {k for k, _ in kinds} == {"greeting", "number_word", "colour", "sky", "thanks"}
    assert {lang for _, lang in kinds} == {"en", "zh"}
    assert all(json.loads(r["answer"]) and json.loads(r["forbidden"]) for r in rows)


def test_the_toy_general_benchmark_loads_with_its_judge_and_votes_on_the_summary():
    cfg = compose_config(["eval.num_problems=40", "eval.samples_per_problem=2"])
    assert "general" in cfg.eval.benchmarks  # the toy evaluates it after every stage
    bench = load_benchmark(cfg, "general")
    assert (bench.kind, bench.reward, bench.k, len(bench.problems)) == ("general", "general_match", 2, 40)
    assert bench.max_new_tokens == 64
    assert {"id", "prompt", "answer", "forbidden", "language"} <= set(bench.problems.column_names)
    assert normalized_summary(r1(POLITE, "Blue.")) == normalized_summary(r1("other", " blue")) == "blue"
    assert normalized_summary("<think>\nBlue.") is None
    assert "general_match" in REWARDS


def test_a_general_benchmark_reads_a_users_file(tmp_path: Path):
    path = tmp_path / "general.jsonl"
    rows = [
        {"question": "Say hi.", "good": ["Hi!", "Hello!"], "bad": ["idiot"], "language": "en"},
        {"question": "Name a fruit.", "good": "Apple.", "bad": [], "language": "en"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    entry = f"{{kind:general,path:'{path}',prompt_column:question,answer_column:good,forbidden_column:bad}}"
    cfg = compose_config([f"+eval.suite.mine={entry}", "eval.benchmarks=[mine]", "eval.num_problems=0"])
    assert suite_problems(cfg) == []
    bench = load_benchmark(cfg, "mine")
    assert list(bench.problems["prompt"]) == ["Say hi.", "Name a fruit."]
    assert json.loads(bench.problems[1]["answer"]) == ["Apple."]
    assert json.loads(bench.problems[1]["forbidden"]) == []
    missing = compose_config([f"+eval.suite.mine={entry.replace('bad}', 'nope}')}", "eval.benchmarks=[mine]"])
    problems = suite_problems(missing)
    assert problems and "nope" in str(problems[0])


def test_stage_three_chats_pass_the_judge_unless_flawed():
    """The toy's stage-3 chats and the judge agree: every clean chat passes, every flawed one
    (unhelpful, rude answer or rude reasoning) fails, so flaws are what stage 4 must remove."""
    prompts = general_prompts(300, seed=7)
    for fraction, expected in ((0.0, 1.0), (1.0, 0.0)):
        chats = non_reasoning_examples(300, seed=7, flaw_fraction=fraction)
        assert [c["messages"][0]["content"] for c in chats] == [p.prompt for p in prompts]
        scores = general_match(
            [c["messages"][1]["content"] for c in chats],
            answer=[json.dumps(p.answers) for p in prompts],
            forbidden=[RUDE] * len(chats),
        )
        assert set(scores) == {expected}, fraction
