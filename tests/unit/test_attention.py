"""Shared key/value heads in CPU inference (r1pipe/models/attention.py) give the numbers the copies
give, bit for bit, and training keeps the copies."""

from __future__ import annotations

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
from transformers.integrations import sdpa_attention

from r1pipe.models import attention


@pytest.fixture
def gqa_model():
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=97,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # two query heads per key/value head, as the toy base
        max_position_embeddings=128,
        pad_token_id=0,
        eos_token_id=1,
        attn_implementation="sdpa",
    )
    return Qwen2ForCausalLM(config).eval()


@pytest.fixture
def left_padded():
    ids = torch.randint(2, 97, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding, as generation batches prompts of several lengths
    mask[2, :6] = 0
    return ids.masked_fill(mask == 0, 0), mask


@pytest.fixture
def decision(monkeypatch):
    """Switch between transformers' own decision and r1pipe's; count the key/value copies."""
    copies = []
    original_repeat = sdpa_attention.repeat_kv

    def counting_repeat(hidden, n_rep):
        copies.append(n_rep)
        return original_repeat(hidden, n_rep)

    monkeypatch.setattr(sdpa_attention, "repeat_kv", counting_repeat)

    def use(shared: bool) -> list[int]:
        monkeypatch.setattr(
            sdpa_attention,
            "use_gqa_in_sdpa",
            attention._use_gqa if shared else attention._TRANSFORMERS_DECISION,
        )
        copies.clear()
        return copies

    return use


def test_inference_logits_are_the_same_bits_without_the_copies(gqa_model, left_padded, decision):
    ids, mask = left_padded
    copies = decision(shared=False)
    with torch.no_grad():
        copied = gqa_model(input_ids=ids, attention_mask=mask).logits
    assert copies, "transformers copied no heads: the comparison would compare a path with itself"
    copies = decision(shared=True)
    with torch.no_grad():
        shared = gqa_model(input_ids=ids, attention_mask=mask).logits
    assert copies == []
    assert torch.equal(copied, shared)


def test_sampled_generation_is_the_same_tokens_and_scores(gqa_model, left_padded, decision):
    ids, mask = left_padded

    def sample():
        torch.manual_seed(7)
        out = gqa_model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=True,
            temperature=1.0,
            max_new_tokens=12,
            num_return_sequences=2,
            output_scores=True,
            return_dict_in_generate=True,
            pad_token_id=0,
        )
        return out.sequences, torch.stack(out.scores)

    decision(shared=False)
    copied_tokens, copied_scores = sample()
    copies = decision(shared=True)
    shared_tokens, shared_scores = sample()
    assert copies == []
    assert torch.equal(copied_tokens, shared_tokens)
    assert torch.equal(copied_scores, shared_scores)


def test_training_keeps_the_copies(gqa_model, left_padded, decision):
    """With gradients enabled the key/value gradients would be summed in another order (last
    bits of training change), so the training forward copies the heads as transformers does."""
    ids, mask = left_padded
    copies = decision(shared=True)
    gqa_model(input_ids=ids, attention_mask=mask).logits.sum().backward()
    assert copies == [2, 2, 2, 2]  # key and value of both layers


def test_load_model_installs_the_shared_heads(tmp_path, gqa_model, monkeypatch):
    from omegaconf import OmegaConf

    from r1pipe.models.loading import load_model

    monkeypatch.setattr(sdpa_attention, "use_gqa_in_sdpa", attention._TRANSFORMERS_DECISION)
    gqa_model.save_pretrained(tmp_path)
    load_model(
        str(tmp_path),
        OmegaConf.create({"dtype": "float32", "trust_remote_code": False, "attn_implementation": None}),
    )
    assert sdpa_attention.use_gqa_in_sdpa is attention._use_gqa
