"""Where the final answer is, shared by every accuracy reward, the code reward, rejection sampling
and evaluation, so that all of them judge the same text.

The recipe judges the final answer, never the reasoning (R1_RECIPE.md, Rewards): an answer that
appears only inside `<think>` earns nothing, and a right answer in the reasoning followed by a
wrong summary is wrong. So:

- The final region is the text after the last `</think>` (R1's summary; R1-Zero's
  `<answer>...</answer>` lies there too). A prefilled `<think>` changes nothing: the completion
  still closes it.
- A completion with no `</think>` (reasoning never closed, e.g. truncated) has no final answer
  and scores 0: `reward.without_think_end=no_answer`, the default, as TRL's
  `reasoning_accuracy_reward`. `whole_text` judges the whole completion instead, for models that
  answer without a reasoning block (evaluating a plain instruct model).
- Inside the final region the answers are every `\\boxed{}` (braces balanced), else every
  `<answer>...</answer>`. Rewards require all of them to be right: a summary that hedges with
  several different answers is not paid for the one that happens to match.
"""

from __future__ import annotations

import re
from typing import Literal

from r1pipe.config.schema import WITHOUT_THINK_END

# reward.without_think_end: its choices are declared on the schema (WITHOUT_THINK_END); this
# Literal names the same ones for type checkers (tests/unit/test_config.py holds them equal).
WithoutThinkEnd = Literal["no_answer", "whole_text"]
THINK_END = "</think>"
_TAGGED = re.compile(r"<answer>(.*?)</answer>", flags=re.S)


def final_region(text: str, without_think_end: WithoutThinkEnd = "no_answer") -> str | None:
    """The text that holds the final answer: after the last `</think>`; with no `</think>`, None
    (no final answer) or, under `whole_text`, the whole text."""
    if THINK_END in text:
        return text.rsplit(THINK_END, 1)[1]
    if without_think_end == "whole_text":
        return text
    if without_think_end != "no_answer":
        raise ValueError(
            f"without_think_end={without_think_end!r} is unknown (reward.without_think_end); "
            f"use one of {', '.join(WITHOUT_THINK_END)}"
        )
    return None


def all_boxed(text: str) -> list[str]:
    """Contents of every closed \\boxed{...} in order, braces balanced, stripped."""
    found, start = [], text.find("\\boxed{")
    while start >= 0:
        content, end = _braced(text, start + len("\\boxed"))
        if content is not None:
            found.append(content.strip())
        start = text.find("\\boxed{", end)
    return found


def _braced(text: str, i: int) -> tuple[str | None, int]:
    """(content of the brace group opening at text[i], index after it); None if never closed."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
    return None, len(text)


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced (\\boxed{\\frac{1}{2}} -> \\frac{1}{2});
    None when the last box is unclosed or there is none."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    content, _ = _braced(text, start + len("\\boxed"))
    return content.strip() if content is not None else None


def tagged_answers(region: str) -> list[str]:
    """Every answer the region marks: its \\boxed{} contents, else its <answer> contents."""
    boxed = all_boxed(region)
    return boxed if boxed else [t.strip() for t in _TAGGED.findall(region)]


def final_answers(text: str, without_think_end: WithoutThinkEnd = "no_answer") -> list[str]:
    """Every marked answer of the final region ([] when none or no final region)."""
    region = final_region(text, without_think_end)
    return [] if region is None else tagged_answers(region)


def extract_answer(text: str, without_think_end: WithoutThinkEnd = "no_answer") -> str | None:
    """The final answer: the last \\boxed{} of the final region, else its last <answer>, else the
    region itself (a bare summary). None when there is no final region or it is empty."""
    region = final_region(text, without_think_end)
    if region is None:
        return None
    marked = tagged_answers(region)
    if marked:
        return marked[-1]
    return region.strip() or None


def completion_text(completion) -> str:
    """TRL passes plain strings or, for chat datasets, [{role, content}] lists."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion)
    return completion


_CHOICE_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}")
# A boxed/tagged answer that starts with a letter: "B", "(B)", "B) Photon", "B. Photon".
_LEADING_LETTER = re.compile(r"^[\s*(\[]*([A-Z])(?:$|[\s.):,\]*])")
# A second letter joined to the first as an alternative: "A, B", "A or B", "(A)/(C)", "A and D".
_MORE_LETTERS = re.compile(
    r"^[\s*(\[]*[A-Z][\s.)\]*]*(?:,|;|/|&|\bor\b|\band\b|\\lor|\\vee)\s*[*(\[]*[A-Z](?![A-Za-z])"
)
# A bare summary that is only a letter: "B", "(B).", "**B**".
_ONLY_LETTER = re.compile(r"^[\s*(\[]*([A-Z])[\s.)\]*]*$")
# The letter must be a capital: "the answer is a prime" names no choice.
_ANSWER_IS = re.compile(r"[Aa]nswer\s*(?:is|:)\s*[*(\[]*([A-Z])(?:$|[\s.):,\]*])")


def extract_choice(
    text: str, letters: str = "ABCDEFGHIJ", without_think_end: WithoutThinkEnd = "no_answer"
) -> str | None:
    """The chosen letter of a multiple-choice answer in the final region: its \\boxed{} or
    <answer> answers that start with a letter ("B", "(B)", "\\text{B}", "B) 42"); else its "answer is
    B" / "Answer: **B**"; else a summary that is only a letter. None when the region names no
    choice, or names several (a hedge: "\\boxed{A, B}", two boxes with different letters, "the
    answer is A... the answer is C"). A sentence that merely starts with a capital ("A careful
    check...") names no choice."""
    region = final_region(text, without_think_end)
    if region is None:
        return None
    marked = tagged_answers(region)
    if marked:
        chosen = {_leading_choice(answer, letters) for answer in marked}
    else:
        chosen = {m.group(1) for m in _ANSWER_IS.finditer(region) if m.group(1) in letters}
        if not chosen:
            only = _ONLY_LETTER.match(region)
            chosen = {only.group(1) if only and only.group(1) in letters else None}
    return chosen.pop() if len(chosen) == 1 else None


def _leading_choice(answer: str, letters: str) -> str | None:
    plain = _CHOICE_WRAPPERS.sub(r"\1", answer)
    match = _LEADING_LETTER.match(plain)
    if match is None or match.group(1) not in letters or _MORE_LETTERS.match(plain):
        return None
    return match.group(1)
