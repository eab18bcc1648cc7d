"""The reward registry: rewards are small pure functions picked by name from config.

Signature `(completions, **columns) -> list[float | None]`: TRL's GRPOTrainer calls reward
functions this way (completions plus the dataset's columns as keyword lists), so the same
functions serve RL, rejection sampling and evaluation. `None` means "cannot judge" (e.g. an
unparsable reference), never "wrong".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


def declared_columns(fn: RewardFn) -> frozenset[str] | None:
    """The keyword arguments `fn` reads: an explicit `reward_columns` attribute, else the named
    parameters after `completions`. None (it may read any column) when it collects the rest
    under a name other than `_` (`**columns`). The built-ins name what they read and drop the
    rest in `**_`, so a hub set's large columns (OpenR1-Math's `generations` and `messages`, ~50
    KiB a row) never travel to reward workers or into reward_failures.jsonl."""
    explicit = getattr(fn, "reward_columns", None)
    if explicit is not None:
        return frozenset(explicit)
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: nothing to read, so ship everything
        return None
    if any(p.kind is p.VAR_KEYWORD and p.name != "_" for p in parameters):
        return None
    named = (p.name for p in parameters[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return frozenset(named)


def columns_for(fn: RewardFn, columns: Mapping[str, Any], always: Iterable[str] = ()) -> dict[str, Any]:
    """`columns` cut to what `fn` declares (declared_columns), plus the `always` names."""
    wanted = declared_columns(fn)
    if wanted is None:
        return dict(columns)
    keep = wanted | frozenset(always)
    return {k: v for k, v in columns.items() if k in keep}
