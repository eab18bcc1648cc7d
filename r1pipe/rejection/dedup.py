"""Duplicate removal and decontamination for the stage-3 SFT set.

- Exact duplicates: the same prompt and the same response after case and whitespace folding.
- Near duplicates: MinHash over word shingles of prompt + response, looked up in datasketch's
  MinHashLSH (considered: text-dedup, which wraps the same idea for whole corpora on disk; an
  in-memory LSH is enough for a stage-3 set and keeps the dependency small). The first sample of
  a near-duplicate cluster is kept.
- Decontamination: a sample sharing any word n-gram (n = 10 by default, as the paper) with an
  evaluation prompt is dropped. An evaluation prompt shorter than n words contributes its whole
  word sequence, so a short benchmark question copied verbatim is still caught.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import regex

from r1pipe.rejection.filters import word_tokens

if TYPE_CHECKING:
    # datasketch pulls in scipy (~0.5 s): imported where a MinHash is built, not by every process
    # that plans a run (the stage registry imports stage 3's steps).
    from datasketch import MinHash

_SPACE = regex.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def exact_duplicates(texts: Sequence[str]) -> list[bool]:
    """True for each text that repeats an earlier one (after normalisation)."""
    seen: set[str] = set()
    flags = []
    for text in texts:
        key = normalise(text)
        flags.append(key in seen)
        seen.add(key)
    return flags


def shingles(text: str, k: int) -> set[str]:
    """Word k-grams of `text`; a text shorter than k words is one shingle."""
    words = word_tokens(text)
    if len(words) <= k:
        return {" ".join(words)}
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def minhash(text: str, k: int, num_perm: int) -> MinHash:
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=1)
    m.update_batch([s.encode("utf-8") for s in shingles(text, k)])
    return m


def near_duplicates(texts: Sequence[str], threshold: float, k: int, num_perm: int) -> list[bool]:
    """True for each text whose estimated Jaccard similarity to an earlier kept text is at least
    `threshold` (MinHash LSH; estimates, so a pair right at the threshold may go either way)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    flags = []
    for i, text in enumerate(texts):
        m = minhash(text, k, num_perm)
        duplicate = bool(lsh.query(m))
        if not duplicate:
            lsh.insert(str(i), m)
        flags.append(duplicate)
    return flags


class Contamination:
    """Word n-grams of evaluation prompts; `contaminated(text)` when `text` shares one.

    An n-gram found in more than `common_share` of the evaluation prompts (and in at least two)
    is instructions shared by the benchmark ("put your final answer within \\boxed{}"), not a
    problem's content, and is ignored: training prompts use the same instructions.
    """

    def __init__(self, eval_texts: Iterable[str], n: int, common_share: float = 0.05):
        self.n = n
        per_prompt: list[tuple[int, set[tuple[str, ...]]]] = []
        for text in eval_texts:
            words = tuple(word_tokens(text))
            size = min(n, len(words))
            if size:
                per_prompt.append((size, ngrams(words, size)))
        seen_in = Counter(g for _, grams in per_prompt for g in grams)
        limit = max(1, int(common_share * len(per_prompt)))
        self.ignored = {g for g, c in seen_in.items() if c > limit}
        self.grams: dict[int, set[tuple[str, ...]]] = {}  # n-gram size -> n-grams
        for size, grams in per_prompt:
            self.grams.setdefault(size, set()).update(grams - self.ignored)

    def __len__(self) -> int:
        return sum(len(g) for g in self.grams.values())

    def contaminated(self, text: str) -> bool:
        words = tuple(word_tokens(text))
        return any(not grams.isdisjoint(ngrams(words, size)) for size, grams in self.grams.items())


def ngrams(words: tuple[str, ...], n: int) -> set[tuple[str, ...]]:
    return {words[i : i + n] for i in range(len(words) - n + 1)}
