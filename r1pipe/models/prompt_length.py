"""Prompts that do not fit the model: refused, dropped or truncated (data.long_prompts), said once.

A prompt plus the tokens generated after it must fit the model's positions
(config.max_position_embeddings). Past them, transformers' generate does not stop: it runs on
with positions the model never learned (an 18,000-token prompt on a 512-position model generated
for hours and grew a stage to 14 GB), and TRL 1.16's GRPOConfig has no max_prompt_length any more.
So every stage that generates from a prompt set checks it once, when it loads it:

    error     (default) stop with the count, the longest prompt and the fix
    drop      leave those prompts out (a warning with the count)
    truncate  keep the end of each long prompt (the question usually comes last; TRL's old
              max_prompt_length truncated on the same side)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)


class PromptTooLong(ValueError):
    """Prompts longer than the model can take, with data.long_prompts=error."""


def model_positions(config: Any) -> int | None:
    """How many positions the model takes (None: its config does not say): max_position_embeddings,
    stretched by a RoPE scaling factor where the config has one (`original_max_position_embeddings`
    x factor for YaRN-style configs that keep the original length)."""

    def get(name: str) -> Any:
        return config.get(name) if isinstance(config, dict) else getattr(config, name, None)

    positions = next(
        (v for n in ("max_position_embeddings", "n_positions") if isinstance(v := get(n), int) and v > 0),
        None,
    )
    scaling = get("rope_scaling") or get("rope_parameters")  # transformers 5 renamed it
    if positions and isinstance(scaling, dict) and isinstance(scaling.get("factor"), int | float):
        base = scaling.get("original_max_position_embeddings") or positions
        positions = max(positions, int(base * scaling["factor"]))
    return positions


def check_fits(prompt_ids: list[str], lengths: list[int], new_tokens: int, positions: int | None) -> None:
    """The generation engines' last line: refuse (naming the prompt) a prompt that with
    `new_tokens` does not fit; stages fit their prompt sets earlier (`fit_prompts`)."""
    if positions is None:
        return
    for prompt_id, length in zip(prompt_ids, lengths, strict=True):
        if length + new_tokens > positions:
            raise PromptTooLong(
                f"prompt {prompt_id} has {length} tokens; with {new_tokens} new tokens that is more than "
                f"the model's {positions} positions. Fix: data.long_prompts=drop or truncate, or generate fewer tokens"
            )


def prompt_token_ids(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str]) -> list[list[int]]:
    """Each user prompt framed by the chat template (assistant turn opened), as token ids."""
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    return [tokenizer(str(t), add_special_tokens=False)["input_ids"] for t in texts]


def rendered_lengths(tokenizer: PreTrainedTokenizerBase, prompts: list[str]) -> list[int]:
    """Tokens of each prompt as the model sees it: a user turn in the chat template, the
    assistant turn opened (the same rendering as generation/base.py and TRL)."""
    return [len(ids) for ids in prompt_token_ids(tokenizer, prompts)]


def fit_prompts(
    ds: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    positions: int | None,
    new_tokens: int,
    policy: str,
    what: str,
) -> Dataset:
    """`ds` (a `prompt` column of user texts) with every prompt fitting `positions` less
    `new_tokens`, by `policy`. `what` names the prompt set in the messages."""
    if positions is None or len(ds) == 0:
        return ds
    budget = positions - new_tokens
    if budget <= 0:
        raise PromptTooLong(
            f"{what}: {new_tokens} new tokens leave no room for a prompt in the model's {positions} "
            "positions; lower the stage's max_completion_length / max_new_tokens"
        )
    lengths = rendered_lengths(tokenizer, list(ds["prompt"]))
    long = [i for i, n in enumerate(lengths) if n > budget]
    if not long:
        return ds
    longest = max(long, key=lambda i: lengths[i])
    said = (
        f"{what}: {len(long)} of {len(ds)} prompts are longer than {budget} tokens (the model's "
        f"{positions} positions less {new_tokens} generated tokens); the longest, row {longest}, "
        f"has {lengths[longest]} tokens"
    )
    if policy == "drop":
        log.warning("%s; dropped (data.long_prompts=drop)", said)
        too_long = set(long)
        return ds.select([i for i in range(len(ds)) if i not in too_long])
    if policy == "truncate":
        log.warning("%s; each keeps its last tokens (data.long_prompts=truncate)", said)
        too_long = set(long)
        return ds.map(
            lambda row, i: {"prompt": _keep_end(tokenizer, row["prompt"], budget)} if i in too_long else {},
            with_indices=True,
        )
    raise PromptTooLong(
        f"{said}. Fix: data.long_prompts=drop (leave them out) or data.long_prompts=truncate (keep "
        "their end), or generate fewer tokens"
    )


def _keep_end(tokenizer: PreTrainedTokenizerBase, text: str, budget: int) -> str:
    """The end of `text`, as long as its rendering fits `budget` tokens. Decoding a cut and
    encoding it again can merge tokens differently, so the cut is checked and shortened."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    excess = rendered_lengths(tokenizer, [text])[0] - budget
    keep = len(ids) - excess
    while keep > 0:
        cut = str(tokenizer.decode(ids[-keep:]))
        over = rendered_lengths(tokenizer, [cut])[0] - budget
        if over <= 0:
            return cut
        keep -= over
    raise PromptTooLong(
        f"the chat template alone takes more than {budget} tokens: no prompt fits; generate fewer tokens"
    )


def fit_prompts_to_model_dir(
    ds: Dataset, model_dir: str, model_cfg: Any, new_tokens: int, policy: str, what: str
) -> Dataset:
    """`fit_prompts` for a saved model that is not loaded yet (a sampling step: the engine loads
    later, shard by shard): reads only its config.json and tokenizer."""
    import json
    from pathlib import Path

    from r1pipe.models.loading import load_tokenizer

    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return fit_prompts(
        ds, load_tokenizer(model_dir, model_cfg), model_positions(config), new_tokens, policy, what
    )
