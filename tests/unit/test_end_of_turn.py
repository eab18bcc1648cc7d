"""Any causal LM's tokenizer gets an end-of-turn token it is trained to emit and generation stops
on (issue 30, finding 9). The R1 chat template closes turns with ChatML's `<|im_end|>`; a
tokenizer without it (Llama, Mistral, Gemma) used to get `<|im_end|>` as plain text while
generation stopped on its own EOS, which training never showed: every rollout ran to the length
limit. Now such a tokenizer's turns end in its own EOS; one with no EOS at all is refused."""

from __future__ import annotations

import shutil

import pytest
from omegaconf import OmegaConf
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from r1pipe.models.loading import TokenizerError, load_tokenizer

TEXT = ["What is 1 + 1? <think> We add. </think> The answer is 2.", "Say hello. Hello!"] * 20


def bpe_tokenizer(tmp_path, specials: list[str], **roles: str) -> str:
    """A byte-level BPE tokenizer with `specials` as special tokens and `roles` (bos/eos/...)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=specials))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **roles)
    out = tmp_path / "tok"
    fast.save_pretrained(out)
    return str(out)


MODEL = OmegaConf.create({"chat_template": "r1_chatml", "trust_remote_code": False})
CHAT = [{"role": "user", "content": "What is 1 + 1?"}, {"role": "assistant", "content": "<think>x</think>2"}]


@pytest.mark.parametrize(
    ("specials", "roles", "end"),
    [
        (
            ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            {"eos_token": "<|endoftext|>"},
            "<|im_end|>",
        ),  # Qwen
        (["<s>", "</s>"], {"bos_token": "<s>", "eos_token": "</s>"}, "</s>"),  # Llama 2, Mistral
        (
            ["<|begin_of_text|>", "<|end_of_text|>"],
            {"eos_token": "<|end_of_text|>"},
            "<|end_of_text|>",
        ),  # Llama 3
    ],
)
def test_the_assistant_turn_ends_with_the_token_generation_stops_on(tmp_path, specials, roles, end):
    tok = load_tokenizer(bpe_tokenizer(tmp_path, specials, **roles), MODEL)
    assert tok.eos_token == end
    rendered = tok.apply_chat_template(CHAT, tokenize=False)
    assert rendered.endswith(f"<think>x</think>2{end}\n") and "<|im_end|>" not in rendered.replace(end, "")
    ids = tok.apply_chat_template(CHAT, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assistant = [i for i, m in zip(ids["input_ids"], ids["assistant_masks"], strict=True) if m]
    # The loss covers the end-of-turn token, one token, the EOS: the model learns to stop.
    assert assistant[-1] == tok.eos_token_id and tok.convert_ids_to_tokens(assistant[-1]) == end


def test_a_tokenizer_without_any_end_token_is_refused_naming_the_fix(tmp_path):
    with pytest.raises(TokenizerError, match="neither <\\|im_end\\|> nor an EOS token"):
        load_tokenizer(bpe_tokenizer(tmp_path, ["<pad>"], pad_token="<pad>"), MODEL)


def test_validate_refuses_such_a_model_before_any_work(tmp_path):
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.pipeline.validate import config_problems
    from r1pipe.toy import toy_base_dir

    model = tmp_path / "model"
    shutil.copytree(toy_base_dir(), model)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model / name).unlink()
    PreTrainedTokenizerFast.from_pretrained(
        bpe_tokenizer(tmp_path, ["<pad>"], pad_token="<pad>")
    ).save_pretrained(model)
    problems = [
        p for p in config_problems(compose_config([f"model.name_or_path={model}"])) if "EOS" in p.message
    ]
    assert [p.key for p in problems] == ["model.name_or_path"] and "eos_token" in problems[0].fix
    assert [p for p in config_problems(compose_config([])) if "EOS" in p.message] == []  # the toy has both
