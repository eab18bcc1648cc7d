"""One benchmark, evaluated the paper's way: k sampled answers per problem (temperature 0.6,
top-p 0.95 by default, never greedy unless asked), judged by the benchmark's registered accuracy
reward in guarded worker processes, summarized as pass@1, pass@k and cons@k with their
uncertainty, plus mean response length and language consistency. Any generation engine
(r1pipe.generation: transformers or vLLM) does the sampling.
"""

from __future__ import annotations

import dataclasses
import json
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
from r1pipe.generation.shards import Share, wait_for_shards
from r1pipe.models.prompt_length import fit_prompts
from r1pipe.rewards import extract_answer, get_reward
from r1pipe.rewards.answers import WithoutThinkEnd
from r1pipe.rewards.build import guard_policy, reward_settings
from r1pipe.rewards.guard import GuardedReward, GuardPolicy
from r1pipe.rewards.language import language_consistency
from r1pipe.run.fingerprint import settings_key
from r1pipe.run.rundir import atomic_write_text

log = logging.getLogger(__name__)

EXAMPLES = 8  # problems whose first sample is kept in the summary, for a quick look
ALONE = Share()  # one process samples every chunk


@dataclass(frozen=True)
class BenchmarkResult:
    summary: dict[str, Any]  # benchmark, k, problems, sampling, metrics, examples
    rows: list[dict[str, Any]]  # one per problem: its samples, scores, answers and vote


def evaluate_benchmark(
    engine: Engine, bench: Benchmark, cfg: DictConfig, failure_log: Path | None = None
) -> BenchmarkResult:
    """Sample the benchmark (`sample_benchmark`, every chunk in this process) and score it."""
    bench = fitted(bench, engine, cfg)
    samples, seconds = sample_benchmark(engine, bench, cfg)
    assert samples is not None  # one process samples every chunk
    return score_benchmark(bench, samples, cfg, engine.backend, seconds, failure_log)


def fitted(bench: Benchmark, engine: Engine, cfg: DictConfig) -> Benchmark:
    """The benchmark with the problems that fit the engine's model (data.long_prompts)."""
    return dataclasses.replace(
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


def chunk_bounds(problems: int, chunk: int) -> list[tuple[int, int]]:
    """Where each chunk of `chunk` problems starts and ends (the last one may be shorter)."""
    return [(s, min(s + chunk, problems)) for s in range(0, problems, chunk)]


def sample_benchmark(
    engine: Engine,
    bench: Benchmark,
    cfg: DictConfig,
    share: Share = ALONE,
    chunks_dir: Path | None = None,
) -> tuple[list[Sample] | None, float]:
    """k samples per problem, in chunks of eval.shard_size problems, each seeded by its place
    (eval.seed + first problem x k), so the samples are the same whichever process samples a
    chunk (generation/shards.py). Alone,
    every chunk here and the samples returned; under several processes each samples the chunks it
    owns into `chunks_dir`, the main process waits for the others' and returns them all, the
    others return None. Also the seconds this process sampled."""
    e, k, problems = cfg.eval, bench.k, bench.problems
    bounds = chunk_bounds(len(problems), e.shard_size or e.batch_size)
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
    sampled: dict[int, list[Sample]] = {}
    for c, (start, end) in enumerate(bounds):
        if not share.owns(c):
            continue
        # Seeded by where the chunk starts, in samples: vLLM seeds sample j of the chunk's prompt i
        # with seed + i * k + j, so every sample of the benchmark gets its own seed, the same as in
        # one call over all problems; transformers seeds the chunk's first batch with it.
        sampling = Sampling(
            n=k,
            temperature=e.temperature,
            top_p=e.top_p,
            max_tokens=bench.max_new_tokens,
            seed=e.seed + start * k,
        )
        chunk = problems.select(range(start, end))
        sampled[c] = engine.generate(list(chunk["prompt"]), list(chunk["id"]), sampling)
        if chunks_dir is not None:
            write_samples(chunks_dir / f"{bench.name}.{c:05d}.jsonl", sampled[c])
    seconds = time.time() - t0
    if share.world == 1:
        return [s for c in range(len(bounds)) for s in sampled[c]], seconds
    assert chunks_dir is not None, "several processes share their chunks through files"
    if not share.is_main:
        return None, seconds
    paths = [chunks_dir / f"{bench.name}.{c:05d}.jsonl" for c in range(len(bounds))]
    wait_for_shards(paths, share, e.shard_stall_timeout_s)
    return [s for path in paths for s in read_samples(path)], seconds


def write_samples(path: Path, samples: list[Sample]) -> None:
    atomic_write_text(
        path, "".join(json.dumps(dataclasses.asdict(s), ensure_ascii=False) + "\n" for s in samples)
    )


def read_samples(path: Path) -> list[Sample]:
    return [Sample(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def score_benchmark(
    bench: Benchmark,
    samples: list[Sample],
    cfg: DictConfig,
    backend: str,
    seconds: float,
    failure_log: Path | None = None,
) -> BenchmarkResult:
    """Judge every sample with the benchmark's reward, then the per-problem rows and the summary."""
    e, k, problems = cfg.eval, bench.k, bench.problems
    t0 = time.time()
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
        "seconds": round(seconds + time.time() - t0, 1),
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
        "engine": backend,
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
    """The sampling settings a summary records (and a recorded 'before' is matched against):
    the chunk size too, since chunk c is seeded seed + c."""
    return {
        "temperature": e.temperature,
        "top_p": e.top_p,
        "max_tokens": bench.max_new_tokens,
        "seed": e.seed,
        "chunk": e.shard_size or e.batch_size,
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
