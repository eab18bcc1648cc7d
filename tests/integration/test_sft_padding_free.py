"""Padding-free SFT (TRL's `padding_free`, the SFT stages' `padding_free: true`) trains exactly as
padded batches do on the CPU's attention kernel (issue 17 point 5: an exactness test for each
speed lever kept), and an example longer than max_length is refused rather than trained whole."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from datasets import Dataset
from omegaconf import OmegaConf
from transformers import AutoTokenizer, Qwen2ForCausalLM
from trl import SFTTrainer

from r1pipe.config.schema import SFTStageConfig
from r1pipe.toy import toy_base_dir
from r1pipe.toy.base_model import build_model
from r1pipe.toy.task import r1_response, sample_problems
from r1pipe.training.sft import build_sft_config, check_fits_max_length

# Both runs do the same float32 arithmetic on the same tokens, summed in another order.
LOSS_TOLERANCE = 1e-4


def _chats(n: int) -> Dataset:
    """Toy chats of uneven length (English and Chinese, 2- and 3-digit sums): padded batches pad."""
    problems = sample_problems(n, digits=2, split="train", seed=0)
    return Dataset.from_list(
        [
            {
                "messages": [
                    {"role": "user", "content": p.prompt()},
                    {"role": "assistant", "content": r1_response(p)},
                ]
            }
            for p in problems
        ]
    )


def _tiny_model(tokenizer) -> Qwen2ForCausalLM:
    """The toy base's architecture, freshly initialised (the same weights in both runs)."""
    return build_model(tokenizer, seed=0)


def _stage_section(**overrides):
    section = OmegaConf.structured(SFTStageConfig)
    settings = dict(
        learning_rate=1e-3,
        max_steps=4,
        per_device_train_batch_size=8,
        gradient_accumulation_steps=1,
        max_length=256,
        logging_steps=1,
        save_steps=1000,
        warmup_ratio=0.0,
    )
    section.merge_with({**settings, **overrides})
    return section


def _train(tmp_path: Path, padding_free: bool) -> tuple[list[float], dict[str, torch.Tensor]]:
    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    section = _stage_section(padding_free=padding_free)
    ctx = SimpleNamespace(checkpoints_dir=tmp_path / f"pf-{padding_free}")
    trainer = SFTTrainer(
        model=_tiny_model(tokenizer),
        args=build_sft_config(section, ctx, seed=0, dtype=torch.float32),
        train_dataset=_chats(32),
        processing_class=tokenizer,
    )
    check_fits_max_length(section, trainer.train_dataset, "test")
    trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    return losses, {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_padding_free_training_has_the_padded_losses_and_weights(tmp_path: Path):
    padded_losses, padded_weights = _train(tmp_path, padding_free=False)
    free_losses, free_weights = _train(tmp_path, padding_free=True)
    assert len(padded_losses) == len(free_losses) == 4
    for step, (a, b) in enumerate(zip(padded_losses, free_losses, strict=True), start=1):
        assert abs(a - b) < LOSS_TOLERANCE, f"step {step}: padded loss {a}, padding-free loss {b}"
    for name, weight in padded_weights.items():
        torch.testing.assert_close(free_weights[name], weight, rtol=1e-4, atol=1e-5, msg=name)


def test_the_check_would_catch_examples_attending_to_each_other():
    """The failure the exactness test guards against: one row of two examples whose position_ids do
    not restart (or, alike, a 2D all-ones mask) lets the second attend to the first. Its loss
    differs from the two examples run apart by far more than LOSS_TOLERANCE. (No KV cache: with
    one, transformers does not look for packed sequences, as in training.)"""
    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    model = _tiny_model(tokenizer).eval()
    first, second = (
        tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=False) for row in _chats(2)
    )
    row = torch.tensor([first + second])
    restart = torch.tensor([list(range(len(first))) + list(range(len(second)))])
    running = torch.arange(row.shape[1])[None]
    with torch.no_grad():
        apart = model(input_ids=row, position_ids=restart, use_cache=False).logits[0, len(first) :]
        alone = model(input_ids=torch.tensor([second])).logits[0]
        mixed = model(input_ids=row, position_ids=running, use_cache=False).logits[0, len(first) :]
    torch.testing.assert_close(apart, alone, rtol=1e-4, atol=1e-4)  # block-diagonal: as if alone
    assert (mixed - alone).abs().max() > 100 * LOSS_TOLERANCE


def test_an_example_longer_than_max_length_is_refused_when_padding_free():
    section = _stage_section(padding_free=True, max_length=8)
    dataset = Dataset.from_dict({"input_ids": [[1] * 5, [1] * 9]})
    with pytest.raises(ValueError, match=r"9 tokens, more than max_length=8.*raise max_length"):
        check_fits_max_length(section, dataset, "cold_start")
    check_fits_max_length(_stage_section(padding_free=False, max_length=8), dataset, "cold_start")
