"""Guarded rewards: a hanging or crashing verification never stalls the step; failures are
counted, logged with the offending sample, and scored by the configured policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from r1pipe.rewards.guard import GuardedReward, GuardPolicy, pool_size, shutdown_pools


# Module-level so that spawned workers can import them by name.
def length_reward(completions, **_):
    return [float(len(c)) for c in completions]


def hangs_on_loop(completions, **_):
    if "loop" in completions[0]:
        while True:
            time.sleep(0.01)
    return [1.0]


def crashes_on_boom(completions, answer, **_):
    if completions[0] == "boom":
        raise ValueError("verifier crashed")
    return [1.0 if completions[0] == answer[0] else 0.0]


@pytest.fixture(scope="module", autouse=True)
def _stop_pools():
    yield
    shutdown_pools()


def test_scores_match_the_plain_function_and_columns_are_sliced_per_sample():
    guarded = GuardedReward("crash", crashes_on_boom, GuardPolicy(timeout_s=10, workers=2))
    assert guarded(["1", "2", "3"], answer=["1", "0", "3"]) == [1.0, 0.0, 1.0]
    assert guarded.__name__ == "crash"


@pytest.mark.parametrize(("policy", "expected"), [("none", None), ("zero", 0.0), ("penalty", -2.0)])
def test_a_hanging_sample_is_replaced_and_the_rest_score(policy, expected, tmp_path):
    """The hang sleeps (no CPU time): the wall-clock backstop, HANG_FACTOR x timeout_s, ends it."""
    log = tmp_path / "failures.jsonl"
    guarded = GuardedReward(
        "hang",
        hangs_on_loop,
        GuardPolicy(timeout_s=0.25, workers=2, on_failure=policy, penalty=-2.0, failure_log=log),
    )
    scores = guarded(["fine", "loop forever", "fine too"])
    assert scores == [1.0, expected, 1.0]
    assert guarded.metrics() == {
        "reward/hang/timeouts": 1,
        "reward/hang/errors": 0,
        "reward/hang/unjudged": 0,
    }
    record = json.loads(log.read_text().splitlines()[0])
    assert record["kind"] == "timeout" and record["completion"] == "loop forever"
    assert "hung, worker replaced" in record["why"]


def test_an_exception_is_counted_and_logged_not_scored_as_wrong(tmp_path):
    log = tmp_path / "failures.jsonl"
    guarded = GuardedReward("crash", crashes_on_boom, GuardPolicy(timeout_s=10, workers=1, failure_log=log))
    assert guarded(["boom", "x"], answer=["boom", "x"]) == [None, 1.0]
    assert guarded.metrics()["reward/crash/errors"] == 1
    assert "verifier crashed" in log.read_text()


def test_unpicklable_functions_run_in_process():
    guarded = GuardedReward("closure", lambda completions, **_: [0.5 for _ in completions], GuardPolicy())
    assert guarded(["a", "b"]) == [0.5, 0.5]


def test_math_verify_pathological_input_is_bounded():
    from r1pipe.rewards import math_accuracy

    guarded = GuardedReward("math_accuracy", math_accuracy, GuardPolicy(timeout_s=3.0, workers=1))
    evil = "</think>\\boxed{" + "(" * 2000 + "x" + ")" * 2000 + "^{9^{9^{9^{9}}}}}"
    scores = guarded(["</think>\\boxed{\\frac{1}{2}}", evil], answer=["0.5", "1"])
    assert scores == [1.0, None]
    assert guarded.counts["timeouts"] == 1  # its CPU deadline, inside the worker: not replaced


def test_a_hang_inside_a_chunk_costs_only_that_sample():
    guarded = GuardedReward("hang", hangs_on_loop, GuardPolicy(timeout_s=0.25, workers=2))
    batch = ["fine"] * 40
    batch[17] = "loop"
    scores = guarded(batch)
    assert scores[17] is None and scores.count(1.0) == 39
    assert guarded.metrics()["reward/hang/timeouts"] == 1


def test_an_unparsable_reference_is_counted_as_unjudged_not_wrong():
    from r1pipe.rewards import math_accuracy

    guarded = GuardedReward("math_accuracy", math_accuracy, GuardPolicy(timeout_s=10, workers=1))
    scores = guarded(["</think>\\boxed{2}", "</think>\\boxed{2}"], answer=["\\invalid{{{", "2"])
    assert scores == [None, 1.0]
    assert guarded.metrics()["reward/math_accuracy/unjudged"] == 1


def test_registered_closures_reach_the_workers_by_name():
    from r1pipe.rewards import get_reward

    fn = get_reward("language_consistency")  # made by a factory: not picklable
    guarded = GuardedReward("language_consistency", fn, GuardPolicy(timeout_s=10, workers=1))
    assert guarded._picklable
    assert guarded(["<think>\n个位相加\n</think>\n\n5"], language=["zh"]) == [1.0]


def test_trl_callbacks_stay_in_process_and_receive_the_counters():
    logged: dict[str, float] = {}

    def log_metric(name, value):  # a closure, like TRL's bound method: cannot be pickled to workers
        logged[name] = value

    guarded = GuardedReward("crash", crashes_on_boom, GuardPolicy(timeout_s=10, workers=1))
    scores = guarded(["boom", "ok"], answer=["boom", "ok"], log_metric=log_metric, log_extra=lambda *a: None)
    assert scores == [None, 1.0]
    assert logged == {
        "reward/crash/timeouts": 0.0,
        "reward/crash/errors": 1.0,
        "reward/crash/unjudged": 0.0,
        "reward/crash/unjudged_frac": 0.5,  # the share the signal check reads (training/signal_check.py)
    }


@pytest.mark.parametrize(
    ("workers", "cpus", "local_world_size", "cap", "expected"),
    [
        (3, 96, "8", 16, 3),  # given explicitly
        (0, 96, "8", 16, 12),  # 8 ranks on a 96-core node: 12 each, not 96 each
        (0, 96, None, 16, 16),  # one process: all CPUs, capped
        (0, 96, None, 64, 64),
        (0, 2, "8", 16, 1),  # more ranks than CPUs: at least one worker
        (0, 4, "2", 16, 2),
        (0, 4, "junk", 16, 4),  # an unreadable LOCAL_WORLD_SIZE counts as one process
    ],
)
def test_pool_size_is_this_process_share_of_the_node(
    monkeypatch, workers, cpus, local_world_size, cap, expected
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cpus)))
    if local_world_size is None:
        monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", local_world_size)
    assert pool_size(workers, cap) == expected


WORKER_IMPORTS = r"""
import sys
import r1pipe.pipeline.stage_process  # a spawned worker imports the stage process's main module (python -m r1pipe.pipeline.stage_process)
from r1pipe.rewards.guard import _score_chunk
assert _score_chunk("math_accuracy", ["</think>\\boxed{2}"], [{"answer": "2"}]) == [1.0]
assert _score_chunk("language_consistency", ["<think>ok</think>2"], [{"language": "en"}]) == [1.0]
code = ["</think>```python\nprint(2)\n```"]
assert _score_chunk("code_accuracy", code, [{"tests": [{"input": "", "output": "2"}]}]) == [1.0]
print(sorted(m for m in ("torch", "transformers", "trl", "datasets") if m in sys.modules))
"""


def test_reward_workers_import_no_torch():
    """A worker loads the reward package and the stage's main module: without torch, transformers,
    trl or datasets (hundreds of MB and a second or more each, times the workers of every rank)."""
    done = subprocess.run([sys.executable, "-c", WORKER_IMPORTS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def reads_the_step(completions, trainer_state=None, **_):
    """A reward that reads TRL's trainer state, and says whether its worker loaded torch."""
    return [float(trainer_state.global_step) + (0.5 if "torch" in sys.modules else 0.0) for _ in completions]


def test_the_trainer_state_reaches_workers_as_plain_data_without_torch():
    """TRL passes its TrainerState to every reward: pickled as is, it made each worker import
    transformers and torch (464 MB instead of 28). Workers get its plain fields."""
    from transformers import TrainerState

    guarded = GuardedReward("step", reads_the_step, GuardPolicy(timeout_s=10, workers=1))
    state = TrainerState(global_step=7, max_steps=10)
    assert guarded(["a", "b"], trainer_state=state, log_metric=lambda *_: None) == [7.0, 7.0]


def test_a_starved_verification_is_not_cut_short():
    """The verifier's deadline counts CPU time: waiting (as a process starved by others does)
    uses none, so it runs past its wall-clock length; a busy loop is cut at its CPU budget."""
    from r1pipe.rewards.deadline import VerificationTimeout, verification_deadline

    with verification_deadline(0.2) as bounded:
        time.sleep(0.5)
    assert bounded
    with pytest.raises(VerificationTimeout, match="CPU time"), verification_deadline(0.2):
        while True:
            pass
