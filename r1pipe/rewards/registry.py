"""The reward registry: rewards are small pure functions picked by name from config.

Signature `(completions, **columns) -> list[float | None]`: TRL's GRPOTrainer calls reward
functions this way (completions plus the dataset's columns as keyword lists), so the same
functions serve RL, rejection sampling and evaluation. `None` means "cannot judge" (e.g. an
unparsable reference), never "wrong".
"""

from __future__ import annotations

from collections.abc import Callable

RewardFn = Callable[..., list[float | None]]
REWARDS: dict[str, RewardFn] = {}


def register(name: str) -> Callable[[RewardFn], RewardFn]:
    """Register a reward under `name` (the name used in config: reward.funcs)."""

    def wrap(fn: RewardFn) -> RewardFn:
        if name in REWARDS and REWARDS[name] is not fn:
            raise ValueError(f"reward {name!r} is registered twice")
        REWARDS[name] = fn
        return fn

    return wrap


def get_reward(name: str) -> RewardFn:
    if name not in REWARDS:
        raise KeyError(f"no reward named {name!r}; registered: {', '.join(sorted(REWARDS))}")
    return REWARDS[name]


def per_row(value: object, n: int) -> list:
    """A keyword argument as one value per row: a list or tuple of n values is used as is, anything
    else is repeated. Rewards take settings either way: once for the batch from a caller, or as a
    one-row column from the guard's workers (guard.py passes every keyword as a column)."""
    return list(value) if isinstance(value, list | tuple) and len(value) == n else [value] * n
