"""general_match: a rule judge for general requests with known good answers (the toy's `general`
benchmark, or a user's file of requests with their acceptable answers).

The paper measures general ability with judged benchmarks (AlpacaEval, ArenaHard); where every good
answer is known, rules can judge it instead, with no judge model to game. A response earns 1.0 when:

- its summary (the text after the last `</think>`; `reward.without_think_end` decides a response
  that never closes its reasoning) is one of the row's answers, compared case-, spacing- and
  end-punctuation-blind ("hello! how can I help you today" == "Hello! How can I help you today?").
  The whole summary must be the answer: an answer among others ("Blue. Red.", "Blue or red"), one
  wrapped in more text, or one in the reasoning only earns nothing; the answers carry the language
  (a Chinese request's answers are Chinese), so an answer in the wrong language earns nothing;
- and no forbidden phrase (the row's `forbidden`: rude or unsafe phrases) appears anywhere in the
  response, reasoning included: a polite summary behind rude reasoning is a failure, as the
  paper's harmlessness judge reads the whole response.

`answer` is a JSON list of strings (or one plain string); `forbidden` a JSON list, optional.
Considered: `accuracy.normalized_text` (also drops inner punctuation and spacing, so "Hello! How
can I help" would equal "hellohowcanihelp") and reward models (the toy's own judges are what
stage 4 trains against; an evaluation by the same judges would grade RL by its own reward).
"""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata

from r1pipe.rewards.answers import WithoutThinkEnd, completion_text, final_region
from r1pipe.rewards.registry import per_row, register

# Spacing and the closing punctuation of a sentence, in both scripts: "Blue." == "blue" == "Blue。"
_END_PUNCTUATION = ".!?。！？,，;；:： \t\n\"'“”"
_SPACES = re.compile(r"\s+")


@register("general_match")
def general_match(
    completions: list,
    answer: list[str],
    forbidden: list[str] | None = None,
    without_think_end: WithoutThinkEnd = "no_answer",
    **_: object,
) -> list[float | None]:
    """1.0 when the summary is one of the row's answers and no forbidden phrase appears anywhere;
    None when the row lists no answer (nothing to judge by)."""
    n = len(completions)
    rows = zip(completions, answer, per_row(forbidden, n), per_row(without_think_end, n), strict=True)
    return [
        _judge(completion_text(c), string_list(ref), string_list(bad), scope) for c, ref, bad, scope in rows
    ]


def _judge(text: str, answers: list[str], forbidden: list[str], scope: WithoutThinkEnd) -> float | None:
    if not answers:
        return None
    text = unicodedata.normalize("NFKC", text)
    folded = text.casefold()
    if any(_contains(folded, phrase) for phrase in forbidden):
        return 0.0
    region = final_region(text, scope)
    if region is None:
        return 0.0
    return 1.0 if plain_answer(region) in {plain_answer(a) for a in answers} else 0.0


def plain_answer(text: str) -> str:
    """Case-, spacing- and end-punctuation-blind form of an answer."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip(_END_PUNCTUATION)
    return text.casefold()


def _contains(folded: str, phrase: str) -> bool:
    """`phrase` in the casefolded text: whole words for Latin phrases ("hurt" is not in "hurtle"),
    anywhere for CJK ones (no spaces between words)."""
    phrase = phrase.casefold().strip()
    if not phrase:
        return False
    if phrase.isascii():
        return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", folded) is not None
    return phrase in folded


def string_list(value: object) -> list[str]:
    """A JSON list (or a list) of strings, or one plain string."""
    if value is None:
        return []
    if isinstance(value, str):
        with contextlib.suppress(json.JSONDecodeError):  # not a list: one answer that starts with [
            value = json.loads(value) if value.lstrip().startswith("[") else value
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value if str(v).strip()] if isinstance(value, list | tuple) else [str(value)]
