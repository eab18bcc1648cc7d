"""Answer extraction shared by every accuracy reward, rejection sampling and evaluation."""

from __future__ import annotations

import re


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


_CHOICE_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}")
# A boxed/tagged answer that starts with a letter: "B", "(B)", "B) Photon", "B. Photon".
_LEADING_LETTER = re.compile(r"^[\s*(\[]*([A-Z])(?:$|[\s.):,\]*])")
# A bare summary that is only a letter: "B", "(B).", "**B**".
_ONLY_LETTER = re.compile(r"^[\s*(\[]*([A-Z])[\s.)\]*]*$")
# The letter must be a capital: "the answer is a prime" names no choice.
_ANSWER_IS = re.compile(r"[Aa]nswer\s*(?:is|:)\s*[*(\[]*([A-Z])(?:$|[\s.):,\]*])")


def extract_choice(text: str, letters: str = "ABCDEFGHIJ") -> str | None:
    """The chosen letter of a multiple-choice answer: a \\boxed{} or <answer> that starts with a
    letter ("B", "(B)", "\\text{B}", "B) 42"); else the last "answer is B" / "Answer: **B**" after the
    reasoning; else a summary that is only a letter. A sentence after the reasoning that merely
    starts with a capital ("A careful check...") names no choice. None when nothing is found."""
    tagged = last_boxed(text)
    if tagged is None:
        answers = re.findall(r"<answer>(.*?)</answer>", text, flags=re.S)
        tagged = answers[-1] if answers else None
    if tagged is not None:
        match = _LEADING_LETTER.match(_CHOICE_WRAPPERS.sub(r"\1", tagged))
        return match.group(1) if match and match.group(1) in letters else None
    summary = text.rsplit("</think>", 1)[-1]
    found = [m.group(1) for m in _ANSWER_IS.finditer(summary) if m.group(1) in letters]
    if found:
        return found[-1]
    only = _ONLY_LETTER.match(summary)
    return only.group(1) if only and only.group(1) in letters else None
