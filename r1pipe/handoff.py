"""The hand-off check: a stage's final model must load with plain transformers (and later vLLM)
and generate, before the stage writes its manifest. A model that cannot be loaded must never be
handed to the next stage as complete."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

log = logging.getLogger(__name__)


class HandoffError(Exception):
    pass


def check_loads_and_generates(model_dir: Path, prompt: str = "1 + 1 = ?") -> str:
    """Load `model_dir` with AutoModelForCausalLM/AutoTokenizer and greedily generate 8 tokens."""
    for required in ("config.json", "tokenizer_config.json"):
        if not (model_dir / required).is_file():
            raise HandoffError(f"{model_dir} lacks {required}; the stage did not save a complete model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    if not tokenizer.chat_template:
        raise HandoffError(f"{model_dir}: tokenizer has no chat template")
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)  # type: ignore[misc]
    sample = str(tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=False))
    log.info("hand-off check: %s loads with transformers and generates %r", model_dir, sample)
    return sample
