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
