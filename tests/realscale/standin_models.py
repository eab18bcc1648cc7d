"""Tiny models of the real-scale presets' architectures, built here (nothing downloaded):

- policy, Qwen2 as Qwen2.5-1.5B: tied input/output embeddings, grouped-query attention, a ChatML
  byte-level BPE tokenizer whose EOS is `<|endoftext|>` (a base model's), with Qwen's own chat
  template (r1pipe installs the R1 one);
- policy, Llama as Llama 3: its own byte-level BPE tokenizer with `<|begin_of_text|>` added to
  every encoding and `<|end_of_text|>` as EOS, no ChatML tokens, untied embeddings;
- judge, Qwen2 as Qwen2.5-7B-Instruct: the ChatML tokenizer with EOS `<|im_end|>` and its chat
  template (the judge is loaded with its own template);
- reward model, Qwen3ForSequenceClassification as Skywork-Reward-V2-Qwen3-1.7B: one label,
  random weights (scores differ by input; the preset normalises them per batch).

A random policy would write noise, and every stage would then do nothing real: no answer to
verify, no sample through stage 3's funnel. So the policies are trained here for a few seconds to
write R1-format answers through the exact chat template r1pipe uses
(`<think>\\n...\\n</think>\\n\\nThe answer is \\boxed{2}.`, 2 or 3 at random: groups of samples
then differ in accuracy), and the judge to answer CORRECT. The stand-in data's math answers are
mostly 2 or 3 (standin_data.py), so RL has reward spread and stage 3 keeps samples.

Usage: python tests/realscale/standin_models.py OUT_DIR   (OUT_DIR/policy_qwen2, policy_llama,
judge_qwen2_instruct, reward_qwen3)
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import OmegaConf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen3Config,
    Qwen3ForSequenceClassification,
)

from r1pipe.models.loading import load_tokenizer
from r1pipe.rejection.judge import JUDGE_PROMPT

SEED = 1234

# Qwen2.5's chat template, shortened (no tools): ChatML with a default system turn.
QWEN_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

MATH_QUESTIONS = [
    "What is 1 + 1?",
    "How many apples are left if Tom has 5 apples and eats 3?",
    "Solve for x: 2x = 6.",
    "Find the smallest prime number.",
    "What is the value of 9 divided by 3?",
    "A triangle has angles of 60 and 60 degrees. How many sides are equal?",
]
ZH_QUESTIONS = ["计算 1 + 1 的值。", "小明有五个苹果，吃了三个，还剩几个？"]
GENERAL_QUESTIONS = ["Write a haiku about autumn.", "Give me a tip for sleeping well.", "Say hello."]
EN_THOUGHTS = [
    "We read the problem and compute the result step by step.",
    "Let me work it out carefully and check the result.",
    "First we simplify the expression, then we verify it.",
    "We count the items one by one and confirm the total.",
]
ZH_THOUGHTS = ["我们一步一步地计算结果。", "先化简，再检查答案。"]


def r1_answer(rng: random.Random, language: str = "en") -> str:
    thought = rng.choice(ZH_THOUGHTS if language == "zh" else EN_THOUGHTS)
    n = rng.choice(["2", "3"])
    summary = f"答案是 \\boxed{{{n}}}。" if language == "zh" else f"The answer is \\boxed{{{n}}}."
    return f"<think>\n{thought}\n</think>\n\n{summary}"


def general_answer(rng: random.Random) -> str:
    reply = rng.choice(
        ["Here is a short reply.", "Hello! Happy to help.", "Sleep at the same time each day."]
    )
    return f"<think>\nThe user asks for a short reply.\n</think>\n\n{reply}"


def training_chats(rng: random.Random, n: int) -> list[list[dict[str, str]]]:
    """Chats that teach the R1 format: math (English, Chinese) and general requests."""
    chats = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.6:
            q, a = rng.choice(MATH_QUESTIONS), r1_answer(rng)
        elif kind < 0.75:
            q, a = rng.choice(ZH_QUESTIONS), r1_answer(rng, "zh")
        else:
            q, a = rng.choice(GENERAL_QUESTIONS), general_answer(rng)
        chats.append([{"role": "user", "content": q}, {"role": "assistant", "content": a}])
    return chats


def corpus() -> list[str]:
    rng = random.Random(SEED)
    texts = [json.dumps(chat, ensure_ascii=False) for chat in training_chats(rng, 400)]
    texts += [JUDGE_PROMPT, QWEN_TEMPLATE, "CORRECT INCORRECT The answer is \\boxed{1/2}. 0123456789"]
    return texts * 3


def bpe(specials: list[str], vocab_size: int = 1200) -> Tokenizer:
    """A byte-level BPE (as Qwen2 and Llama 3 use), trained on this module's corpus."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus(), trainer)
    return tok


