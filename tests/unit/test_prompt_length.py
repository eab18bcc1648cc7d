"""Prompts longer than the model's positions (with the generated tokens) are refused, dropped or
truncated as data.long_prompts says, in one message; the engines refuse what slips through."""

from __future__ import annotations

import logging

import pytest
from datasets import Dataset
from omegaconf import OmegaConf

from r1pipe.generation import Sampling
from r1pipe.generation.transformers_engine import TransformersEngine
from r1pipe.models.loading import load_model, load_tokenizer
from r1pipe.models.prompt_length import PromptTooLong, fit_prompts, model_positions, rendered_lengths
from r1pipe.toy import toy_base_dir

MODEL_CFG = OmegaConf.create(
    {
        "dtype": "float32",
        "trust_remote_code": False,
        "chat_template": "r1_chatml",
        "attn_implementation": None,
    }
)
POSITIONS, NEW_TOKENS = 512, 128
LONG = "Context: " + " ".join(["seven plus eight"] * 400) + " Question: what is 2 + 3?"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(toy_base_dir()), MODEL_CFG)


def prompts() -> Dataset:
    return Dataset.from_list(
        [
            {"id": "a", "prompt": "What is 2 + 3?", "answer": "5"},
            {"id": "b", "prompt": LONG, "answer": "5"},
            {"id": "c", "prompt": "What is 4 + 4?", "answer": "8"},
        ]
    )


def test_prompts_that_fit_pass_unchanged(tokenizer):
    short = prompts().select([0, 2])
    assert fit_prompts(short, tokenizer, POSITIONS, NEW_TOKENS, "error", "x") is short


def test_error_names_the_count_the_longest_row_and_the_fix(tokenizer):
    with pytest.raises(
        PromptTooLong, match=r"reasoning_rl prompts: 1 of 3 prompts are longer than 384 tokens.*row 1"
    ) as err:
        fit_prompts(prompts(), tokenizer, POSITIONS, NEW_TOKENS, "error", "reasoning_rl prompts")
    assert "data.long_prompts=drop" in str(err.value)


def test_drop_leaves_them_out_and_says_so_once(tokenizer, caplog):
    with caplog.at_level(logging.WARNING):
        kept = fit_prompts(prompts(), tokenizer, POSITIONS, NEW_TOKENS, "drop", "x")
    assert kept["id"] == ["a", "c"]
    # r1pipe says so once (transformers has its own once-per-process warning, seen or not by order)
    ours = [r for r in caplog.records if r.name.startswith("r1pipe") and "longer than" in r.message]
    assert len(ours) == 1


def test_truncate_keeps_the_end_within_the_budget(tokenizer):
    fitted = fit_prompts(prompts(), tokenizer, POSITIONS, NEW_TOKENS, "truncate", "x")
    assert fitted["id"] == ["a", "b", "c"] and fitted["prompt"][0] == "What is 2 + 3?"
    assert fitted["prompt"][1].endswith("Question: what is 2 + 3?")
    assert rendered_lengths(tokenizer, [fitted["prompt"][1]])[0] <= POSITIONS - NEW_TOKENS


def test_no_room_for_any_prompt(tokenizer):
    with pytest.raises(PromptTooLong, match="leave no room"):
        fit_prompts(prompts(), tokenizer, POSITIONS, POSITIONS, "truncate", "x")


def test_unknown_positions_check_nothing(tokenizer):
    data = prompts()
    assert fit_prompts(data, tokenizer, None, NEW_TOKENS, "error", "x") is data


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"max_position_embeddings": 512}, 512),
        ({"n_positions": 1024}, 1024),
        ({"max_position_embeddings": 32768, "rope_scaling": {"type": "yarn", "factor": 4.0}}, 131072),
        (
            {
                "max_position_embeddings": 8192,
                "rope_scaling": {"factor": 4.0, "original_max_position_embeddings": 4096},
            },
            16384,
        ),
        ({"max_position_embeddings": 512, "rope_parameters": {"rope_type": "default"}}, 512),
        ({}, None),
    ],
)
def test_model_positions(config, expected):
    assert model_positions(config) == expected


def test_the_transformers_engine_refuses_a_prompt_past_the_positions(tokenizer):
    engine = TransformersEngine(load_model(str(toy_base_dir()), MODEL_CFG), tokenizer)
    assert engine.max_positions == POSITIONS
    with pytest.raises(PromptTooLong, match="prompt b has"):
        engine.generate([LONG], ["b"], Sampling(n=1, temperature=0.0, max_tokens=NEW_TOKENS))
