"""A verifier's own time bound, strictly inside the guard's (rewards/guard.py), so that the same
input always gets the same verdict, and counted in CPU time, so that a starved verification
(other processes on the machine's cores) is never mistaken for a hung one.

math-verify bounds each parse and each comparison with `signal.alarm` (whole seconds, default 5,
restarted per gold x prediction pair): a pathological answer could take several of those bounds,
and with the guard's per-sample timeout also 5 s, one run scored it 0.0 (math-verify's alarm
first) and the next None (the guard killed the worker first). Here one interval timer bounds the
whole verification of a sample at `seconds` of the process's CPU time (ITIMER_PROF: user and
system time; the guard passes half its own timeout), and running out raises
`VerificationTimeout`, which the guard counts as a timeout and scores by `reward.on_failure`,
exactly as if it had killed the worker, but every time, and without killing it (no respawn).
A verification that waits for the CPU uses none, so it is not cut short however busy the machine
is; the guard's wall-clock bound, a multiple of its timeout, is the backstop for what hangs
without using the CPU.

Considered: math-verify's own `timeout_seconds`/`parsing_timeout` (per call, whole seconds, wall
time, and a timeout inside `verify` is swallowed into False, which would score an unverified
answer as wrong, silently). It is switched off (None) where this deadline is in force.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

DEFAULT_SECONDS = 2.5  # for direct calls; the guard passes timeout_s / 2


class VerificationTimeout(Exception):  # noqa: N818 (a timeout, named like TimeoutError)
    """The verifier ran past its own deadline (the guard counts it under `timeouts`)."""


class _DeadlinePassed(BaseException):
    """Raised by the timer. A BaseException so that math-verify's and sympy's `except Exception`
    handlers cannot swallow it on its way out."""


@contextlib.contextmanager
def verification_deadline(seconds: float | None) -> Iterator[bool]:
    """Bound the body at `seconds` of this process's CPU time; yields whether the bound is in force.

    Only the main thread runs Python signal handlers: elsewhere (a reward called from a thread) the body
    runs unbounded, as TRL does, and the guard's worker processes are the bound.
    """
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield False
        return

    def on_expiry(_signum: int, _frame: object) -> None:
        raise _DeadlinePassed

    previous = signal.signal(signal.SIGPROF, on_expiry)
    try:
        try:
            signal.setitimer(signal.ITIMER_PROF, seconds)
            yield True
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)  # an expiry arriving before this is caught below
    except _DeadlinePassed:
        raise VerificationTimeout(f"verification used more than its {seconds:g}s of CPU time") from None
    finally:
        signal.signal(signal.SIGPROF, previous)