def qwen_tokenizer(out: Path, instruct: bool = False) -> PreTrainedTokenizerFast:
    """ChatML tokens; a base model's EOS is <|endoftext|>, an instruct model's <|im_end|>."""
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
        eos_token="<|im_end|>" if instruct else "<|endoftext|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN_TEMPLATE,
    )
    tok.save_pretrained(out)
    return tok


def llama_tokenizer(out: Path) -> PreTrainedTokenizerFast:
    """Llama 3 base: <|begin_of_text|> prepended to every encoding, <|end_of_text|> as EOS, no
    pad token and no chat template."""
    raw = bpe(["<|begin_of_text|>", "<|end_of_text|>"])
    bos = raw.token_to_id("<|begin_of_text|>")
    raw.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A",
        pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)],
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>"
    )
    tok.save_pretrained(out)
    return tok


def small(config_cls, tok: PreTrainedTokenizerFast, **extra):
    """A config of the architecture at toy size (head_dim 32: vLLM's CPU attention needs >= 32)."""
    return config_cls(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **extra,
    )


def teach(
    model_dir: Path, chats: Sequence[list[dict[str, str]]], chat_template: str, steps: int = 600
) -> None:
    """Train the saved model in `model_dir` on `chats` rendered by r1pipe's own tokenizer loading
    (its chat template and end-of-turn token), so it writes what the pipeline will ask of it."""
    model_cfg = OmegaConf.create(
        {
            "chat_template": chat_template,
            "trust_remote_code": False,
            "dtype": "float32",
            "attn_implementation": None,
        }
    )
    tok = load_tokenizer(str(model_dir), model_cfg)
    texts = [tok.apply_chat_template(chat, tokenize=False) for chat in chats]
    encoded = tok(texts, add_special_tokens=False)["input_ids"]
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    model.train()
    for _ in range(steps):
        batch = rng.sample(encoded, 16)
        width = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, row in enumerate(batch):
            ids[i, : len(row)], labels[i, : len(row)], mask[i, : len(row)] = (
                torch.tensor(row),
                torch.tensor(row),
                1,
            )
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(model_dir)


def build_policy(out: Path, arch: str) -> Path:
    torch.manual_seed(SEED)
    out.mkdir(parents=True, exist_ok=True)
    if arch == "qwen2":
        tok = qwen_tokenizer(out)
        config = small(Qwen2Config, tok, tie_word_embeddings=True, rope_theta=1_000_000.0)
    else:
        tok = llama_tokenizer(out)
        config = small(LlamaConfig, tok, tie_word_embeddings=False)
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    teach(out, training_chats(random.Random(SEED), 800), "r1_chatml")
    return out


def build_judge(out: Path) -> Path:
    """Replies CORRECT to the stage-3 judge prompt (r1pipe.rejection.judge.JUDGE_PROMPT)."""
    torch.manual_seed(SEED)
    out.mkdir(parents=True, exist_ok=True)
    tok = qwen_tokenizer(out, instruct=True)
    AutoModelForCausalLM.from_config(small(Qwen2Config, tok, tie_word_embeddings=False)).save_pretrained(out)
    rng = random.Random(SEED)
    chats = [
        [
            {
                "role": "user",
                "content": JUDGE_PROMPT.format(question=rng.choice(MATH_QUESTIONS), reference=r, answer=a),
            },
            {"role": "assistant", "content": "CORRECT"},
        ]
        for r, a in [
            (rng.choice(["2", "x = 3", "the triangle is isosceles"]), rng.choice(["2", "3"]))
            for _ in range(200)
        ]
    ]
    teach(out, chats, "model", steps=150)
    return out


def build_reward_model(out: Path) -> Path:
    torch.manual_seed(SEED)
    out.mkdir(parents=True, exist_ok=True)
    tok = qwen_tokenizer(out, instruct=True)
    config = small(Qwen3Config, tok, head_dim=32, num_labels=1, tie_word_embeddings=False)
    Qwen3ForSequenceClassification(config).save_pretrained(out)
    return out


def build_models(root: Path) -> dict[str, Path]:
    """Every stand-in model under root (seconds each)."""
    root = Path(root)
    return {
        "policy_qwen2": build_policy(root / "policy_qwen2", "qwen2"),
        "policy_llama": build_policy(root / "policy_llama", "llama"),
        "judge_qwen2_instruct": build_judge(root / "judge_qwen2_instruct"),
        "reward_qwen3": build_reward_model(root / "reward_qwen3"),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/realscale/standin_models.py OUT_DIR")
    for name, path in build_models(Path(sys.argv[1])).items():
        print(f"{name}: {path}")
