"""Accuracy rewards: rule-based and binary (R1_RECIPE.md, Rewards)."""

from __future__ import annotations

import unicodedata

from r1pipe.rewards.answers import completion_text, extract_answer, extract_choice, last_boxed
from r1pipe.rewards.registry import register


@register("toy_accuracy")
def toy_accuracy(completions: list, answer: list[str], **_: object) -> list[float | None]:
    """1.0 when the extracted answer is the reference integer (the toy task), else 0.0."""
    scores: list[float | None] = []
    for completion, ref in zip(completions, answer, strict=True):
        got = extract_answer(unicodedata.normalize("NFKC", completion_text(completion)))
        got = got.replace(",", "").replace(" ", "") if got else None
        scores.append(1.0 if got is not None and got == str(ref).strip() else 0.0)
    return scores


@register("math_accuracy")
def math_accuracy(completions: list, answer: list[str], **_: object) -> list[float | None]:
    """Mathematical equivalence with math-verify (numbers, fractions, LaTeX, sets, intervals).

    The answer is the last \\boxed{} or <answer>, else math-verify's own extraction from the text
    after </think>. None when the reference cannot be parsed (math-verify then returns only the raw
    string): that is the dataset's fault, not the model's, and is counted, not scored 0.
    math-verify's own timeout relies on SIGALRM (main thread only); r1pipe bounds it instead by
    running rewards in worker processes (rewards/guard.py).
    """
    from math_verify import parse, verify

    scores: list[float | None] = []
    for completion, ref in zip(completions, answer, strict=True):
        gold = parse(_as_latex(str(ref)))
        if not any(not isinstance(g, str) for g in gold):
            scores.append(None)
            continue
        # NFKC folds full-width digits and compatibility forms (２ -> 2) that models emit in CJK text.
        pred = _parse_prediction(unicodedata.normalize("NFKC", completion_text(completion)), parse)
        scores.append(1.0 if pred and verify(gold, pred) else 0.0)
    return scores


@register("choice_accuracy")
def choice_accuracy(completions: list, answer: list[str], **_: object) -> list[float | None]:
    """Multiple choice (GPQA): 1.0 when the chosen letter (extract_choice) is the reference letter.
    None when the reference is not a single letter A-J (the dataset's fault, counted)."""
    scores: list[float | None] = []
    for completion, ref in zip(completions, answer, strict=True):
        gold = str(ref).strip().strip("()").upper()
        if len(gold) != 1 or gold not in "ABCDEFGHIJ":
            scores.append(None)
            continue
        got = extract_choice(unicodedata.normalize("NFKC", completion_text(completion)))
        scores.append(1.0 if got == gold else 0.0)
    return scores


def _as_latex(text: str) -> str:
    return text if "$" in text or "\\boxed" in text else f"${text}$"


def _parse_prediction(text: str, parse) -> list:
    """Boxed or tagged answers are parsed as LaTeX; otherwise math-verify extracts from the tail."""
    if last_boxed(text) is not None or "<answer>" in text:
        got = extract_answer(text)
        return parse(f"${got}$") if got else []
    tail = text.rsplit("</think>", 1)[1] if "</think>" in text else ""
    return parse(tail) if tail.strip() else []
