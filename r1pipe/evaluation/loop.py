"""One benchmark, evaluated the paper's way: k sampled answers per problem (temperature 0.6,
top-p 0.95 by default, never greedy unless asked), judged by the benchmark's registered accuracy
reward in guarded worker processes, summarized as pass@1, pass@k and cons@k with their
uncertainty, plus mean response length and language consistency. Any generation engine
(r1pipe.generation: transformers or vLLM) does the sampling.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from omegaconf import DictConfig

from r1pipe.evaluation.benchmarks import Benchmark
from r1pipe.evaluation.estimators import majority_vote, problem_scores, summarize, vote_is_correct
from r1pipe.generation import Engine, Sample, Sampling
from r1pipe.models.prompt_length import fit_prompts
from r1pipe.rewards import extract_answer, get_reward
from r1pipe.rewards.answers import WithoutThinkEnd
from r1pipe.rewards.build import guard_policy, reward_settings
from r1pipe.rewards.guard import GuardedReward, GuardPolicy
from r1pipe.rewards.language import language_consistency
from r1pipe.run.fingerprint import settings_key

log = logging.getLogger(__name__)

EXAMPLES = 8  # problems whose first sample is kept in the summary, for a quick look


@dataclass(frozen=True)
class BenchmarkResult:
    summary: dict[str, Any]  # benchmark, k, problems, sampling, metrics, examples
    rows: list[dict[str, Any]]  # one per problem: its samples, scores, answers and vote


def evaluate_benchmark(
    engine: Engine, bench: Benchmark, cfg: DictConfig, failure_log: Path | None = None
) -> BenchmarkResult:
    bench = dataclasses.replace(
        bench,
        problems=fit_prompts(
            bench.problems,
            engine.tokenizer,
            engine.max_positions,
            bench.max_new_tokens,
            cfg.data.long_prompts,
            f"eval benchmark {bench.name}",
        ),
    )
    e, k, problems = cfg.eval, bench.k, bench.problems
    sampling = Sampling(
        n=k, temperature=e.temperature, top_p=e.top_p, max_tokens=bench.max_new_tokens, seed=e.seed
    )
    log.info(
        "eval %s: %d problems x %d samples (temperature %s, top-p %s, %d tokens, %s engine)",
        bench.name,
        len(problems),
        k,
        e.temperature,
        e.top_p,
        bench.max_new_tokens,
        engine.backend,
    )
    t0 = time.time()
    samples = engine.generate(list(problems["prompt"]), list(problems["id"]), sampling)
    texts = [s.text for s in samples]
    reward = GuardedReward(
        bench.reward,
        get_reward(bench.reward),
        evaluation_policy(cfg, failure_log),
        reward_settings(cfg.reward),
    )
    scores = reward(texts, **_reward_columns(bench))
    language = _language(bench, texts)
    rows = [
        _problem_row(
            bench,
            problems[i],
            samples[i * k : (i + 1) * k],
            scores[i * k : (i + 1) * k],
            language[i * k : (i + 1) * k],
        )
        for i in range(len(problems))
    ]
    metrics = {
        **_headline(bench, rows, e),
        **_sample_stats(samples, texts, language, bench.without_think_end),
        "unjudged": sum(s is None for s in scores),
        "seconds": round(time.time() - t0, 1),
        **reward.metrics(),
    }
    log.info("eval %s: %s", bench.name, _shown(metrics, k))
    summary = {
        "benchmark": bench.name,
        "kind": bench.kind,
        "reward": bench.reward,
        **protocol(bench, e),
        # What the figures depend on beyond the model: a recorded result is reused as a later
        # stage's "before" only under the same key (evaluation/stage_eval.py).
        "protocol_key": settings_key(protocol(bench, e)),
        "engine": engine.backend,
        "metrics": metrics,
        "examples": [
            {
                "id": r["id"],
                "prompt": r["prompt"],
                "answer": r["answer"],
                "completion": r["completions"][0],
                "score": r["scores"][0],
            }
            for r in rows[:EXAMPLES]
        ],
    }
    return BenchmarkResult(summary, rows)


def protocol(bench: Benchmark, e: DictConfig) -> dict[str, Any]:
    """How a benchmark was measured: samples per problem, problems and sampling settings."""
    return {"k": bench.k, "problems": len(bench.problems), "sampling": sampling_record(bench, e)}


def sampling_record(bench: Benchmark, e: DictConfig) -> dict[str, Any]:
    """The sampling settings a summary records (and a recorded 'before' is matched against)."""
    return {
        "temperature": e.temperature,
        "top_p": e.top_p,
        "max_tokens": bench.max_new_tokens,
        "seed": e.seed,
    }


def _per_sample(values: list, k: int) -> list:
    """Each problem's value repeated for its k samples (samples are grouped by problem)."""
    return [v for v in values for _ in range(k)]


