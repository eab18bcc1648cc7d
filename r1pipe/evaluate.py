"""Evaluation the paper's way, in small: k sampled answers per held-out problem (temperature 0.6,
top-p 0.95 by default, never greedy), judged by a registered accuracy reward; pass@1 is the mean
correctness over the k samples. Generation here is transformers `generate` (batched, left-padded);
issue 5 adds the vLLM engine behind the same call.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from datasets import Dataset
from omegaconf import DictConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from r1pipe.rewards import extract_answer
from r1pipe.rewards.build import build_accuracy

log = logging.getLogger(__name__)


def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    *,
    n: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
) -> list[list[str]]:
    """`n` completions per user prompt (chat template applied), as decoded text."""
    torch.manual_seed(seed)
    tokenizer.padding_side = "left"
    model.eval()
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    out: list[list[str]] = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            texts[start : start + batch_size], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(model.device)
        with torch.no_grad():
            generated = model.generate(  # type: ignore[operator]
                **batch,
                do_sample=temperature > 0,
                temperature=temperature or None,
                top_p=top_p if temperature > 0 else None,
                max_new_tokens=max_new_tokens,
                num_return_sequences=n,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )  # (B * n, T_prompt + T_new)
        new_tokens = generated[:, batch["input_ids"].shape[1] :]
        decoded = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        out += [decoded[i : i + n] for i in range(0, len(decoded), n)]
    return out


def evaluate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    problems: Dataset,
    cfg: DictConfig,
    failure_log: Path | None = None,
) -> dict:
    """pass@1 (mean over k samples), format rate and mean length on `problems` (prompt, answer)."""
    e = cfg.eval
    if e.num_problems:
        problems = problems.select(range(min(e.num_problems, len(problems))))
    t0 = time.time()
    samples = generate(
        model,
        tokenizer,
        list(problems["prompt"]),
        n=e.samples_per_problem,
        temperature=e.temperature,
        top_p=e.top_p,
        max_new_tokens=e.max_new_tokens,
        batch_size=e.batch_size,
        seed=e.seed,
    )
    reward = build_accuracy(cfg.reward, failure_log)  # worker processes, per-sample timeout
    flat = [c for group in samples for c in group]
    answers = [a for a in problems["answer"] for _ in range(e.samples_per_problem)]
    scores = reward(flat, answer=answers)
    judged = [s for s in scores if s is not None]
    lengths = [len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in flat]
    result = {
        "pass@1": round(sum(judged) / len(judged), 4) if judged else None,
        "problems": len(problems),
        "samples_per_problem": e.samples_per_problem,
        "answered": round(sum(extract_answer(c) is not None for c in flat) / len(flat), 4),
        "think_format": round(sum("</think>" in c for c in flat) / len(flat), 4),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "unjudged": len(scores) - len(judged),
        "seconds": round(time.time() - t0, 1),
        **reward.metrics(),
    }
    examples = [
        {"prompt": p, "answer": a, "completion": group[0], "score": scores[i * e.samples_per_problem]}
        for i, (p, a, group) in enumerate(zip(problems["prompt"], problems["answer"], samples, strict=True))
    ][:8]
    return {"metrics": result, "examples": examples}
