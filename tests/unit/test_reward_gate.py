"""Stage 4's step gate: preference rewards apply only in the last N training steps (paper: the last
400 of 1,700); before, every sample gets None ("not applied"), never a score."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from r1pipe.rewards.gate import LastSteps, window_open


@pytest.mark.parametrize(
    ("step", "max_steps", "last_steps", "open_"),
    [
        (0, 1700, 400, False),  # the paper's schedule: closed at the start
        (1299, 1700, 400, False),  # the step before the window
        (1300, 1700, 400, True),  # the first of the last 400 steps (0-based global_step while scoring)
        (1699, 1700, 400, True),  # the last step
        (0, 4, 2, False),
        (1, 4, 2, False),
        (2, 4, 2, True),
        (3, 4, 2, True),
        (0, 10, 10, True),  # a window as long as training: always
        (0, 10, 50, True),  # longer than training: always
        (9, 10, 0, False),  # 0: never
        (0, 10, -1, True),  # -1: every step
        (5, 0, 3, True),  # max_steps unknown (0): cannot be before the window
    ],
)
def test_window_open(step, max_steps, last_steps, open_):
    assert window_open(step, max_steps, last_steps) is open_


class Recorder:
    """A reward that scores 1.0 and remembers what it was called with."""

    __name__ = "helpful"

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, completions, **kwargs):
        self.calls.append(kwargs)
        return [1.0] * len(completions)


def state(step: int, max_steps: int = 4) -> SimpleNamespace:
    return SimpleNamespace(global_step=step, max_steps=max_steps)


@pytest.mark.parametrize(
    ("trainer_state", "expected", "called"),
    [
        (state(0), [None, None], False),  # before the window: None for every sample, reward not run
        (state(1), [None, None], False),
        (state(2), [1.0, 1.0], True),  # in the window: the wrapped reward's scores
        (state(3), [1.0, 1.0], True),
        (None, [1.0, 1.0], True),  # outside training (evaluation): always applies
    ],
)
def test_last_steps_wrapper(trainer_state, expected, called):
    inner = Recorder()
    gated = LastSteps(inner, last_steps=2)
    assert gated(["a", "b"], trainer_state=trainer_state, prompts=["p", "q"]) == expected
    assert bool(inner.calls) is called
    if called:  # the kwargs reach the wrapped reward unchanged, trainer_state included
        assert inner.calls[0] == {"trainer_state": trainer_state, "prompts": ["p", "q"]}


def test_gated_reward_keeps_its_name_for_routes_and_logs():
    gated = LastSteps(Recorder(), 400)
    assert gated.__name__ == "helpful"
    assert "400" in repr(gated)
