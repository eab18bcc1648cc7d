"""Reward throughput and tail latency, side by side in one run.

    python scripts/bench_rewards.py                 # 10k completions, 1 worker vs all workers
    python scripts/bench_rewards.py --n 2000 --rewards math_accuracy

For each reward: samples/s through the guard (worker processes, per-sample timeout) with 1 worker
and with one per CPU on the same completions (the ratio is the result), then the p50/p99 latency
of single-sample calls with pathological answers mixed in (nested parentheses, exponent towers,
huge numbers), which the timeout must bound. Prints one table; results go in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

from r1pipe.rewards import get_reward
from r1pipe.rewards.guard import GuardedReward, GuardPolicy, shutdown_pools
from r1pipe.toy.task import r1_response, sample_problems

PATHOLOGICAL = [
    "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",
    "\\boxed{9^{9^{9^{9^{9^{9}}}}}}",
    "\\boxed{" + "1" * 20000 + "}",
    "\\boxed{\\frac{" * 200 + "1" + "}{2}" * 200 + "}",
]


def completions(n: int, seed: int, pathological_share: float) -> tuple[list[str], dict[str, list]]:
    """Toy-task R1 responses in both languages, a third with a wrong answer, some pathological."""
    rng = random.Random(seed)
    problems = sample_problems(n, digits=3, split="train", seed=seed)
    texts, answers, languages = [], [], []
    for p in problems:
        text = r1_response(p)
        if rng.random() < 1 / 3:
            text = text.replace(f"\\boxed{{{p.answer}}}", f"\\boxed{{{p.answer + 1}}}")
        if rng.random() < pathological_share:
            text = text + " " + rng.choice(PATHOLOGICAL)
        texts.append(text)
        answers.append(str(p.answer))
        languages.append(p.language)
    return texts, {"answer": answers, "language": languages}


def throughput(
    name: str, texts: list[str], columns: dict, workers: int, timeout_s: float
) -> tuple[float, dict]:
    guarded = GuardedReward(
        name, get_reward(name), GuardPolicy(timeout_s=timeout_s, workers=workers, on_failure="none")
    )
    guarded(texts[: workers * 2], **{k: v[: workers * 2] for k, v in columns.items()})  # start the workers
    started = time.perf_counter()
    guarded(texts, **columns)
    return len(texts) / (time.perf_counter() - started), guarded.metrics()


def latencies(name: str, texts: list[str], columns: dict, timeout_s: float) -> list[float]:
    guarded = GuardedReward(
        name, get_reward(name), GuardPolicy(timeout_s=timeout_s, workers=os.cpu_count() or 1)
    )
    out = []
    for i, text in enumerate(texts):
        started = time.perf_counter()
        guarded([text], **{k: [v[i]] for k, v in columns.items()})
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="completions for the throughput runs")
    parser.add_argument("--latency-n", type=int, default=300, help="single-sample calls for the latency run")
    parser.add_argument("--rewards", nargs="+", default=["math_accuracy", "language_consistency"])
    parser.add_argument("--timeout", type=float, default=2.0, help="per-sample timeout (s)")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    texts, columns = completions(args.n, seed=0, pathological_share=0.0)
    tail_texts, tail_columns = completions(args.latency_n, seed=1, pathological_share=0.05)
    print(
        f"machine: {platform.processor() or platform.machine()}, {cpus} CPUs; {args.n} completions; timeout {args.timeout}s"
    )
    print(
        f"{'reward':<22} {'1 worker/s':>11} {f'{cpus} workers/s':>12} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  timeouts"
    )
    for name in args.rewards:
        one, _ = throughput(name, texts, columns, 1, args.timeout)
        many, _ = throughput(name, texts, columns, cpus, args.timeout)
        lat = sorted(latencies(name, tail_texts, tail_columns, args.timeout))
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        timed_out = sum(t >= args.timeout for t in lat)
        print(
            f"{name:<22} {one:>11.0f} {many:>12.0f} {many / one:>6.2f} {statistics.median(lat) * 1e3:>8.1f} "
            f"{p99 * 1e3:>8.1f} {lat[-1] * 1e3:>8.1f}  {timed_out}/{len(lat)}"
        )
    shutdown_pools()


if __name__ == "__main__":
    main()
