"""Readability filters for rejection sampling (R1_RECIPE.md, Rejection sampling): the paper drops
chains of thought with mixed languages, long paragraphs or code blocks; r1pipe adds repetition
and an optional length cap. Each filter is a small pure function with its threshold in
`rejection.readability`; `failed_filters` names every filter a sample fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import regex
from omegaconf import DictConfig

from r1pipe.rewards.language import language_consistency, reasoning_of

log = logging.getLogger(__name__)

_WORD = regex.compile(
    r"\p{Han}|[^\W\p{Han}_]+"
)  # a Han character is a word; elsewhere runs of letters/digits
_PARAGRAPH_BREAK = regex.compile(r"\n\s*\n")


def longest_paragraph(cot: str) -> int:
    """Characters in the longest paragraph (paragraphs are separated by blank lines)."""
    return max((len(p.strip()) for p in _PARAGRAPH_BREAK.split(cot)), default=0)


def has_code_block(cot: str) -> bool:
    """A fenced code block (```) in the chain of thought."""
    return "```" in cot


def word_tokens(text: str) -> list[str]:
    """Lower-cased words; each Han character counts as one word (Chinese has no spaces)."""
    return [w.lower() for w in _WORD.findall(text)]


def repeated_ngram_share(text: str, n: int) -> float:
    """Share of the word n-grams that repeat an earlier one: 0 for varied text, near 1 for a loop.
    Text with fewer than n words scores 0."""
    words = word_tokens(text)
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


def language_scores(texts: Sequence[str], languages: Sequence[str | None], prompts: Sequence[str]) -> list:
    """Language consistency of each CoT with its target language (the row's, else the prompt's,
    else for a prompt with no words the CoT's own main language: rewards.language.target_language)."""
    return language_consistency(list(texts), language=list(languages), prompts=list(prompts))


def failed_filters(
    texts: Sequence[str],
    num_tokens: Sequence[int],
    languages: Sequence[str | None],
    prompts: Sequence[str],
    r: DictConfig,
) -> list[list[str]]:
    """For each sample, the names of the readability filters it fails (empty: readable)."""
    consistency = language_scores(texts, languages, prompts)
    unjudged = sum(score is None for score in consistency)
    if unjudged:  # a filter that could not run is said, never silently skipped
        log.warning(
            "mixed_language filter could not judge %d of %d samples (unknown language codes in the "
            "language column?): they pass it unchecked",
            unjudged,
            len(consistency),
        )
    failures = []
    for text, tokens, lang_score in zip(texts, num_tokens, consistency, strict=True):
        cot = reasoning_of(text)
        failed = []
        if lang_score is not None and lang_score < r.min_language_consistency:
            failed.append("mixed_language")
        if r.max_paragraph_chars and longest_paragraph(cot) > r.max_paragraph_chars:
            failed.append("long_paragraph")
        if not r.allow_code_in_cot and has_code_block(cot):
            failed.append("code_in_cot")
        if repeated_ngram_share(text, r.repetition_ngram) > r.max_repeated_ngram_share:
            failed.append("repetition")
        if r.max_tokens and tokens > r.max_tokens:
            failed.append("too_long")
        failures.append(failed)
    return failures
