"""Evaluation inside the pipeline: each stage's input model (before) and final model (after) on
eval.benchmarks, with the model already in memory (transformers generation, no reload).

Written to the stage dir: eval_before.json and eval_after.json ({benchmark: summary}), per-problem
records in eval/<before|after>/<benchmark>.jsonl, eval.json ({"before": ..., "after": ...}) and
the manifest metrics `eval/<when>/<benchmark>/<metric>`. A resumed attempt reuses the recorded
'before'. Rank 0 only; eval.after_stage=false turns it off.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from r1pipe.evaluation.benchmarks import Benchmark, load_benchmark
from r1pipe.evaluation.loop import evaluate_benchmark, sampling_record
from r1pipe.generation import TransformersEngine
from r1pipe.logs import process_rank
from r1pipe.rundir import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

# Per benchmark into the manifest (pass@k / cons@k under their own k, added below).
MANIFEST_KEYS = ("pass@1", "pass@1_se", "language_consistency", "mean_length", "think_format", "answered")


def write_problem_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Per-problem results as JSONL, written atomically (a crash never leaves half a file)."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def manifest_metrics(when: str, results: dict[str, dict]) -> dict[str, Any]:
    """`eval/<when>/<benchmark>/<metric>` for the headline metrics of each benchmark."""
    out: dict[str, Any] = {}
    for name, summary in results.items():
        k, metrics = summary["k"], summary["metrics"]
        keys = (*MANIFEST_KEYS, f"pass@{k}", f"cons@{k}")
        out |= {f"eval/{when}/{name}/{key}": metrics[key] for key in keys if metrics.get(key) is not None}
    return out


def _same_protocol(summary: dict | None, bench: Benchmark, cfg: DictConfig) -> bool:
    """A recorded result is reusable only for the same problems, k and sampling settings (eval.*
    are not part of a stage's fingerprint, so they may have changed since)."""
    if not isinstance(summary, dict) or "metrics" not in summary:
        return False
    recorded = (summary.get("k"), summary.get("problems"), summary.get("sampling"))
    return recorded == (bench.k, len(bench.problems), sampling_record(bench, cfg.eval))


class BeforeAfter:
    """The stage's before/after evaluation (see the module docstring)."""

    def __init__(self, cfg: DictConfig, stage_dir: Path):
        self.cfg, self.dir = cfg, stage_dir
        self.enabled = bool(cfg.eval.after_stage) and process_rank() == 0
        # Loaded up front: a missing benchmark file fails the stage before any training.
        self.benchmarks: list[Benchmark] = (
            [load_benchmark(cfg, name) for name in cfg.eval.benchmarks] if self.enabled else []
        )
        self.before_result: dict[str, dict] | None = None

    def _run(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, when: str) -> dict[str, dict]:
        cache = self.dir / f"eval_{when}.json"
        names = [b.name for b in self.benchmarks]
        if when == "before" and cache.exists():
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if all(_same_protocol(cached.get(b.name), b, self.cfg) for b in self.benchmarks):
                return {n: cached[n] for n in names}
            log.info("the recorded 'before' evaluation used other settings; evaluating again")
        engine = TransformersEngine(model, tokenizer, self.cfg.eval.batch_size)
        results = {}
        for bench in self.benchmarks:
            log.info("evaluating the %s model on %s", when, bench.name)
            result = evaluate_benchmark(engine, bench, self.cfg, self.dir / "reward_failures.jsonl")
            write_problem_rows(self.dir / "eval" / when / f"{bench.name}.jsonl", result.rows)
            results[bench.name] = result.summary
        atomic_write_json(cache, results)
        return results

    def before(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        if self.enabled:
            self.before_result = self._run(model, tokenizer, "before")

    def after(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
        """The before/after figures as manifest metrics (eval/before/heldout/pass@1, ...)."""
        if not self.enabled or self.before_result is None:
            return {}
        after = self._run(model, tokenizer, "after")
        atomic_write_json(self.dir / "eval.json", {"before": self.before_result, "after": after})
        for name, summary in after.items():
            b, a = self.before_result[name]["metrics"], summary["metrics"]
            log.info(
                "%s pass@1: before %s -> after %s; language consistency %s -> %s (%d problems, k=%d)",
                name,
                b.get("pass@1"),
                a.get("pass@1"),
                b.get("language_consistency"),
                a.get("language_consistency"),
                summary["problems"],
                summary["k"],
            )
        return manifest_metrics("before", self.before_result) | manifest_metrics("after", after)
