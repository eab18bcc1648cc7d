"""What every generation engine takes and returns, so stages never care which one runs.

An engine turns user prompts into `n` sampled completions each. The chat template of the model's
tokenizer frames the prompt (r1pipe installs the R1 template, whose end-of-turn token is the EOS
that generation stops on), and both engines return the same `Sample` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from r1pipe.models.prompt_length import check_fits, prompt_token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Sampling:
    """Sampling settings of one generate call (the paper samples with temperature and top-p)."""

    n: int = 1  # completions per prompt
    temperature: float = 0.6  # 0: greedy
    top_p: float = 0.95  # nucleus sampling
    max_tokens: int = 256  # new tokens per completion
    seed: int = 0  # the same seed, prompts and engine give the same samples


@dataclass(frozen=True)
class Sample:
    prompt_id: str  # the prompt's id in its dataset
    sample_index: int  # 0 .. n-1 within the prompt
    text: str  # the completion, special tokens removed, EOS excluded
    num_tokens: int  # generated tokens, the EOS included when it was generated
    finish_reason: FinishReason  # stop: ended with EOS; length: hit max_tokens


class Engine(Protocol):
    """A loaded model that samples completions; `close()` releases its memory (GPU first of all)."""

    backend: str
    tokenizer: PreTrainedTokenizerBase  # r1pipe's chat template installed (models.load_tokenizer)

    @property
    def max_positions(self) -> int | None:
        """Tokens the model takes, prompt and completion together (None: not known)."""
        ...

    def generate(self, prompts: Sequence[str], prompt_ids: Sequence[str], sampling: Sampling) -> list[Sample]:
        """`sampling.n` samples per prompt, grouped by prompt in input order."""
        ...

    def close(self) -> None: ...


def encoded_prompts(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    prompt_ids: Sequence[str],
    max_tokens: int,
    positions: int | None,
) -> list[list[int]]:
    """What both engines do before generating: the ids match the prompts, each prompt framed
    and tokenized, and every one fits the model's positions with `max_tokens` after it."""
    check_ids(prompts, prompt_ids)
    encoded = prompt_token_ids(tokenizer, prompts)
    check_fits([str(i) for i in prompt_ids], [len(ids) for ids in encoded], max_tokens, positions)
    return encoded


def check_ids(prompts: Sequence[str], prompt_ids: Sequence[str]) -> None:
    if len(prompts) != len(prompt_ids):
        raise ValueError(f"{len(prompts)} prompts but {len(prompt_ids)} prompt ids")


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, generation_eos: int | list[int] | None) -> list[int]:
    """Every token that ends a completion: the tokenizer's end of turn and the model's
    generation_config.eos_token_id (an int or a list). TRL's GRPO rollouts stop at the latter, so
    evaluation and sampling must too: a base model ends a document with `<|endoftext|>`, not the
    chat template's `<|im_end|>`, and an engine that waited for the one would run every R1-Zero
    completion to its token limit and judge text the trained model never wrote."""
    ids = [tokenizer.eos_token_id]
    extra = generation_eos if isinstance(generation_eos, list) else [generation_eos]
    ids += [i for i in extra if i is not None and i not in ids]
    return [i for i in ids if i is not None]
