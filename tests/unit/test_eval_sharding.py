"""Evaluation samples in chunks seeded by where they start (r1pipe/evaluation/loop.py), so any
process can sample any chunk: two processes (here two shares in turn, through the chunk files)
give the samples, and so the figures, one process gives."""

from __future__ import annotations

from pathlib import Path

from r1pipe.evaluation.benchmarks import load_benchmark
from r1pipe.evaluation.loop import chunk_bounds, evaluate_benchmark, sample_benchmark, score_benchmark
from r1pipe.generation import Sample
from r1pipe.generation.shards import Share
from r1pipe.pipeline.compose import compose_config


class SeedEchoEngine:
    """Writes what decides a sample: its prompt, the call's seed and the sample's index (as vLLM
    seeds sample j of prompt i with seed + i * n + j); every fourth is a right answer."""

    backend = "echo"
    tokenizer = None
    max_positions = None

    def __init__(self):
        self.calls: list[tuple[int, int]] = []  # (prompts, seed) of each generate call

    def generate(self, prompts, prompt_ids, sampling):
        self.calls.append((len(prompts), sampling.seed))
        return [
            Sample(pid, j, f"<think>{sampling.seed + i * sampling.n + j}</think> {pid}", 5, "stop")
            for i, pid in enumerate(prompt_ids)
            for j in range(sampling.n)
        ]

    def close(self):
        pass


def test_chunks_cover_every_problem_once():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(3, 64) == [(0, 3)]


def test_two_processes_sample_what_one_process_samples(tmp_path: Path):
    cfg = compose_config(["eval.num_problems=10", "eval.shard_size=3", "eval.samples_per_problem=2"])
    bench = load_benchmark(cfg, "heldout")
    alone = SeedEchoEngine()
    one, _ = sample_benchmark(alone, bench, cfg)
    assert alone.calls == [(3, 0), (3, 6), (3, 12), (1, 18)], "each chunk seeded where it starts, in samples"
    assert one is not None and len({s.text.split("</think>")[0] for s in one}) == 20, (
        "every sample its own seed"
    )

    second, _ = sample_benchmark(SeedEchoEngine(), bench, cfg, Share(1, 2), tmp_path)
    assert second is None and sorted(p.name for p in tmp_path.iterdir()) == [
        "heldout.00001.jsonl",
        "heldout.00003.jsonl",
    ]
    together, _ = sample_benchmark(SeedEchoEngine(), bench, cfg, Share(0, 2), tmp_path)
    assert together == one

    result = score_benchmark(bench, together, cfg, "echo", 1.0)
    assert [(row["id"], row["k"]) for row in result.rows] == [(p, 2) for p in bench.problems["id"]]
    assert result.rows == evaluate_benchmark(SeedEchoEngine(), bench, cfg).rows


def test_the_chunk_size_is_part_of_the_protocol():
    """A recorded result is reused as a later stage's 'before' only under the same chunks: they
    decide the seeds."""
    from r1pipe.evaluation.loop import protocol

    cfg = compose_config(["eval.shard_size=50"])
    other = compose_config(["eval.shard_size=25"])
    bench = load_benchmark(cfg, "heldout")
    assert protocol(bench, cfg.eval) != protocol(bench, other.eval)
