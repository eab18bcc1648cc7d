"""What a user watches during RL, computed from the completions TRL generates.

TRL hands completions only to reward functions, so these are reward-shaped callables added with
weight 0: they never change the advantage, and TRL logs their per-step mean and std as
`rewards/<name>/mean` next to the real rewards (the paper's figures: response length and
reflective words rising during RL, the "aha moment").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1pipe.config import REFLECTIVE_WORDS
from r1pipe.rewards.answers import completion_text
from r1pipe.rundir import append_jsonl


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
    """Every `every` steps, the step's first `n` completions with their prompts and columns to
    samples.jsonl. Returns zeros (weight 0): it only watches."""

    __name__ = "sample_logger"

    def __init__(self, path: Path, every: int, n: int = 4):
        self.path, self.every, self.n, self._last_step = path, max(1, every), n, -1

    def __call__(
        self, completions: list, prompts: list | None = None, trainer_state: Any = None, **columns: Any
    ) -> list[float]:
        step = getattr(trainer_state, "global_step", 0)
        if step % self.every == 0 and step != self._last_step:
            self._last_step = step
            for i, completion in enumerate(completions[: self.n]):
                row = {
                    k: v[i] for k, v in columns.items() if isinstance(v, list) and len(v) == len(completions)
                }
                append_jsonl(
                    self.path,
                    {
                        "step": step,
                        "prompt": prompts[i] if prompts else None,
                        "completion": completion_text(completion),
                        **_plain(row),
                    },
                )
        return [0.0] * len(completions)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if isinstance(v, str | int | float | bool) or v is None}