def evaluation_policy(cfg: DictConfig, failure_log: Path | None) -> GuardPolicy:
    """reward.* guard settings, except that a timed-out or crashed verification counts as wrong:
    a program too slow for its tests failed them, and dropping such samples (RL's `none`) or
    penalising them (`penalty`) would bias pass@1. None stays for references the reward cannot read."""
    return dataclasses.replace(guard_policy(cfg.reward, failure_log), on_failure="zero")


def _reward_columns(bench: Benchmark) -> dict[str, list]:
    """The reward's keyword columns, one entry per sample (each problem's row repeated k times)."""
    names = ["answer"] + [c for c in ("tests", "fn_name", "forbidden") if c in bench.problems.column_names]
    columns = {c: _per_sample(bench.problems[c], bench.k) for c in names}
    for key, value in bench.reward_kwargs.items():
        columns[key] = [value] * (len(bench.problems) * bench.k)
    return columns


def _language(bench: Benchmark, texts: list[str]) -> list[float | None]:
    """Language consistency of each chain of thought with its prompt: the `language` column when
    the data has one, else the language detected in the prompt. None: nothing to judge."""
    prompts = [[{"role": "user", "content": p}] for p in _per_sample(bench.problems["prompt"], bench.k)]
    has_language = "language" in bench.problems.column_names
    targets = _per_sample(bench.problems["language"], bench.k) if has_language else None
    return language_consistency(texts, language=targets, prompts=prompts)


def _problem_row(
    bench: Benchmark,
    problem: dict,
    samples: list[Sample],
    scores: list[float | None],
    language: list[float | None],
) -> dict[str, Any]:
    answers = [bench.vote_key(s.text) for s in samples]
    winner = majority_vote(answers)
    judged = [s >= 1.0 for s in scores if s is not None]
    return {
        "id": problem["id"],
        "prompt": problem["prompt"],
        "answer": problem["answer"],
        "k": len(samples),
        "correct": sum(judged),
        "pass@1": round(fmean(judged), 4) if judged else None,
        "majority_answer": None if winner is None else answers[winner],
        "majority_correct": None if winner is None else vote_is_correct(scores, answers),
        "scores": scores,
        "answers": answers,
        "lengths": [s.num_tokens for s in samples],
        "finish_reasons": [s.finish_reason for s in samples],
        "language_consistency": language,
        "completions": [s.text for s in samples],
    }


def _headline(bench: Benchmark, rows: list[dict], e: DictConfig) -> dict[str, Any]:
    """pass@1, pass@k and (where samples vote) cons@k, each with SE and a bootstrap interval."""
    per_problem = problem_scores([r["scores"] for r in rows], [r["answers"] for r in rows], bench.k)
    if bench.kind == "code":
        del per_problem[f"cons@{bench.k}"]
    out: dict[str, Any] = {}
    for name, values in per_problem.items():
        out |= summarize(name, values, resamples=e.bootstrap_resamples, seed=e.seed)
    out["judged_problems"] = len(per_problem["pass@1"])
    if bench.k > 1:
        # pass@k is defined only for problems with at least k judged samples (estimators.py)
        out[f"pass@{bench.k}_problems"] = len(per_problem[f"pass@{bench.k}"])
        if out[f"pass@{bench.k}_problems"] < out["judged_problems"]:
            log.warning(
                "eval %s: pass@%d over %d of %d judged problems (the others have fewer than %d judged samples)",
                bench.name,
                bench.k,
                out[f"pass@{bench.k}_problems"],
                out["judged_problems"],
                bench.k,
            )
    return out


def _sample_stats(
    samples: list[Sample],
    texts: list[str],
    language: list[float | None],
    without_think_end: WithoutThinkEnd,
) -> dict[str, Any]:
    judged_language = [x for x in language if x is not None]
    return {
        "mean_length": round(fmean(s.num_tokens for s in samples), 1) if samples else None,
        "truncated": round(fmean(s.finish_reason == "length" for s in samples), 4) if samples else None,
        "answered": round(fmean(extract_answer(t, without_think_end) is not None for t in texts), 4)
        if texts
        else None,
        "think_format": round(fmean("</think>" in t for t in texts), 4) if texts else None,
        "language_consistency": round(fmean(judged_language), 4) if judged_language else None,
    }


def _shown(metrics: dict[str, Any], k: int) -> str:
    keys = ("pass@1", "pass@1_se", f"pass@{k}", f"cons@{k}", "mean_length", "language_consistency")
    return ", ".join(f"{key}={metrics[key]}" for key in keys if metrics.get(key) is not None)
