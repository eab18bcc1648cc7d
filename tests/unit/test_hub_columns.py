"""Hub datasets do not carry the toy's columns: ids live under other names (OpenR1-Math `uuid`,
ultrachat `prompt_id`, MATH-500 `unique_id`), there is no `language` column, and rows carry
large columns no reward reads (OpenR1-Math's `generations` and `messages`). Each case is a
finding of issue 30, run on rows shaped like the hub sets'."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset
from omegaconf import OmegaConf

from r1pipe.config.schema import ReadabilityConfig
from r1pipe.data.loading import id_column, row_id
from r1pipe.rejection.sft_set import non_reasoning_rows
from r1pipe.rejection.steps import filter_readable, prompt_rows
from r1pipe.rewards import REWARDS
from r1pipe.rewards.guard import GuardedReward, GuardPolicy, shutdown_pools
from r1pipe.rewards.registry import declared_columns


@pytest.fixture(scope="module", autouse=True)
def _stop_pools():
    yield
    shutdown_pools()


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["problem", "answer", "uuid", "generations"], "uuid"),  # OpenR1-Math-220k
        (["prompt", "prompt_id", "messages"], "prompt_id"),  # ultrachat_200k, ultrafeedback
        (["problem", "answer", "unique_id"], "unique_id"),  # MATH-500
        (["id", "problem", "answer"], "id"),  # AIME 2024, the toy
        (["question_content", "question_id"], "question_id"),  # LiveCodeBench
        (["problem", "answer"], None),
    ],
)
def test_the_dataset_own_id_column_is_found(columns, expected):
    assert id_column(columns) == expected


def test_rows_without_an_id_get_a_stable_content_hash():
    a = row_id({"prompt": "What is 1 + 1?", "answer": "2"}, None)
    assert a == row_id({"answer": "2", "prompt": "What is 1 + 1?", "other": 5}, None)
    assert a.startswith("sha-") and a != row_id({"prompt": "What is 1 + 1?", "answer": "3"}, None)
    assert row_id({"uuid": "", "prompt": "q"}, "uuid").startswith("sha-")  # an empty id is no id
    assert row_id({"uuid": 7, "prompt": "q"}, "uuid") == "7"


def openr1_rows() -> Dataset:
    """OpenR1-Math-220k `default` columns (problem renamed to prompt by load_problems)."""
    return Dataset.from_list(
        [
            {
                "prompt": q,
                "answer": a,
                "uuid": f"u-{i}",
                "generations": ["x" * 50_000],
                "messages": [{"role": "user", "content": q}],
                "problem_type": "Algebra",
            }
            for i, (q, a) in enumerate([("What is 1 + 1?", "2"), ("计算 1 + 2。", "3"), ("$1+1=$?", "2")])
        ]
    )


def test_stage3_prompts_carry_the_hub_id_and_a_language():
    rows = prompt_rows(openr1_rows())
    assert [r["prompt_id"] for r in rows] == ["u-0", "u-1", "u-2"]
    # No language column: the prompt's, so the funnel counts by language and the filter runs.
    assert [r["language"] for r in rows] == ["en", "zh", None]
    assert all("generations" not in r for r in rows)
    hashed = prompt_rows(openr1_rows().remove_columns("uuid"))
    assert [r["prompt_id"] for r in hashed] == [
        r["prompt_id"] for r in prompt_rows(openr1_rows().remove_columns("uuid"))
    ]
    assert len({r["prompt_id"] for r in hashed}) == 3 and all(
        r["prompt_id"].startswith("sha-") for r in hashed
    )


def test_the_mixed_language_filter_runs_on_rows_without_a_language():
    def sample(prompt: str, cot: str) -> dict:
        return {"prompt": prompt, "text": f"<think>{cot}</think>2", "num_tokens": 10, "language": None}

    records = [
        sample("What is 1 + 1?", "We add one and one."),
        sample("What is 1 + 1?", "我们把一和一相加，得到二。"),
        sample("$1+1=$?", "We add one and 一和一相加得到二。"),
    ]
    marked = filter_readable(records, OmegaConf.structured(ReadabilityConfig))
    assert [m["drop"] for m in marked] == ["", "mixed_language", "mixed_language"]


def test_non_reasoning_chats_keep_their_hub_id_and_language(tmp_path):
    path = tmp_path / "ultrachat.jsonl"
    chats = [
        {
            "prompt": "Write a haiku.",
            "prompt_id": "abc",
            "messages": [
                {"role": "user", "content": "Write a haiku about autumn leaves."},
                {"role": "assistant", "content": "Leaves fall softly down."},
            ],
        },
        {
            "prompt": "写一首诗。",
            "prompt_id": "def",
            "messages": [
                {"role": "user", "content": "写一首关于秋天的诗。"},
                {"role": "assistant", "content": "秋风起，落叶飞。"},
            ],
        },
    ]
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chats), encoding="utf-8")
    data = OmegaConf.create(
        {
            "non_reasoning": {
                "path": str(path),
                "subset": None,
                "split": "train",
                "messages_column": "messages",
                "num_examples": None,
            }
        }
    )
    rows = non_reasoning_rows(data, 2, seed=0)
    assert sorted((r["prompt_id"], r["language"]) for r in rows) == [("abc", "en"), ("def", "zh")]


def test_every_builtin_reward_declares_the_columns_it_reads():
    undeclared = [name for name, fn in REWARDS.items() if declared_columns(fn) is None]
    assert undeclared == []
    assert declared_columns(REWARDS["math_accuracy"]) >= {"answer"}
    assert "generations" not in declared_columns(REWARDS["language_consistency"])
    assert declared_columns(lambda completions, **columns: []) is None  # may read anything: all go


def reads_answer(completions, answer, **_):
    if completions[0] == "boom":
        raise ValueError("verifier crashed")
    return [1.0 if c == a else 0.0 for c, a in zip(completions, answer, strict=True)]


def test_only_declared_columns_reach_the_workers_and_the_failure_log(tmp_path):
    log = tmp_path / "failures.jsonl"
    guarded = GuardedReward(
        "reads_answer", reads_answer, GuardPolicy(timeout_s=10, workers=1, failure_log=log)
    )
    huge = ["x" * 50_000, "y" * 50_000]
    assert guarded(["boom", "2"], answer=["1", "2"], generations=huge, uuid=["a", "b"]) == [None, 1.0]
    record = json.loads(log.read_text().splitlines()[0])
    assert set(record["columns"]) == {"answer", "__shared__"}
    assert len(log.read_text()) < 2_000
