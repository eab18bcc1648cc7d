"""Format rewards: the R1 and R1-Zero output formats (R1_RECIPE.md, Templates and Rewards).

R1:      `<think> reasoning </think>` then a non-empty summary.
R1-Zero: `<think> reasoning </think>` then `<answer> answer </answer>` (whitespace allowed between).

Chat templates of R1-style models often prefill `<think>\\n` in the generation prompt, so the
completion starts directly with the reasoning. That is accepted only when the prompt really
prefilled it (`think_prefilled`, see `resolve_prefilled`): otherwise a completion that never opened
`<think>` would be rewarded for a format it did not follow.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from r1pipe.rewards.answers import completion_text
from r1pipe.rewards.registry import RewardFn, register

OPEN, CLOSE = "<think>", "</think>"
# think_prefilled: one bool for every row, a dataset column (one per row), or None (see below).
Prefilled = bool | Iterable[bool] | None
_ZERO_TAIL = re.compile(r"\s*<answer>(.*?)</answer>\s*", re.S)


def split_think(text: str, prefilled: bool = False) -> tuple[str, str] | None:
    """(reasoning, summary), both stripped, or None when the think block is malformed.

    Malformed: no `</think>` or more than one; the opening `<think>` missing at the start (or
    present at all when `prefilled`: a second one would be nested); `<think>` repeated; only
    whitespace inside. The summary may be empty: callers that need one (r1_format) check it.
    """
    if text.count(CLOSE) != 1:
        return None
    head, summary = text.split(CLOSE)
    if prefilled:
        if OPEN in text:
            return None
        reasoning = head
    else:
        head = head.lstrip()
        if not head.startswith(OPEN) or text.count(OPEN) != 1:
            return None
        reasoning = head[len(OPEN) :]
    if not reasoning.strip():
        return None
    return reasoning.strip(), summary.strip()


def _prompt_prefills_think(prompt: object) -> bool:
    """True when the visible prompt ends by opening `<think>` (a template rendered to text, or a
    chat whose last message is an assistant turn continued from `<think>`)."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        last = prompt[-1]
        return last.get("role") == "assistant" and str(last.get("content", "")).rstrip().endswith(OPEN)
    return isinstance(prompt, str) and prompt.rstrip().endswith(OPEN)


def resolve_prefilled(n: int, think_prefilled: Prefilled = None, prompts: list | None = None) -> list[bool]:
    """Per-row `think_prefilled`: a bool for all rows, a column (one bool per row), or, when not
    given, whether the prompt visibly prefilled `<think>`. Default False: opening tag required.

    Chat prompts passed as message lists do not show the generation prompt the template adds, so
    a run whose template prefills `<think>` must say so (reward kwarg or dataset column).
    """
    if isinstance(think_prefilled, bool):
        return [think_prefilled] * n
    if think_prefilled is not None:
        flags = [bool(f) for f in think_prefilled]
        if len(flags) != n:
            raise ValueError(f"think_prefilled has {len(flags)} values for {n} completions")
        return flags
    if prompts is not None and len(prompts) == n:
        return [_prompt_prefills_think(p) for p in prompts]
    return [False] * n


def with_think_prefilled(fn: RewardFn) -> RewardFn:
    """`fn` for a chat template that prefills `<think>`: think_prefilled=True unless a column
    says otherwise. Keeps `__name__`, which TRL logs rewards under (a functools.partial has none)."""

    @functools.wraps(fn)
    def wrapped(completions: list, **columns: object) -> list[float | None]:
        columns.setdefault("think_prefilled", True)
        return fn(completions, **columns)

    return wrapped


def is_r1_format(text: str, prefilled: bool = False) -> bool:
    parts = split_think(text, prefilled)
    return parts is not None and bool(parts[1])


def is_r1_zero_format(text: str, prefilled: bool = False) -> bool:
    parts = split_think(text, prefilled)
    if parts is None:
        return False
    # One <answer> pair in the whole text: a second one would be a second, competing answer.
    if text.count("<answer>") != 1 or text.count("</answer>") != 1:
        return False
    tail = _ZERO_TAIL.fullmatch(text.split(CLOSE)[1])
    return tail is not None and bool(tail.group(1).strip())


def _score(check, completions: list, think_prefilled: Prefilled, prompts: list | None) -> list[float | None]:
    flags = resolve_prefilled(len(completions), think_prefilled, prompts)
    return [1.0 if check(completion_text(c), f) else 0.0 for c, f in zip(completions, flags, strict=True)]


@register("r1_format")
def r1_format(
    completions: list, think_prefilled: Prefilled = None, prompts: list | None = None, **_: object
) -> list[float | None]:
    """1.0 for `<think> reasoning </think>` followed by a non-empty summary, else 0.0."""
    return _score(is_r1_format, completions, think_prefilled, prompts)


@register("r1_zero_format")
def r1_zero_format(
    completions: list, think_prefilled: Prefilled = None, prompts: list | None = None, **_: object
) -> list[float | None]:
    """1.0 for `<think> reasoning </think> <answer> answer </answer>`, nothing else after, else 0.0."""
    return _score(is_r1_zero_format, completions, think_prefilled, prompts)
