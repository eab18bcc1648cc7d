"""What a user watches during RL, computed from the completions TRL generates.

TRL hands completions only to reward functions, so these are reward-shaped callables added with
weight 0: they never change the advantage, and TRL logs their per-step mean and std as
`rewards/<name>/mean` next to the real rewards (the paper's figures: response length and
reflective words rising during RL, the "aha moment"). Stage 4's routed reward carries them
instead (`Watched`), for the reason given there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1pipe.config.schema import REFLECTIVE_WORDS
from r1pipe.rewards.answers import completion_text
from r1pipe.rewards.routing import RoutedReward
from r1pipe.run.logs import process_rank
from r1pipe.run.rundir import append_jsonl


class ReflectionCounter:
    """Reflective words per completion (whole words in Latin script, substrings in CJK)."""

    __name__ = "reflective_words"

    def __init__(self, words: Sequence[str] = REFLECTIVE_WORDS):
        latin = [re.escape(w) for w in words if w.isascii()]
        cjk = [re.escape(w) for w in words if not w.isascii()]
        parts = ([rf"\b(?:{'|'.join(latin)})\b"] if latin else []) + ([f"(?:{'|'.join(cjk)})"] if cjk else [])
        self.pattern = re.compile("|".join(parts) or r"(?!x)x", re.IGNORECASE)

    def count(self, text: str) -> int:
        return len(self.pattern.findall(text))

    def __call__(self, completions: list, **_: Any) -> list[float]:
        return [float(self.count(completion_text(c))) for c in completions]


class SampleLogger:
    """Every `every` steps, `n` of the step's completions (every `stride`-th: with stride G, the
    first of each prompt's group) with their prompts and columns to samples.jsonl. Returns zeros
    (weight 0): it only watches."""

    __name__ = "sample_logger"

    def __init__(self, path: Path, every: int, n: int = 4, stride: int = 1):
        self.path, self.every, self.n, self.stride = path, max(1, every), n, max(1, stride)
        self._last_step = -1

    def __call__(
        self, completions: list, prompts: list | None = None, trainer_state: Any = None, **columns: Any
    ) -> list[float]:
        self.log(completions, prompts, trainer_state, columns)
        return [0.0] * len(completions)

    def log(
        self,
        completions: list,
        prompts: list | None,
        trainer_state: Any,
        columns: dict[str, Any],
        details: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Write the rows if this step is due; `details[i]` adds fields to completion i's row."""
        step = getattr(trainer_state, "global_step", 0)
        if step % self.every or step == self._last_step or process_rank() != 0:
            return  # on N processes: the main one's completions only (one writer)
        self._last_step = step
        for i in list(range(0, len(completions), self.stride))[: self.n]:
            row = {k: v[i] for k, v in columns.items() if isinstance(v, list) and len(v) == len(completions)}
            append_jsonl(
                self.path,
                {
                    "step": step,
                    "prompt": prompts[i] if prompts else None,
                    "completion": completion_text(completions[i]),
                    **_plain(row),
                    **(details[i] if details else {}),
                },
            )


class Watched:
    """A routed reward with the watchers riding on it, as one TRL reward column (stage 4).

    Stage 2 adds its watchers as weight-0 reward columns. Next to a routed reward that would be
    wrong: TRL treats a row as unscorable (advantage 0, outside its group's baseline) only when
    every column is None, so a watcher's 0.0 would turn a routed None (a verification that failed,
    a preference reward before its window: rewards/gate.py) into a reward of 0. Here the watchers
    report through TRL's `log_metric` instead (`rewards/reflective_words/mean`, as TRL would name
    it), and each logged sample carries its route, the raw value of every reward it received
    (None: not applied) and its total.
    """

    def __init__(self, reward: RoutedReward, reflection: ReflectionCounter, samples: SampleLogger):
        self.reward, self.reflection, self.samples = reward, reflection, samples
        self.__name__ = reward.__name__

    def __call__(
        self,
        completions: list,
        prompts: list | None = None,
        trainer_state: Any = None,
        log_metric: Any = None,
        **columns: Any,
    ) -> list[float | None]:
        totals = self.reward(
            completions, prompts=prompts, trainer_state=trainer_state, log_metric=log_metric, **columns
        )
        counts = self.reflection(completions)
        if callable(log_metric) and counts:
            log_metric(f"rewards/{self.reflection.__name__}/mean", sum(counts) / len(counts))
        details = [
            {"route": route, "rewards": rewards, "reward": total}
            for route, rewards, total in zip(
                self.reward.last_routes, self.reward.last_breakdown, totals, strict=True
            )
        ]
        self.samples.log(completions, prompts, trainer_state, columns, details)
        return totals


class _DropUnscorableWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "All reward functions returned None" not in str(record.msg)


def silence_unscorable_warning() -> None:
    """TRL warns, printing the whole row, for each batch holding a row whose rewards are all None.
    Under `Watched` such rows are expected (general prompts before their preference window) and
    harmless (advantage 0); failed verifications are counted by the guard
    (reward/<name>/timeouts|errors) and listed in reward_failures.jsonl."""
    trl_log = logging.getLogger("trl.trainer.grpo_trainer")
    if not any(isinstance(f, _DropUnscorableWarning) for f in trl_log.filters):
        trl_log.addFilter(_DropUnscorableWarning())


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if isinstance(v, str | int | float | bool) or v is None}
