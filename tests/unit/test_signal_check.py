"""An RL stage with no learning signal stops over its first logged steps (issue 30, point 3):
a reward that cannot judge most of its samples, or groups that all have zero spread."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from transformers import TrainerControl

from r1pipe.training.signal_check import LearningSignalCheck, signal_problems


def step(zero_std: float = 0.25, **unjudged: float) -> dict[str, float]:
    return {"frac_reward_zero_std": zero_std, **{f"reward/{k}/unjudged_frac": v for k, v in unjudged.items()}}


CASES = [
    # (logged steps, what the problems name; [] for a healthy start)
    ([step(math_accuracy=0.0, language_consistency=0.0)] * 5, []),
    ([step(math_accuracy=0.1, language_consistency=0.4)] * 5, []),  # some unjudged: under the share
    (
        [step(language_consistency=1.0)] * 5,
        ["reward language_consistency could not judge 100%", "`language` column"],
    ),
    ([step(math_accuracy=0.6)] * 3 + [step(math_accuracy=0.0)] * 2, []),  # 36% over the window
    ([step(math_accuracy=0.9)] * 5, ["reward math_accuracy could not judge 90%", "answer_column"]),
    ([step(zero_std=1.0)] * 5, ["every group had zero reward spread", "reasoning_rl.num_generations"]),
    ([step(zero_std=1.0)] * 4 + [step(zero_std=0.9)], []),  # one step with spread: there is signal
    ([step(my_reward=1.0)] * 5, ["reward my_reward could not judge 100%", "the columns it reads"]),
    ([{"loss": 0.1}] * 5, []),  # nothing to go by
    ([step(zero_std=float("nan"), math_accuracy=float("nan"))] * 5, []),
]


@pytest.mark.parametrize(("window", "says"), CASES)
def test_signal_problems(window, says):
    problems = signal_problems(window, 0.5, "reasoning_rl", "reasoning_rl.signal_check_steps")
    text = "\n".join(problems)
    assert bool(problems) == bool(says), text
    for part in says:
        assert part in text
    if problems:
        assert "reasoning_rl.signal_check_steps=0" in text


def run_callback(check: LearningSignalCheck, logs: list[dict]) -> list[bool]:
    stops = []
    for i, entry in enumerate(logs, start=1):
        control = check.on_log(
            None, SimpleNamespace(global_step=i, max_steps=100), TrainerControl(), logs=entry
        )
        assert control.should_save == control.should_training_stop
        stops.append(control.should_training_stop)
    return stops


def test_the_callback_saves_and_stops_once_the_window_is_full():
    check = LearningSignalCheck(3, 0.5, "all_scenario_rl", "all_scenario_rl")
    assert run_callback(check, [step(math_accuracy=1.0)] * 5) == [False, False, True, False, False]
    message = check.message(3)
    assert message.startswith(
        "stage all_scenario_rl: no learning signal, stopped after step 3 with a checkpoint"
    )
    assert "math_accuracy" in message


def test_a_healthy_start_is_never_checked_again_and_zero_turns_it_off():
    healthy = LearningSignalCheck(2, 0.5, "reasoning_rl", "reasoning_rl")
    assert run_callback(healthy, [step()] * 2 + [step(zero_std=1.0, math_accuracy=1.0)] * 5) == [False] * 7
    off = LearningSignalCheck(0, 0.5, "reasoning_rl", "reasoning_rl")
    assert run_callback(off, [step(zero_std=1.0)] * 5) == [False] * 5
    short = LearningSignalCheck(5, 0.5, "reasoning_rl", "reasoning_rl")  # a 2-step run: unchecked
    assert run_callback(short, [step(zero_std=1.0)] * 2) == [False] * 2
