"""Evaluation the paper's way, in small: k sampled answers per held-out problem (temperature 0.6,
top-p 0.95 by default, never greedy), judged by a registered accuracy reward; pass@1 is the mean
correctness over the k samples. Generation is r1pipe.generation's transformers engine on the
model in memory (batched, left-padded).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from datasets import Dataset
from omegaconf import DictConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from r1pipe.data import load_heldout
from r1pipe.generation import Sampling, TransformersEngine
from r1pipe.logs import process_rank
from r1pipe.rewards import extract_answer
from r1pipe.rewards.build import build_accuracy
from r1pipe.rewards.language import language_consistency
from r1pipe.rundir import atomic_write_json

log = logging.getLogger(__name__)


def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    *,
    n: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
) -> list[list[str]]:
    """`n` completions per user prompt (chat template applied), as decoded text."""
    engine = TransformersEngine(model, tokenizer, batch_size)
    sampling = Sampling(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, seed=seed)
    samples = engine.generate(prompts, [str(i) for i in range(len(prompts))], sampling)
    return [[s.text for s in samples[i : i + n]] for i in range(0, len(samples), n)]


def evaluate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    problems: Dataset,
    cfg: DictConfig,
    failure_log: Path | None = None,
) -> dict:
    """pass@1 (mean over k samples), format rate and mean length on `problems` (prompt, answer)."""
    e = cfg.eval
    if e.num_problems:
        problems = problems.select(range(min(e.num_problems, len(problems))))
    t0 = time.time()
    samples = generate(
        model,
        tokenizer,
        list(problems["prompt"]),
        n=e.samples_per_problem,
        temperature=e.temperature,
        top_p=e.top_p,
        max_new_tokens=e.max_new_tokens,
        batch_size=e.batch_size,
        seed=e.seed,
    )
    reward = build_accuracy(cfg.reward, failure_log)  # worker processes, per-sample timeout
    flat = [c for group in samples for c in group]
    answers = [a for a in problems["answer"] for _ in range(e.samples_per_problem)]
    scores = reward(flat, answer=answers)
    judged = [s for s in scores if s is not None]
    lengths = [len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in flat]
    language = language_scores(problems, flat, e.samples_per_problem)
    result = {
        "pass@1": round(sum(judged) / len(judged), 4) if judged else None,
        "problems": len(problems),
        "samples_per_problem": e.samples_per_problem,
        "answered": round(sum(extract_answer(c) is not None for c in flat) / len(flat), 4),
        "think_format": round(sum("</think>" in c for c in flat) / len(flat), 4),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "language_consistency": round(sum(language) / len(language), 4) if language else None,
        "unjudged": len(scores) - len(judged),
        "seconds": round(time.time() - t0, 1),
        **reward.metrics(),
    }
    examples = [
        {"prompt": p, "answer": a, "completion": group[0], "score": scores[i * e.samples_per_problem]}
        for i, (p, a, group) in enumerate(zip(problems["prompt"], problems["answer"], samples, strict=True))
    ][:8]
    return {"metrics": result, "examples": examples}


def language_scores(problems: Dataset, completions: list[str], k: int) -> list[float]:
    """Language consistency of each chain of thought with its prompt (the `language` column when
    the data has one, else the language detected in the prompt); unjudgeable samples left out.
    Regex and a small detector, fast enough to run in-process."""
    repeat = lambda column: [v for v in column for _ in range(k)]  # noqa: E731
    prompts = [[{"role": "user", "content": p}] for p in repeat(problems["prompt"])]
    targets = repeat(problems["language"]) if "language" in problems.column_names else None
    scores = language_consistency(completions, language=targets, prompts=prompts)
    return [s for s in scores if s is not None]


class BeforeAfter:
    """Held-out evaluation of a stage's input model (before) and final model (after), recorded in
    the stage dir: eval_before.json, eval_after.json, eval.json. A resumed attempt reuses the
    recorded 'before'. Rank 0 only; disabled by eval.after_stage=false."""

    KEYS = ("pass@1", "think_format", "language_consistency", "mean_length")

    def __init__(self, cfg: DictConfig, stage_dir: Path):
        self.cfg, self.dir = cfg, stage_dir
        self.enabled = bool(cfg.eval.after_stage) and process_rank() == 0
        self.heldout = load_heldout(cfg.data) if self.enabled else None
        self.before_result: dict | None = None

    def _run(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, when: str) -> dict:
        cache = self.dir / f"eval_{when}.json"
        if when == "before" and cache.exists():
            return json.loads(cache.read_text(encoding="utf-8"))
        assert self.heldout is not None
        log.info(
            "evaluating the %s model on %d held-out problems",
            when,
            min(self.cfg.eval.num_problems or len(self.heldout), len(self.heldout)),
        )
        result = evaluate(
            model, tokenizer, self.heldout, self.cfg, failure_log=self.dir / "reward_failures.jsonl"
        )
        atomic_write_json(cache, result)
        return result

    def before(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        if self.enabled:
            self.before_result = self._run(model, tokenizer, "before")

    def after(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict:
        """The before/after figures as manifest metrics (eval/before/pass@1, eval/after/pass@1, ...)."""
        if not self.enabled or self.before_result is None:
            return {}
        after = self._run(model, tokenizer, "after")
        atomic_write_json(self.dir / "eval.json", {"before": self.before_result, "after": after})
        b, a = self.before_result["metrics"], after["metrics"]
        log.info(
            "held-out pass@1: before %.3f -> after %.3f; language consistency %s -> %s (%d problems)",
            b["pass@1"],
            a["pass@1"],
            b.get("language_consistency"),
            a.get("language_consistency"),
            a["problems"],
        )
        return {
            f"eval/{when}/{k}": m[k] for when, m in (("before", b), ("after", a)) for k in self.KEYS if k in m
        }
