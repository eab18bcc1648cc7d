"""Loading models and tokenizers, the same code for the toy base, a local dir or a hub id."""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from r1pipe.models.chat_template import END_OF_TURN, TEMPLATES, r1_chatml_ending_with
from r1pipe.run.rundir import safetensors_header_reads

if TYPE_CHECKING:  # torch and transformers load in seconds: only the functions that use them import them
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

TOY = "toy"


def toy_base_dir() -> Path:
    """Where the shipped toy base model lives inside the installed package (no torch needed).
    Here, with model loading, rather than in toy/ (which builds it): `model.name_or_path=toy`
    is resolved by the layer below the toy."""
    return Path(str(resources.files("r1pipe") / "assets" / "toy_base"))


def resolve_model_path(name_or_path: str) -> str:
    """`toy` is the shipped toy base; anything else is passed to from_pretrained as given."""
    if name_or_path == TOY:
        return str(toy_base_dir())
    return name_or_path


def looks_local(name_or_path: str) -> bool:
    return name_or_path.startswith(("/", "./", "../", "~")) or Path(name_or_path).exists()


def model_dir_problem(path: str) -> str | None:
    """Why a local model dir cannot be loaded, or None: read without loading it (milliseconds
    for any size), so a corrupt or half-copied model is refused before the plan touches the run
    directory. Checked: config.json parses and names a model_type, there are weights, every
    safetensors file's header reads and its tensors fit in the file (a truncated copy), the
    shards an index names exist. (transformers' own checks run only inside from_pretrained.)"""
    p = Path(path).expanduser()
    if not p.exists():
        return f"model dir {p} does not exist"
    config = p / "config.json"
    if not config.is_file():
        return f"model dir {p} has no config.json (not a Hugging Face model directory)"
    try:
        parsed = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"{config} does not parse ({error})"
    if not isinstance(parsed, dict) or "model_type" not in parsed:
        return f"{config} has no model_type (not a transformers config)"
    return weights_problem(p)


def end_of_turn_problem(path: str) -> str | None:
    """Why the R1 chat template cannot end a turn with a token of this local model's tokenizer,
    read from its files without loading it (end_of_turn_token says the same at load time): no
    `<|im_end|>` among its tokens and no EOS. None when it can, or when the files do not say."""
    model_dir = Path(path).expanduser()
    config_file, vocab_file = model_dir / "tokenizer_config.json", model_dir / "tokenizer.json"
    if not config_file.is_file() or not vocab_file.is_file():
        return None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable files are reported when the tokenizer loads
    added = {t.get("content") for t in vocab.get("added_tokens", []) if isinstance(t, dict)}
    eos = config.get("eos_token")
    eos = eos.get("content") if isinstance(eos, dict) else eos
    if END_OF_TURN in added or eos:
        return None
    return (
        f"the tokenizer in {model_dir} has neither {END_OF_TURN} nor an EOS token: a model trained on it "
        "could never learn to stop"
    )


def weights_problem(model_dir: Path) -> str | None:
    """Why the weights in `model_dir` cannot be read, or None."""
    shards: list[Path] = []
    for index in sorted(model_dir.glob("*.index.json")):
        try:
            named = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError) as error:
            return f"{index} does not parse ({error})"
        missing = sorted(name for name in named if not (model_dir / name).is_file())
        if missing:
            return f"{index} names {len(missing)} missing weight file(s), e.g. {missing[0]} (an incomplete copy?)"
        shards += [model_dir / name for name in sorted(named)]
    safetensors = sorted({*shards, *model_dir.glob("*.safetensors")})
    for weights in safetensors:
        if weights.suffix == ".safetensors" and not safetensors_header_reads(weights):
            return f"{weights} is unreadable: its header does not parse or it is shorter than its tensors (truncated?)"
    if not safetensors and not any(f.stat().st_size > 0 for f in model_dir.glob("*.bin")):
        return f"model dir {model_dir} has no weights (*.safetensors or *.bin)"
    return None


def model_fingerprint(name_or_path: str) -> str:
    """Identity of an input model: its config, and each weight file's name, size and a sample of
    its bytes (the first and last 64 KiB and 16 blocks of 4 KiB spread between); for a hub id,
    the id itself. Sampled, not whole: hashing 15 GB of weights at every plan would take a
    minute, and a retrained model of the same shapes differs in every block sampled. No mtime:
    a copied model is the same model (names and sizes alone called a retrained one unchanged)."""
    path = Path(resolve_model_path(name_or_path)).expanduser()
    if not path.is_dir():
        return hashlib.sha256(name_or_path.encode()).hexdigest()[:16]
    h = hashlib.sha256((path / "config.json").read_bytes() if (path / "config.json").exists() else b"")
    for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
        h.update(sampled_bytes(f))
    return h.hexdigest()[:16]


def sampled_bytes(path: Path, edge: int = 64 << 10, block: int = 4 << 10, blocks: int = 16) -> bytes:
    """The start and end of a file and `blocks` evenly spaced blocks between (all of a small file)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        if size <= 2 * edge + blocks * block:
            return f.read()
        offsets = [0, *(edge + i * (size - 2 * edge) // blocks for i in range(blocks)), size - edge]
        sample = []
        for offset in offsets:
            f.seek(offset)
            sample.append(f.read(edge if offset in (0, size - edge) else block))
        return b"".join(sample)


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
        elif model_cfg.chat_template == "r1_chatml":
            tok.chat_template = r1_chatml_ending_with(end_of_turn_token(tok, path))
            log.info("%s has no %s: assistant turns end with its EOS %r", path, END_OF_TURN, tok.eos_token)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


class TokenizerError(Exception):
    """A tokenizer the R1 format cannot use; the message names the model and the fix."""


def end_of_turn_token(tok: PreTrainedTokenizerBase, path: str) -> str:
    """The token that closes an assistant turn for a tokenizer without `<|im_end|>`: its EOS, a
    single token of its vocabulary that training teaches and generation stops on."""
    eos = tok.eos_token
    if not eos or eos not in tok.get_vocab():
        raise TokenizerError(
            f"the tokenizer of {path} has neither {END_OF_TURN} nor an EOS token, so a model trained on it "
            "could never learn to stop: set eos_token in its tokenizer_config.json (a token of its "
            "vocabulary), or use model.chat_template=model with a template whose turns end in one"
        )
    return eos


def load_model(path: str, model_cfg: DictConfig) -> PreTrainedModel:
    kwargs = {"dtype": torch_dtype(model_cfg.dtype), "trust_remote_code": model_cfg.trust_remote_code}
    if model_cfg.attn_implementation:
        kwargs["attn_implementation"] = model_cfg.attn_implementation
    from transformers import AutoModelForCausalLM

    from r1pipe.models.attention import share_kv_heads_in_cpu_inference

    share_kv_heads_in_cpu_inference()
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)
