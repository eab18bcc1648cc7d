"""Accuracy rewards: rule-based and binary (R1_RECIPE.md, Rewards)."""

from __future__ import annotations

from r1pipe.rewards.answers import completion_text, extract_answer
from r1pipe.rewards.registry import register


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
