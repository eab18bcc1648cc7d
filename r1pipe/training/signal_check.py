"""No RL stage burns GPU hours on no signal: over its first `signal_check_steps` logged steps, a
reward that could not judge most of its samples, or groups that all have zero reward spread,
make the stage save a checkpoint and stop with one message naming the reward, the column or
setting behind it, and the fix.

Both mean the gradient is (nearly) zero whatever the policy writes. Found on hub data: OpenR1-Math
has no `language` column, so in stage 4 every reasoning sample's language reward was None, its
routed total None, its advantage 0, for all 1,700 steps (issue 30).

What is read: TRL's `frac_reward_zero_std` (share of groups whose rewards are all equal) and, per
guarded reward, `reward/<name>/unjudged_frac` (share of the samples it was given that it scored
None: rewards/guard.py logs it every call). Reward models gated to the last steps of stage 4
return None by design before their window and are not guarded, so they are not held to this.
The verdict is taken on every process from the same logged numbers and agreed by an all-reduce
(a save is collective under FSDP/ZeRO-3: every process must stop at the same step).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping

from transformers import TrainerCallback

from r1pipe.run.context import StageStopped

log = logging.getLogger(__name__)

UNJUDGED = "unjudged_frac"
ZERO_SPREAD = "frac_reward_zero_std"

# What usually stands behind a reward that cannot judge, and the fix, for the built-ins.
CAUSES: dict[str, str] = {
    "math_accuracy": "the `answer` column (data.<set>.answer_column): references math-verify cannot parse, "
    "or an empty/missing answer column; point answer_column at the final answers, or set "
    "rejection.judge.model / a text-answer reward",
    "toy_accuracy": "the `answer` column (data.<set>.answer_column): empty or not a number",
    "choice_accuracy": "the `answer` column: not an option letter, index or text",
    "code_accuracy": "the `tests` column: missing or not a list of {input, output} cases; or the sandbox "
    "cannot run (r1pipe validate says so)",
    "language_consistency": "the `language` column and the prompts: unknown language codes; set the column "
    "to ISO 639-1 codes (en, zh) or drop it to detect the prompt's language",
    "general_match": "the `answer` column: general requests need a list of good answers",
}


class NoLearningSignal(StageStopped):
    """An RL stage stopped (with a checkpoint) because its rewards give no gradient."""


def any_process(flag: bool) -> bool:
    """True on every process when it is True on one (a tiny all-reduce; no-op on one process)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    from accelerate import PartialState

    value = torch.tensor([1.0 if flag else 0.0], device=PartialState().device)
    dist.all_reduce(value)
    return bool(value.item() > 0)


def signal_problems(
    window: list[Mapping[str, float]], max_unjudged: float, stage: str, check_key: str
) -> list[str]:
    """What in `window` (the logged metrics of the first steps) says the stage cannot learn."""
    problems = []
    unjudged: dict[str, list[float]] = defaultdict(list)
    for logs in window:
        for key, value in logs.items():
            if key.startswith("reward/") and key.endswith("/" + UNJUDGED) and _number(value):
                unjudged[key.split("/")[1]].append(float(value))
    for name, shares in sorted(unjudged.items()):
        share = sum(shares) / len(shares)
        if share > max_unjudged:
            cause = CAUSES.get(name, "the columns it reads (its keyword arguments) or its settings")
            problems.append(
                f"reward {name} could not judge {share:.0%} of its samples (None: no advantage); "
                f"check {cause}; samples.jsonl in the stage dir shows its samples (reward_failures.jsonl: "
                "those that timed out or crashed)"
            )
    spreads = [float(logs[ZERO_SPREAD]) for logs in window if _number(logs.get(ZERO_SPREAD))]
    if spreads and min(spreads) >= 1.0:
        problems.append(
            "every group had zero reward spread (all completions of a prompt scored the same): "
            "the prompts are always or never solved, or the rewards are constant; use prompts of "
            f"moderate difficulty, a larger {stage}.num_generations, or rewards that vary"
        )
    if problems:
        problems.append(
            f"(checked over the first {len(window)} logged steps; {check_key}=0 turns the check off)"
        )
    return problems


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


class LearningSignalCheck(TrainerCallback):
    """Collect the first `steps` logged steps; if they show no signal, save and stop."""

    def __init__(self, steps: int, max_unjudged: float, stage: str, section: str) -> None:
        self.steps, self.max_unjudged, self.stage, self.section = steps, max_unjudged, stage, section
        self.window: list[dict[str, float]] = []
        self.problems: list[str] = []
        self.done = steps <= 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.done or not logs or ZERO_SPREAD not in logs and not any(k.endswith(UNJUDGED) for k in logs):
            return control
        self.window.append(dict(logs))
        if len(self.window) < self.steps:  # a run shorter than the window costs little: unchecked
            return control
        self.done = True
        problems = signal_problems(
            self.window, self.max_unjudged, self.section, f"{self.section}.signal_check_steps"
        )
        if any_process(bool(problems)):
            self.problems = problems or ["another process found no learning signal (see its log)"]
            control.should_save = True
            control.should_training_stop = True
        return control

    def message(self, step: int) -> str:
        lines = "\n  - ".join(self.problems)
        return f"stage {self.stage}: no learning signal, stopped after step {step} with a checkpoint:\n  - {lines}"
