"""The hand-off check: a stage's final model must load with plain transformers and with vLLM and
generate, before the stage writes its manifest. A model that cannot be loaded must never be
handed to the next stage as complete.

The vLLM half (`generation.handoff_check_vllm`) runs by default where vLLM is installed and a GPU
is present; on CPU it costs ~35 s of engine start-up per stage, so there it runs when asked for
(`true`), and the `vllm` tests exercise it."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer

from r1pipe.generation import Sampling, open_engine, vllm_installed
from r1pipe.run.logs import process_rank

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


def wants_vllm_check(setting: str) -> bool:
    """generation.handoff_check_vllm: true | false | auto (vLLM installed and a GPU present)."""
    if setting == "auto":
        return vllm_installed() and torch.cuda.is_available()
    return setting == "true"


def check_loads_with_vllm(
    model_dir: Path, model_cfg: DictConfig, gen: DictConfig, prompt: str = "1 + 1 = ?"
) -> str:
    """Start vLLM on `model_dir`, greedily generate 8 tokens, shut it down."""
    settings = OmegaConf.merge(gen, {"backend": "vllm"})
    assert isinstance(settings, DictConfig)
    try:
        with open_engine(str(model_dir), model_cfg, settings) as engine:
            sample = engine.generate([prompt], ["handoff"], Sampling(n=1, temperature=0.0, max_tokens=8))[0]
    except Exception as e:
        raise HandoffError(
            f"{model_dir} does not load with vLLM ({e}); set generation.handoff_check_vllm=false to skip"
        ) from e
    log.info("hand-off check: %s loads with vLLM and generates %r", model_dir, sample.text)
    return sample.text


def check_handoff(model_dir: Path, cfg: DictConfig) -> None:
    """Both halves of the hand-off check, as the config asks; on the main process only (the saved
    directory is the same for every rank, and N engines beside N trainers would only cost
    memory). Called after the final save's barrier, so the directory is complete."""
    if process_rank() != 0:
        return
    check_loads_and_generates(model_dir)
    if wants_vllm_check(str(cfg.generation.handoff_check_vllm)):
        check_loads_with_vllm(model_dir, cfg.model, cfg.generation)
