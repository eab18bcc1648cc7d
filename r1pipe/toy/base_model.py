"""The toy base model: a tiny Qwen2 that knows addition but not the R1 reasoning format.

Built once, offline, by `scripts/build_toy_base.py` (fixed seed) and shipped in
`r1pipe/assets/toy_base/` so the default run needs no network and no minutes of pretraining.
The loading code downstream is the same as for any Hugging Face model directory.
"""

from __future__ import annotations

import logging
import math
import random
import time
from typing import Any

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from r1pipe.models.chat_template import END_OF_TURN, R1_CHATML, R1_ZERO_PREFIX
from r1pipe.toy import toy_base_dir  # noqa: F401  (where the shipped toy base lives; imported from here too)
from r1pipe.toy.corpus import pretraining_documents
from r1pipe.toy.preferences import non_reasoning_examples
from r1pipe.toy.task import r1_response, sample_problems

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", END_OF_TURN]
# Added as ordinary (not special) tokens, as R1-style tokenizers do, so decoding keeps them.
THINK_TOKENS = ["<think>", "</think>"]
# Qwen2's pre-tokenizer split, with digits one per token (a tiny model cannot learn multi-digit tokens).
_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def build_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on the toy texts, digits split one per token, R1 chat template."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=END_OF_TURN,
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=512,
    )
    fast.add_tokens(THINK_TOKENS)
    fast.chat_template = R1_CHATML
    return fast


# The shipped base (~0.9M parameters), and a smaller student built the same way for the
# distillation-versus-RL comparison (~0.2M; head_dim stays 32: vLLM's CPU attention rejects 16).
SIZES: dict[str, dict[str, Any]] = {
    "base": {"hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2},
    "student": {"hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1},
}  # fmt: skip


def build_model(tokenizer: PreTrainedTokenizerFast, seed: int, size: str = "base") -> Qwen2ForCausalLM:
    """A tiny Qwen2 of one of SIZES, tied embeddings, the R1 end of turn as EOS."""
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        **SIZES[size],
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids(END_OF_TURN),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.convert_tokens_to_ids(END_OF_TURN), tokenizer.pad_token_id],
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


def tokenizer_texts(digits: int, seed: int) -> list[str]:
    """Everything the toy pipeline will ever show the model, so BPE merges cover it."""
    docs = pretraining_documents(4000, digits=digits, seed=seed)
    problems = sample_problems(2000, digits=digits, split="train", seed=seed)
    chats = [p.prompt() + "\n" + r1_response(p) for p in problems]
    general = [m["content"] for row in non_reasoning_examples(200, seed=seed) for m in row["messages"]]
    roles = ["system\nuser\nassistant"] * 50
    # R1-Zero's template is ordinary English to a real tokenizer; without it in the texts, BPE splits
    # its preamble into ~220 tokens of letters, which the tiny model never saw that long.
    zero_template = [R1_ZERO_PREFIX] * 50
    return docs + chats + general + roles + zero_template


def packed_batches(token_ids: list[int], seq_len: int, batch_size: int, rng: random.Random):
    """Endless random windows over one long token stream, (B, T) each."""
    stream = torch.tensor(token_ids, dtype=torch.long)
    while True:
        starts = [rng.randrange(0, len(stream) - seq_len - 1) for _ in range(batch_size)]
        yield torch.stack([stream[s : s + seq_len] for s in starts])


def pretrain(
    model: Qwen2ForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    *,
    digits: int,
    steps: int,
    seed: int,
    lr: float = 3e-3,
    batch_size: int = 32,
    seq_len: int = 256,
    n_docs: int = 40000,
) -> list[float]:
    """Next-token pretraining on the domain corpus. Plain PyTorch: one loop, no Trainer needed.
    Windows of 256 tokens: R1-Zero's prompt (template and question, ~100 tokens) and its completion
    must fall inside positions the base was trained on."""
    docs = pretraining_documents(n_docs, digits=digits, seed=seed)
    ids: list[int] = []
    for doc in docs:
        ids += tokenizer(doc)["input_ids"] + [tokenizer.pad_token_id]
    batches = packed_batches(ids, seq_len, batch_size, random.Random(seed))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.95))
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)),
    )
    model.train()
    losses, t0 = [], time.time()
    for step in range(steps):
        batch = next(batches)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            log.info("pretrain step %d/%d loss %.4f (%.0fs)", step + 1, steps, loss.item(), time.time() - t0)
    model.eval()
    return losses
