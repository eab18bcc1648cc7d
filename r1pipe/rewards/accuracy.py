"""Accuracy rewards: rule-based and binary (R1_RECIPE.md, Rewards), on the final answer only.

Every accuracy reward reads the final region (answers.final_region: the text after the last
`</think>`; `reward.without_think_end` decides completions that never close their reasoning) and
requires every answer marked there (each \\boxed{}, else each <answer>) to be right: a summary
that hedges ("\\boxed{41} or \\boxed{42}", "\\boxed{41 \\lor 42}", "\\boxed{A, B}") earns 0.

Agreement with TRL (trl.rewards.reasoning_accuracy_reward, math-verify under the hood), checked
case by case in tests/unit/test_reward_attacks.py: the same final region (after the last
`</think>`, 0 without one), the same math-verify equivalence, and hedges unpaid in both (TRL's
math-verify reads several boxes as one set; r1pipe requires every box to be right and rejects
`\\lor`/"or" inside one). Deliberate differences:
- a reference math-verify reads only inside `$...$` ("x^2+1", "(1,2]"): TRL skips it (None),
  r1pipe judges it;
- a short text reference ("Monday", "\\text{east}", "no"): TRL skips it (None), r1pipe compares
  normalised text (math-verify would read a product of letters, so "on" would equal "no");
  a longer one (a sentence) is None, for the generative judge;
- a summary with no box: TRL needs LaTeX after an anchor, r1pipe also accepts a plain
  expression ("so it is 12"), as math-verify's default extraction does.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from typing import Literal

from r1pipe.rewards.answers import (
    WithoutThinkEnd,
    completion_text,
    extract_choice,
    final_region,
    tagged_answers,
)
from r1pipe.rewards.deadline import DEFAULT_SECONDS, verification_deadline
from r1pipe.rewards.registry import per_row, register

MAX_ANSWERS = 3  # distinct marked answers judged in one summary; more is a hedge, scored 0
MAX_TEXT_REFERENCE_WORDS = 4  # a longer text reference is a sentence: rules cannot judge it
# Alternatives inside one answer: "41 \lor 42", "41 \text{ or } 42" (math-verify keeps one side).
_HEDGE = re.compile(r"\\lor(?![A-Za-z])|\\vee(?![A-Za-z])|\bor\b", re.I)
_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
# Names that are maths, not text, in a reference ("\sin x", "\infty", "pi", "e^{i pi}").
# fmt: off
_MATH_NAMES = frozenset([
    "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "lg", "exp", "lim", "max", "min",
    "gcd", "lcm", "det", "deg", "mod", "pi", "infty", "inf", "sqrt", "arcsin", "arccos", "arctan",
])
# fmt: on


@register("toy_accuracy")
def toy_accuracy(
    completions: list, answer: list[str], without_think_end: WithoutThinkEnd = "no_answer", **_: object
) -> list[float | None]:
    """1.0 when every answer of the final region (else the bare summary) is the reference integer."""
    scores: list[float | None] = []
    scopes = per_row(without_think_end, len(completions))
    for completion, ref, scope in zip(completions, answer, scopes, strict=True):
        region = final_region(_normalized(completion), scope)
        given = (tagged_answers(region) or [region.strip()]) if region is not None else []
        given = [a.replace(",", "").replace(" ", "") for a in given]
        scores.append(1.0 if given and all(a == str(ref).strip() for a in given) else 0.0)
    return scores


@register("math_accuracy")
def math_accuracy(
    completions: list,
    answer: list[str],
    without_think_end: WithoutThinkEnd = "no_answer",
    verify_timeout_s: float = DEFAULT_SECONDS,
    **_: object,
) -> list[float | None]:
    """Mathematical equivalence with math-verify (numbers, fractions, LaTeX, sets, intervals) of
    every answer of the final region (each \\boxed{}, else each <answer>, else math-verify's own
    extraction from the summary). Short text references are compared as normalised text.

    None when the reference cannot be judged by rules (math-verify cannot parse it, or it is a
    sentence): that is the dataset's fault, not the model's, and is counted, not scored 0.
    Each sample's whole verification runs under one deadline of `verify_timeout_s`
    (rewards/deadline.py; the guard passes half its own timeout): past it the sample raises
    VerificationTimeout, counted as a timeout, the same verdict every time.
    """
    scores: list[float | None] = []
    n = len(completions)
    rows = zip(completions, answer, per_row(without_think_end, n), per_row(verify_timeout_s, n), strict=True)
    for completion, ref, scope, seconds in rows:
        region = final_region(_normalized(completion), scope)
        with verification_deadline(seconds) as bounded:
            scores.append(_judge_math(region, str(ref), bounded))
    return scores


@register("choice_accuracy")
def choice_accuracy(
    completions: list, answer: list[str], without_think_end: WithoutThinkEnd = "no_answer", **_: object
) -> list[float | None]:
    """Multiple choice (GPQA): 1.0 when the final region names exactly one letter (extract_choice)
    and it is the reference letter. None when the reference is not a single letter A-J (the
    dataset's fault, counted)."""
    scores: list[float | None] = []
    scopes = per_row(without_think_end, len(completions))
    for completion, ref, scope in zip(completions, answer, scopes, strict=True):
        gold = str(ref).strip().strip("()").upper()
        if len(gold) != 1 or gold not in "ABCDEFGHIJ":
            scores.append(None)
            continue
        got = extract_choice(_normalized(completion), without_think_end=scope)
        scores.append(1.0 if got == gold else 0.0)
    return scores


def _normalized(completion: object) -> str:
    # NFKC folds full-width digits and compatibility forms (２ -> 2) that models emit in CJK text.
    return unicodedata.normalize("NFKC", completion_text(completion))


ReferenceKind = Literal["math", "text"]


def reference_kind(ref: str) -> ReferenceKind | None:
    """ "text" for a short answer in words and no digits ("Monday", "\\text{east}", "no"), None for
    a longer one (a sentence), else "math". Single letters, LaTeX commands and math names
    (sin, pi, infty) are maths: "x^2+1", "\\sqrt{2}", "B" are not text."""
    plain = _LATEX_COMMAND.sub(" ", _TEXT_WRAPPERS.sub(r" \1 ", unicodedata.normalize("NFKC", ref)))
    words = [w for w in _LETTER_WORD.findall(plain) if w.lower() not in _MATH_NAMES]
    if not words or any(c.isdigit() for c in plain):
        return "math"
    return "text" if len(plain.split()) <= MAX_TEXT_REFERENCE_WORDS else None


def normalized_text(text: str) -> str:
    """Text answers compared case-, punctuation- and spacing-blind, LaTeX text wrappers removed:
    "\\text{East}." == "east", "forty-two" == "forty two"."""
    text = _TEXT_WRAPPERS.sub(r" \1 ", unicodedata.normalize("NFKC", text))
    text = re.sub(r"[^\w\s]|_", " ", _LATEX_COMMAND.sub(" ", text).replace("$", " "))
    return " ".join(text.casefold().split())


def _judge_math(region: str | None, ref: str, bounded: bool) -> float | None:
    kind = reference_kind(ref)
    if kind is None:
        return None
    if kind == "text":
        gold_text = normalized_text(ref)
        if not gold_text:
            return None
        if region is None:
            return 0.0
        given = tagged_answers(region) or [region]
        return 1.0 if all(normalized_text(a) == gold_text for a in given) else 0.0
    gold = _gold(ref, bounded)
    if gold is None:
        return None
    if region is None:
        return 0.0
    return 1.0 if _all_equivalent(gold, region, bounded) else 0.0


def _all_equivalent(gold: list, region: str, bounded: bool) -> bool:
    from math_verify import parse, verify

    timeout = math_verify_timeout(bounded)
    marked = list(dict.fromkeys(tagged_answers(region)))
    if not marked:  # a bare summary: math-verify extracts the answer itself
        pred = parse(region, parsing_timeout=timeout) if region.strip() else []
        return bool(pred) and verify(gold, pred, timeout_seconds=timeout)
    if len(marked) > MAX_ANSWERS or any(_HEDGE.search(a) for a in marked):
        return False
    for answer in marked:
        pred = parse(f"${answer}$", parsing_timeout=timeout)
        if not pred or not verify(gold, pred, timeout_seconds=timeout):
            return False
    return True


def _gold(ref: str, bounded: bool) -> list | None:
    """math-verify's reading of a math reference, cached (a group's G samples share it); None
    when it cannot read one (it then returns only the raw string)."""
    parsed = _parse_reference(ref if "$" in ref or "\\boxed" in ref else f"${ref}$", bounded)
    return parsed if any(not isinstance(g, str) for g in parsed) else None


@functools.lru_cache(maxsize=4096)
def _parse_reference(latex: str, bounded: bool) -> list:
    from math_verify import parse

    return parse(latex, parsing_timeout=math_verify_timeout(bounded))


def math_verify_timeout(bounded: bool) -> int | None:
    """math-verify's own per-call bound (whole seconds, by `signal.alarm`) only where ours
    (deadline.py) is off, and only on the main thread: alarm raises ValueError elsewhere, and a
    reward called from a thread (TRL's own reward tests, a thread pool) runs unbounded as TRL's
    rewards do, its worker process being the bound."""
    if bounded or threading.current_thread() is not threading.main_thread():
        return None
    return 5


class _DropTimeoutDisabledWarning(logging.Filter):
    """math-verify warns once that its timeouts are off; here they are off on purpose
    (deadline.py bounds the whole sample instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutDisabledWarning())
