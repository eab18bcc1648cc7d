"""Rewards: small pure functions behind a name registry, `(completions, **columns) -> list[float | None]`.

TRL's GRPOTrainer calls reward functions with this signature (completions plus the dataset's
columns as keyword lists), so the same functions serve RL, rejection sampling and evaluation.
`None` means "cannot judge" (e.g. an unparsable reference), never "wrong".
"""

from __future__ import annotations

import re
from collections.abc import Callable

RewardFn = Callable[..., list[float | None]]
REWARDS: dict[str, RewardFn] = {}


def register(name: str) -> Callable[[RewardFn], RewardFn]:
    def wrap(fn: RewardFn) -> RewardFn:
        REWARDS[name] = fn
        return fn

    return wrap


def get_reward(name: str) -> RewardFn:
    if name not in REWARDS:
        raise KeyError(f"no reward named {name!r}; registered: {', '.join(sorted(REWARDS))}")
    return REWARDS[name]


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced (\\boxed{\\frac{1}{2}} -> \\frac{1}{2})."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def extract_answer(text: str) -> str | None:
    """The final answer: last \\boxed{}, else <answer>...</answer>, else the text after </think>."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    tagged = re.findall(r"<answer>(.*?)</answer>", text, flags=re.S)
    if tagged:
        return tagged[-1].strip()
    if "</think>" in text:
        tail = text.rsplit("</think>", 1)[1].strip()
        return tail or None
    return None


def completion_text(completion) -> str:
    """TRL passes plain strings or, for chat datasets, [{role, content}] lists."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion)
    return completion


@register("toy_accuracy")
def toy_accuracy(completions: list, answer: list[str], **_: object) -> list[float | None]:
    """1.0 when the extracted answer is the reference integer (the toy task), else 0.0."""
    scores: list[float | None] = []
    for completion, ref in zip(completions, answer, strict=True):
        got = extract_answer(completion_text(completion))
        got = got.replace(",", "").replace(" ", "") if got else None
        scores.append(1.0 if got is not None and got == str(ref).strip() else 0.0)
    return scores


@register("math_accuracy")
def math_accuracy(completions: list, answer: list[str], **_: object) -> list[float | None]:
    """Mathematical equivalence with math-verify; None when the reference cannot be parsed.

    Considered: math_verify.verify alone. Its own timeout uses signals, which only work on the
    main thread; the hardened, worker-process version is issue 3's.
    """
    from math_verify import parse, verify

    scores: list[float | None] = []
    for completion, ref in zip(completions, answer, strict=True):
        gold = parse(f"${ref}$" if "$" not in str(ref) and "\\boxed" not in str(ref) else str(ref))
        if not gold:
            scores.append(None)
            continue
        got = extract_answer(completion_text(completion))
        pred = parse(f"${got}$") if got else []
        scores.append(1.0 if pred and verify(gold, pred) else 0.0)
    return scores
