"""Step-gated rewards: a reward that applies only in the last N optimiser steps of training.

R1_RECIPE.md, stage 4: 1,700 steps, with the preference (reward-model) rewards only in the last
400. `LastSteps(reward, 400)` returns None for every sample before that window ("not applied") and
the wrapped reward's scores inside it.

What None does in TRL 1.16 (`GRPOTrainer._calculate_rewards` and the advantage code after it): a
None becomes NaN in its reward column; the weighted sum over columns is a nansum, so a column that
is NaN for some rows simply adds nothing to them; a row that is NaN in *every* column is
"unscorable": left out of its group's mean and std, its advantage forced to 0, and left out of the
logged reward. In stage 4 the gated reward models sit inside the routed reward (one TRL column),
whose total is None when a component is None, and the watchers ride on that column instead of
adding columns of their own (`watch.Watched`), so before the window a general prompt's completions
are unscorable: advantage exactly 0, and the logged reward is the reasoning prompts' alone. Had the
gate returned 0.0 instead, the rows would be scored 0: still no advantage within a group whose rows
are all 0, but a reward of 0 averaged into the logged reward, and a spurious signal wherever a
group mixes 0 with real scores.
"""

from __future__ import annotations

import logging
from typing import Any

from r1pipe.rewards.registry import RewardFn
from r1pipe.rewards.routing import reward_name

log = logging.getLogger(__name__)


def window_open(step: int, max_steps: int, last_steps: int) -> bool:
    """Whether the step (0-based, the trainer's global_step while it scores) is in the last
    `last_steps` of `max_steps`. last_steps < 0: every step; 0: never."""
    if last_steps < 0:
        return True
    return step >= max_steps - last_steps


class LastSteps:
    """`reward` in the last `last_steps` training steps; None for every sample before them.

    Reads TRL's `trainer_state` (global_step, max_steps), so a resumed run opens the window at the
    same step. Called without a trainer state (evaluation, rejection sampling), it always applies.
    """

    def __init__(self, reward: RewardFn, last_steps: int) -> None:
        self.reward, self.last_steps = reward, last_steps
        self.__name__ = reward_name(reward)  # routes and logs know the reward by its own name
        self._announced = False

    def is_open(self, trainer_state: Any) -> bool:
        if trainer_state is None:
            return True
        return window_open(trainer_state.global_step, trainer_state.max_steps, self.last_steps)

    def __call__(self, completions: list, trainer_state: Any = None, **kwargs: Any) -> list[float | None]:
        if not self.is_open(trainer_state):
            return [None] * len(completions)
        if trainer_state is not None and not self._announced:
            self._announced = True
            log.info(
                "%s applies from step %d of %d on",
                self.__name__,
                trainer_state.global_step,
                trainer_state.max_steps,
            )
        return self.reward(completions, trainer_state=trainer_state, **kwargs)

    def __repr__(self) -> str:
        return f"LastSteps({self.reward!r}, {self.last_steps})"
