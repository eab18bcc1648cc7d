"""Loading models and tokenizers, the same code for the toy base, a local dir or a hub id."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from r1pipe.chat_template import END_OF_TURN, TEMPLATES

if TYPE_CHECKING:  # torch and transformers load in seconds: only the functions that use them import them
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

TOY = "toy"


def resolve_model_path(name_or_path: str) -> str:
    """`toy` is the shipped toy base; anything else is passed to from_pretrained as given."""
    if name_or_path == TOY:
        from r1pipe.toy import toy_base_dir

        return str(toy_base_dir())
    return name_or_path


def looks_local(name_or_path: str) -> bool:
    return name_or_path.startswith(("/", "./", "../", "~")) or Path(name_or_path).exists()


def model_dir_problem(path: str) -> str | None:
    """Why a local model dir cannot be used, or None if it looks loadable."""
    p = Path(path).expanduser()
    if not p.exists():
        return f"model dir {p} does not exist"
    if not (p / "config.json").is_file():
        return f"model dir {p} has no config.json (not a Hugging Face model directory)"
    return None


def model_fingerprint(name_or_path: str) -> str:
    """Identity of an input model: its config and weight files' names and sizes (cheap, no hashing
    of GBs of weights); for a hub id, the id itself."""
    path = Path(resolve_model_path(name_or_path)).expanduser()
    if not path.is_dir():
        return hashlib.sha256(name_or_path.encode()).hexdigest()[:16]
    h = hashlib.sha256((path / "config.json").read_bytes() if (path / "config.json").exists() else b"")
    for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def torch_dtype(name: str) -> torch.dtype:
    import torch

    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_tokenizer(path: str, model_cfg: DictConfig) -> PreTrainedTokenizerBase:
    """The tokenizer with the R1 chat template installed (unless `model.chat_template=model`)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=model_cfg.trust_remote_code)
    if model_cfg.chat_template != "model":
        tok.chat_template = TEMPLATES[model_cfg.chat_template]
        if END_OF_TURN in tok.get_vocab():
            tok.eos_token = END_OF_TURN  # generation must stop at the end of the assistant turn
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: str, model_cfg: DictConfig) -> PreTrainedModel:
    kwargs = {"dtype": torch_dtype(model_cfg.dtype), "trust_remote_code": model_cfg.trust_remote_code}
    if model_cfg.attn_implementation:
        kwargs["attn_implementation"] = model_cfg.attn_implementation
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, **kwargs)
