"""Stage 4's prompts: reasoning prompts plus general prompts at the configured share, on the columns
the rewards read, each row carrying the `task` its reward route is picked by."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from datasets import Dataset

from r1pipe.data.loading import DataError, general_count, load_general_prompts, load_problems, mix_prompts
from r1pipe.pipeline.compose import compose_config


@pytest.mark.parametrize(
    ("reasoning", "fraction", "general"),
    [(2000, 0.25, 667), (300, 0.25, 100), (100, 0.0, 0), (3, 0.5, 3), (10, 0.9, 90)],
)
def test_general_count_gives_the_share(reasoning, fraction, general):
    assert general_count(reasoning, fraction) == general


def test_toy_general_prompts():
    data = compose_config([]).data
    rows = load_general_prompts(data, 12)
    assert len(rows) == 12 and set(rows["task"]) == {"general", "number_word"}
    judged = [a for a, t in zip(rows["answer"], rows["task"], strict=True) if t == "general"]
    assert set(judged) == {""}, "judged requests carry no answer; number words carry theirs"
    assert set(rows["language"]) == {"en", "zh"}
    assert list(load_general_prompts(data, 12)["prompt"]) == list(rows["prompt"]), "deterministic"


def test_a_smaller_set_is_repeated_to_the_count():
    data = compose_config(["data.general_prompts.num_examples=3"]).data
    prompts = list(load_general_prompts(data, 7)["prompt"])
    assert prompts == (prompts[:3] * 3)[:7]


def test_general_prompts_from_a_file(tmp_path):
    path = tmp_path / "general.jsonl"
    path.write_text("\n".join(json.dumps({"request": f"Write a haiku {i}."}) for i in range(2)) + "\n")
    data = compose_config(
        [f"data.general_prompts.path={path}", "data.general_prompts.prompt_column=request"]
    ).data
    rows = load_general_prompts(data, 3)
    assert list(rows["prompt"]) == ["Write a haiku 0.", "Write a haiku 1.", "Write a haiku 0."]
    assert rows[0]["task"] == "general" and rows[0]["language"] is None
    bad = compose_config([f"data.general_prompts.path={path}"]).data
    with pytest.raises(DataError, match="data.general_prompts.prompt_column"):
        load_general_prompts(bad, 3)


def test_mix_keeps_every_prompt_shuffled_on_the_reward_columns():
    data = compose_config(["data.toy.rl_prompts=60"]).data
    reasoning = load_problems(data, "rl_prompts")
    mixed = mix_prompts(reasoning, load_general_prompts(data, general_count(60, 0.25)), seed=0)
    assert mixed.column_names == ["prompt", "answer", "language", "task"]
    assert Counter(mixed["task"]) == {"toy": 60, "general": 15, "number_word": 5}
    assert mixed["task"][:20] != ["toy"] * 20, "shuffled, so batches mix both kinds"
    assert list(mix_prompts(reasoning, load_general_prompts(data, 20), seed=0)["prompt"]) == list(
        mixed["prompt"]
    )


def test_mix_fills_missing_columns_so_the_default_route_takes_them():
    reasoning = Dataset.from_list([{"prompt": "1 + 1?", "answer": 2}])  # no task or language column
    mixed = mix_prompts(reasoning, Dataset.from_list([]), seed=0)
    assert mixed[0] == {"prompt": "1 + 1?", "answer": "2", "language": None, "task": None}
