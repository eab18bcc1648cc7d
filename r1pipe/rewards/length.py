"""Length and repetition penalties (R1_RECIPE.md: DAPO's soft overlong penalty; endless
repetition is a failure mode the paper reports).

Registered rewards are called with (completions, **columns) only, so the parameters live in
factories; the registry holds their defaults (soft_overlong: 4096 / 512, repetition_penalty:
3-grams / -1.0). A config that needs other values registers its own:
`register("soft_overlong_8k")(make_soft_overlong(8192, 1024))`.
"""

from __future__ import annotations

from r1pipe.rewards.answers import completion_text
from r1pipe.rewards.registry import RewardFn, register


def overlong_penalty(length: int, max_len: int, cache_len: int) -> float:
    """DAPO: 0 up to max_len - cache_len, then linear down to -1 at max_len, -1 beyond."""
    budget = max_len - cache_len
    if length <= budget:
        return 0.0
    if length <= max_len:
        return (budget - length) / cache_len
    return -1.0


def token_counts(completions: list, columns: dict) -> list[int]:
    """Lengths in tokens when TRL gives them (`completion_ids`, or a `completion_lengths`
    column); otherwise whitespace-separated words, a rough stand-in that undercounts tokens
    (about 0.75 words a token in English, and a whole line of Chinese is one "word")."""
    if columns.get("completion_ids") is not None:
        return [len(ids) for ids in columns["completion_ids"]]
    if columns.get("completion_lengths") is not None:
        return [int(n) for n in columns["completion_lengths"]]
    return [len(completion_text(c).split()) for c in completions]


def make_soft_overlong(max_len: int = 4096, cache_len: int = 512) -> RewardFn:
    """DAPO's soft overlong penalty; max_len should be the trainer's max_completion_length."""
    if not 0 < cache_len <= max_len:
        raise ValueError(f"need 0 < cache_len <= max_len, got cache_len={cache_len}, max_len={max_len}")

    def soft_overlong(
        completions: list,
        completion_ids: list | None = None,
        completion_lengths: list | None = None,
        **_: object,
    ) -> list[float | None]:
        lengths = token_counts(
            completions, {"completion_ids": completion_ids, "completion_lengths": completion_lengths}
        )
        return [overlong_penalty(n, max_len, cache_len) for n in lengths]

    return soft_overlong


def repeated_ngram_fraction(text: str, ngram_size: int) -> float:
    """1 - distinct/total over the lowercased whitespace n-grams; 0 for text shorter than one
    n-gram. Whitespace words as in open-r1: scripts written without spaces get few n-grams."""
    tokens = text.lower().split()
    grams = [tuple(tokens[i : i + ngram_size]) for i in range(len(tokens) - ngram_size + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def make_repetition_penalty(ngram_size: int = 3, max_penalty: float = -1.0) -> RewardFn:
    """open-r1's get_repetition_penalty_reward: max_penalty * (fraction of repeated n-grams)."""
    if ngram_size < 1:
        raise ValueError(f"ngram_size must be >= 1, got {ngram_size}")
    if max_penalty > 0:
        raise ValueError(f"max_penalty is a penalty, so <= 0; got {max_penalty}")

    def repetition_penalty(completions: list, **_: object) -> list[float | None]:
        # `+ 0.0` turns -0.0 (no repetition times a negative scale) into 0.0.
        return [
            max_penalty * repeated_ngram_fraction(completion_text(c), ngram_size) + 0.0 for c in completions
        ]

    return repetition_penalty


soft_overlong = register("soft_overlong")(make_soft_overlong())
repetition_penalty = register("repetition_penalty")(make_repetition_penalty())
