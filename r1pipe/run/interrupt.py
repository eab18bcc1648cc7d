"""A training stage stopped by SIGTERM (what Slurm sends before it kills a preempted job) or
SIGINT (Ctrl-C) finishes its current step, saves a checkpoint, and ends "interrupted", so the
rerun loses nothing. A second signal stops at once.

Considered: transformers' Trainer has no signal handling; its callbacks can ask for a save and a
stop at a step's end (`control.should_save`, `should_training_stop`), which is what
`SaveAndStopOnSignal` does. Processes must agree on the step to stop at (a save is collective
under FSDP/ZeRO-3, and a signal may reach the ranks at different moments), so the flag is summed
over the processes at each step's end: one tiny all-reduce per step.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any

from transformers import TrainerCallback

from r1pipe.run.context import StageStopped

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The same signal again within this many seconds is one event delivered twice: Slurm signals every
# process of a job, and the orchestrator forwards the SIGTERM it gets to the stage.
DUPLICATE_WINDOW_S = 2.0
_received: list[tuple[str, float]] = []  # (signal name, when) of the first stop signal


class StopRequested(StageStopped):
    """Training stopped at a step boundary with a checkpoint, on a signal: the stage is
    interrupted, not failed, and its rerun resumes from that checkpoint."""


def install_stop_handlers() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: Any) -> None:
    name, now = signal.Signals(signum).name, time.monotonic()
    if _received:
        first, at = _received[0]
        if name == first and now - at < DUPLICATE_WINDOW_S:
            return
        signal.signal(signum, signal.SIG_DFL)  # the second signal: stop now, as without r1pipe
        os.kill(os.getpid(), signum)
        return
    _received.append((name, now))
    log.warning("%s: stopping after the current step with a checkpoint; send it again to stop at once", name)


def stop_requested() -> str | None:
    return _received[0][0] if _received else None


def agreed_to_stop() -> bool:
    """True on every process as soon as one of them received a stop signal."""
    import torch
    import torch.distributed as dist

    local = 1.0 if _received else 0.0
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return bool(local)
    from accelerate import PartialState

    flag = torch.tensor([local], device=PartialState().device)
    dist.all_reduce(flag)
    return bool(flag.item() > 0)


class SaveAndStopOnSignal(TrainerCallback):
    """At the end of the step during which a stop signal arrived: save a checkpoint and stop."""

    def __init__(self) -> None:
        self.stopped_at: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if agreed_to_stop():
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control
