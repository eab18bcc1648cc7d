"""The steps of rejection sampling on hand-made records: what each step drops and why, the
provenance survivors carry, the funnel's arithmetic, and the SFT set file."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from datasets import load_dataset
from omegaconf import OmegaConf

from r1pipe.config.schema import DedupConfig, ReadabilityConfig, RejectionConfig
from r1pipe.generation import TransformersEngine
from r1pipe.generation.shards import Share
from r1pipe.rejection.judge import final_answer, parse_verdict
from r1pipe.rejection.sft_set import funnel_report, non_reasoning_count, reasoning_rows, write_sft_set
from r1pipe.rejection.steps import (
    drop_duplicates,
    filter_readable,
    generate_in_shards,
    keep_per_prompt,
    survivors,
    verify,
)
from r1pipe.rewards.accuracy import toy_accuracy


def record(pid: str, i: int, text: str, tokens: int = 20, answer: str = "85", **extra) -> dict:
    base = {
        "prompt_id": pid,
        "sample_index": i,
        "prompt": f"What is {pid}?",
        "answer": answer,
        "language": "en",
        "task": "toy",
        "text": text,
        "num_tokens": tokens,
        "finish_reason": "stop",
        "passed": [],
        "drop": "",
    }
    return {**base, **extra}


RIGHT = "<think>\nSeven plus eight is fifteen, write five and carry one.\n</think>\n\n\\boxed{85}"
WRONG = "<think>\nSeven plus eight is fourteen, write four and carry one.\n</think>\n\n\\boxed{84}"


def rule_score(texts, answers):
    return toy_accuracy(texts, answer=answers)


def test_verify_marks_correct_incorrect_truncated_and_unjudged():
    records = [
        record("a", 0, RIGHT),
        record("a", 1, WRONG),
        record("b", 0, RIGHT, finish_reason="length"),
        record("c", 0, RIGHT),
    ]

    def rules_cannot_judge_c(texts, answers):
        return [None if i == 3 else s for i, s in enumerate(rule_score(texts, answers))]

    marked = verify(records, rules_cannot_judge_c, judge=None)
    assert [r["drop"] for r in marked] == ["", "incorrect (rules)", "truncated", "unjudged"]
    assert [r["verdict_by"] for r in marked] == ["rules", "rules", "rules", None]
    assert marked[0]["passed"] == ["correct"]

    asked: list[str] = []

    def judge(rs):
        asked.extend(r["prompt_id"] for r in rs)
        return [True] * len(rs)

    judged = verify(records, rules_cannot_judge_c, judge=judge)
    assert asked == ["c"], "the judge sees only what rules could not judge"
    assert judged[3]["drop"] == "" and judged[3]["verdict_by"] == "judge"


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("CORRECT", True),
        ("incorrect.", False),
        ("The answer is INCORRECT because ...", False),
        ("Verdict: Correct", True),
        ("I am not sure", None),
        ("INCORRECTLY", None),  # not a verdict word
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_the_judge_compares_the_extracted_answer():
    assert final_answer(RIGHT) == "85"
    assert final_answer("<think>\nhmm\n</think>\n\nIt is eighty-five.") == "It is eighty-five."


@pytest.mark.parametrize(
    ("m", "strategy", "kept_indices"),
    [
        (1, "shortest", {"a": [2], "b": [0]}),
        (2, "shortest", {"a": [2, 1], "b": [0]}),
        (0, "shortest", {"a": [0, 1, 2], "b": [0]}),
        (1, "all", {"a": [0, 1, 2], "b": [0]}),
        (5, "random", {"a": [0, 1, 2], "b": [0]}),
    ],
)
def test_keep_per_prompt(m, strategy, kept_indices):
    records = [
        record("a", 0, "x", 30),
        record("a", 1, "x", 20),
        record("a", 2, "x", 10),
        record("b", 0, "x", 5),
    ]
    kept = survivors(keep_per_prompt(records, m, strategy, seed=0))
    by_prompt: dict[str, list[int]] = {}
    for r in kept:
        by_prompt.setdefault(r["prompt_id"], []).append(r["sample_index"])
    assert {k: sorted(v) for k, v in by_prompt.items()} == {k: sorted(v) for k, v in kept_indices.items()}


def test_random_keep_is_seeded():
    records = [record("a", i, "x") for i in range(10)]
    pick = lambda seed: [r["sample_index"] for r in survivors(keep_per_prompt(records, 3, "random", seed))]  # noqa: E731
    assert pick(0) == pick(0)
    assert any(pick(0) != pick(s) for s in range(1, 6))


def test_duplicates_are_marked_with_their_kind():
    dedup = OmegaConf.structured(DedupConfig(near_threshold=0.8))
    long_text = RIGHT * 3
    records = [
        record("a", 0, long_text),
        record("a", 1, long_text),
        record("a", 2, long_text + " ok"),
        record("b", 0, WRONG),
    ]
    assert [r["drop"] for r in drop_duplicates(records, dedup)] == [
        "",
        "exact_duplicate",
        "near_duplicate",
        "",
    ]


def test_readability_step_joins_the_failing_filters():
    bad = "<think>\n```\ncode\n```\n" + "x" * 3000 + "\n</think>\n\n85"
    marked = filter_readable(
        [record("a", 0, RIGHT), record("a", 1, bad)], OmegaConf.structured(ReadabilityConfig())
    )
    assert [r["drop"] for r in marked] == ["", "long_paragraph,code_in_cot"]


def test_funnel_counts_add_up_and_rows_carry_provenance(tmp_path):
    generated = [
        record(p, i, RIGHT if i else WRONG, language=lang)
        for p, lang in (("a", "en"), ("b", "zh"))
        for i in range(3)
    ]
    correct = verify(generated, rule_score, judge=None)
    kept = keep_per_prompt(survivors(correct), 1, "shortest", 0)
    rows = reasoning_rows(survivors(kept), "reasoning_rl")
    prompts = [
        {"prompt_id": "a", "language": "en", "task": "toy"},
        {"prompt_id": "b", "language": "zh", "task": "toy"},
    ]
    report = funnel_report(prompts, [("generated", generated), ("correct", correct), ("kept", kept)], rows)
    entries = {e["step"]: e for e in report["funnel"]}
    assert [e["total"] for e in report["funnel"]] == [2, 6, 4, 2, 2]
    for before, after in (("generated", "correct"), ("correct", "kept")):
        assert entries[before]["total"] - sum(entries[after]["dropped"].values()) == entries[after]["total"]
    assert entries["kept"]["by_language"] == {"en": 1, "zh": 1}
    assert rows[0]["filters_passed"] == ["correct", "kept"] and rows[0]["source_stage"] == "reasoning_rl"

    for suffix in ("jsonl", "parquet"):
        path = write_sft_set(rows, tmp_path / f"sft.{suffix}")
        loaded = load_dataset("json" if suffix == "jsonl" else "parquet", data_files=str(path), split="train")
        assert loaded.num_rows == 2 and loaded[0]["messages"][1]["content"] == RIGHT
        assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    ("reasoning", "ratio", "expected"), [(300, 3.0, 100), (10, 3.0, 3), (10, 0.0, 0), (0, 3.0, 0)]
)
def test_non_reasoning_count(reasoning, ratio, expected):
    assert non_reasoning_count(reasoning, ratio) == expected


def test_generation_resumes_at_the_first_missing_shard(tmp_path, toy_engine):
    r = OmegaConf.structured(
        RejectionConfig(samples_per_prompt=2, max_tokens=8, shard_size=2, temperature=1.0)
    )
    rows = [
        {
            "prompt_id": f"p{i}",
            "prompt": f"What is {i} + 1?",
            "answer": str(i + 1),
            "language": "en",
            "task": "toy",
        }
        for i in range(5)
    ]
    opened: list[int] = []

    @contextmanager
    def open_engine():
        opened.append(1)
        yield toy_engine

    first = generate_in_shards(rows, r, tmp_path, open_engine)
    assert len(first) == 10 and len(opened) == 1
    assert sorted(p.name for p in tmp_path.glob("shard_*")) == [
        "shard_00000.jsonl",
        "shard_00001.jsonl",
        "shard_00002.jsonl",
    ]
    assert [(s["prompt_id"], s["sample_index"]) for s in first[:4]] == [
        ("p0", 0),
        ("p0", 1),
        ("p1", 0),
        ("p1", 1),
    ]

    (tmp_path / "shard_00001.jsonl").unlink()  # as if the crash came during shard 1
    kept = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard_*")}
    again = generate_in_shards(rows, r, tmp_path, open_engine)
    assert again == first, "shard i is sampled with seed + i: the regenerated shard is the same"
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard_*") if p.name in kept} == kept

    generate_in_shards(rows, r, tmp_path, open_engine)
    assert len(opened) == 2, "with every shard written the engine is not even started"


def test_two_processes_sample_the_shards_one_process_samples(tmp_path, toy_engine):
    """Process 1 of 2 writes its shards (1, 3) and returns None; process 0 writes its own (0, 2, 4),
    finds the others' and returns every record: the same as one process, each shard seeded by its
    index whoever samples it."""
    r = OmegaConf.structured(
        RejectionConfig(samples_per_prompt=2, max_tokens=8, shard_size=1, temperature=1.0)
    )
    rows = [
        {
            "prompt_id": f"p{i}",
            "prompt": f"What is {i} + 2?",
            "answer": str(i + 2),
            "language": "en",
            "task": "toy",
        }
        for i in range(5)
    ]

    @contextmanager
    def open_engine():
        yield toy_engine

    alone = generate_in_shards(rows, r, tmp_path / "one", open_engine)
    assert generate_in_shards(rows, r, tmp_path / "two", open_engine, Share(1, 2)) is None
    assert sorted(p.name for p in (tmp_path / "two").glob("shard_*")) == [
        "shard_00001.jsonl",
        "shard_00003.jsonl",
    ]
    together = generate_in_shards(rows, r, tmp_path / "two", open_engine, Share(0, 2))
    assert together == alone and len(alone) == 10


def test_each_process_checks_the_shards_it_sampled_and_the_main_one_gathers(tmp_path):
    """Step b per process: one check call for all of a process's shards (the judge loads once),
    a file per shard; the main process returns every record in shard order; a shard checked
    before a crash is not checked again."""
    from r1pipe.rejection.steps import verify_in_shards
    from r1pipe.rejection.store import write_records

    sampled, verified = tmp_path / "generations", tmp_path / "verified"
    for i in range(3):
        write_records(sampled / f"shard_{i:05d}.jsonl", [{"id": f"{i}-{j}"} for j in range(i + 1)])
    calls: list[list[str]] = []

    def check(records):
        calls.append([r["id"] for r in records])
        return [{**r, "checked": True} for r in records]

    assert verify_in_shards(sampled, verified, 3, check, Share(1, 2)) is None
    assert calls == [["1-0", "1-1"]]
    gathered = verify_in_shards(sampled, verified, 3, check, Share(0, 2))
    assert calls[1] == ["0-0", "2-0", "2-1", "2-2"], "one call for both of its shards"
    assert [r["id"] for r in gathered] == ["0-0", "1-0", "1-1", "2-0", "2-1", "2-2"]
    assert all(r["checked"] for r in gathered)
    (verified / "shard_00002.jsonl").unlink()
    assert len(verify_in_shards(sampled, verified, 3, check)) == 6
    assert calls[2] == ["2-0", "2-1", "2-2"], "only the shard not yet checked"


@pytest.fixture(scope="module")
def toy_engine():
    from r1pipe.models.loading import load_model, load_tokenizer
    from r1pipe.toy.base_model import toy_base_dir

    model_cfg = OmegaConf.create(
        {
            "dtype": "float32",
            "chat_template": "r1_chatml",
            "trust_remote_code": False,
            "attn_implementation": None,
        }
    )
    path = str(toy_base_dir())
    return TransformersEngine(load_model(path, model_cfg), load_tokenizer(path, model_cfg), batch_size=4)


def test_the_judge_model_answers_every_sample_with_a_verdict_or_none():
    """The plumbing with a real model: the toy base is no judge (it never learned the task), so its
    replies rarely name a verdict; what must hold is one parsed verdict (or None) per sample."""
    from r1pipe.config.schema import GenerationConfig, JudgeConfig
    from r1pipe.rejection.judge import judge_prompt, judge_samples
    from r1pipe.toy.base_model import toy_base_dir

    records = [record("a", 0, RIGHT), record("b", 0, WRONG, answer="eighty-five")]
    assert "Reference answer: eighty-five" in judge_prompt(records[1])
    assert "Student's answer: 84" in judge_prompt(records[1])
    judge = OmegaConf.structured(JudgeConfig(model=str(toy_base_dir()), max_new_tokens=6, batch_size=2))
    verdicts = judge_samples(records, judge, OmegaConf.structured(GenerationConfig()))
    assert len(verdicts) == 2 and all(v in (True, False, None) for v in verdicts)


def test_an_empty_set_names_the_step_that_emptied_it_and_the_setting_to_change():
    """toy_quick's stage 3 once ended "kept no sample" with 29 of 32 samples truncated and
    nothing to say which setting was at fault."""
    from r1pipe.rejection.sft_set import emptied_by

    generated = [{"drop": ""}] * 4
    correct = [{"drop": "truncated"}] * 3 + [{"drop": "incorrect (rules)"}]
    why = emptied_by([("generated", generated), ("correct", correct), ("readable", [])])
    assert why.startswith("step 'correct' dropped all 4 samples: 3 truncated (")
    assert "raise rejection.max_tokens" in why and "1 incorrect (rules)" in why
