"""The paper's evaluation numbers from per-problem sample scores, with their uncertainty.

- pass@1: mean correctness over the k samples of a problem, averaged over problems.
- pass@k: the unbiased estimator of Chen et al. 2021 (HumanEval), 1 - C(n-c, k) / C(n, k) per
  problem for n samples of which c are correct, averaged over problems.
- cons@k: majority vote over the extracted answers of k samples; the problem counts as solved when
  the most frequent answer is a correct one.
Each comes with the standard error over problems (samples of one problem are not independent,
so the problem is the unit) and a percentile bootstrap interval over problems.

Considered: `evaluate`'s `code_eval` metric implements pass@k the same way but runs code and needs
the hub; numpy's few lines here are the whole estimator, so the tables in the tests pin it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct) is
    correct; computed as a stable product instead of binomials (n may be in the hundreds)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def majority_vote(answers: Sequence[Hashable | None]) -> int | None:
    """Index of a sample carrying the most frequent answer (ties: the answer seen first); None when
    no sample has an answer. Samples without an answer do not vote."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None
    top = max(votes.values())
    for i, a in enumerate(answers):
        if a is not None and votes[a] == top:
            return i
    return None  # unreachable: some answer has the top count


def standard_error(values: Sequence[float]) -> float | None:
    """SE of the mean over problems (sample std, ddof=1); None for fewer than two problems."""
    if len(values) < 2:
        return None
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def bootstrap_interval(
    values: Sequence[float], *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean, problems resampled with replacement."""
    if len(values) < 2 or resamples <= 0:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarize(name: str, values: Sequence[float], *, resamples: int, seed: int) -> dict[str, object]:
    """`{name}`, `{name}_se` and `{name}_ci95` for per-problem values, rounded for reports."""
    out: dict[str, object] = {name: round(float(np.mean(values)), 4) if len(values) else None}
    se = standard_error(values)
    out[f"{name}_se"] = round(se, 4) if se is not None else None
    ci = bootstrap_interval(values, resamples=resamples, seed=seed)
    out[f"{name}_ci95"] = [round(ci[0], 4), round(ci[1], 4)] if ci else None
    return out


def problem_scores(
    scores: Sequence[Sequence[float | None]], answers: Sequence[Sequence[Hashable | None]], k: int
) -> dict[str, list[float]]:
    """Per-problem pass@1, pass@k and cons@k from each problem's sample scores (None: not judged,
    left out) and extracted answers. A problem with no judged sample is left out of all three; one
    with fewer than k judged samples is left out of pass@k (its pass@k is undefined: computing
    pass@(judged) and calling it pass@k would overstate nothing and understate k), so pass@k may be
    over fewer problems than pass@1 (the summary says how many: pass@k_problems)."""
    out: dict[str, list[float]] = {"pass@1": [], f"pass@{k}": [], f"cons@{k}": []}  # k=1: pass@1 once
    for sample_scores, sample_answers in zip(scores, answers, strict=True):
        judged = [s for s in sample_scores if s is not None]
        if not judged:
            continue
        correct = sum(s >= 1.0 for s in judged)  # a sample is correct or not: partial credit is wrong
        out["pass@1"].append(correct / len(judged))
        if k > 1 and len(judged) >= k:
            out[f"pass@{k}"].append(pass_at_k(len(judged), correct, k))
        out[f"cons@{k}"].append(1.0 if vote_is_correct(sample_scores, sample_answers) else 0.0)
    return out


def vote_is_correct(scores: Sequence[float | None], answers: Sequence[Hashable | None]) -> bool:
    """The majority answer is correct when any sample carrying it was judged correct (samples
    with the same answer share one verdict; one of them may have gone unjudged)."""
    winner = majority_vote(answers)
    if winner is None:
        return False
    return any(a == answers[winner] and (s or 0.0) >= 1.0 for a, s in zip(answers, scores, strict=True))
