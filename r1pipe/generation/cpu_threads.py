"""How many torch threads decode on the CPU (`generation.cpu_decode_threads`).

Decoding a small model is thousands of tiny ops, each a barrier for every OpenMP thread: beside
other busy processes one preempted thread stalls the rest (2 threads 5-13x slower, 1 thread
1.6x), while on an idle machine all threads are faster (docs/BENCHMARKS.md). `decode_threads`
sets the count around a generate call; -1 (auto, the default) picks all threads or 1 from how busy
the rest of the machine has been (`busy_elsewhere`, from Linux's /proc). Training keeps all.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

log = logging.getLogger(__name__)


AUTO_THREADS = -1  # generation.cpu_decode_threads=-1: all threads while the machine is otherwise idle
# Other processes' CPU use, in cores, at or above which `auto` decodes in one thread: half a core
# busy elsewhere already preempts one of two decoding threads often enough to stall the other.
BUSY_ELSEWHERE_CORES = 0.5


def _cpu_seconds() -> tuple[float, float, float] | None:
    """(wall clock, CPU seconds the whole machine has been busy, CPU seconds of this process's
    work: its threads and its live descendants, such as reward workers) from Linux's /proc;
    None where there is none (macOS, Windows)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already counted in user)
    busy = sum(values) - values[3] - values[4]
    own = os.times()
    ticks = os.sysconf("SC_CLK_TCK")
    return time.monotonic(), busy / ticks, own.user + own.system + _descendants_ticks() / ticks


def _descendants_ticks() -> int:
    """CPU ticks of this process's live descendants (utime, stime and their reaped children's),
    from /proc/<pid>/task/<tid>/children and /proc/<pid>/stat; 0 for any that cannot be read."""
    total, pending = 0, [str(os.getpid())]
    while pending:
        pid = pending.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                    children = f.read().split()
            except OSError:
                continue
            for child in children:
                try:
                    with open(f"/proc/{child}/stat", encoding="ascii", errors="replace") as f:
                        fields = f.read().rsplit(")", 1)[1].split()  # after the command name
                    total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
                except (OSError, IndexError, ValueError):
                    continue
                pending.append(child)
    return total


_last_look: tuple[float, float, float] | None = None
_last_answer: float | None = None


def busy_elsewhere(first_window_s: float = 0.2, min_window_s: float = 1.0) -> float | None:
    """How many cores other processes kept busy since this process last asked (the first time:
    over `first_window_s`), or None where the machine does not say. Asked again within
    `min_window_s` (consecutive generate batches), the last answer: the kernel counts in 10 ms
    ticks, too coarse for a shorter window. Considered: os.getloadavg(), which counts this
    process's own threads and lags a minute behind."""
    global _last_look, _last_answer
    now = _cpu_seconds()
    if now is None:
        return None
    if _last_look is None:
        time.sleep(first_window_s)
        _last_look, now = now, _cpu_seconds()
        assert now is not None
    elif now[0] - _last_look[0] < min_window_s and _last_answer is not None:
        return _last_answer
    wall, busy, own = (b - a for a, b in zip(_last_look, now, strict=True))
    _last_look = now
    _last_answer = max(0.0, busy - own) / wall if wall > 0 else None
    return _last_answer


def auto_decode_threads() -> int:
    """`generation.cpu_decode_threads=-1`: all of torch's threads (0) while no other process keeps
    the CPU busy, else 1 thread, which holds up beside busy processes where 2 decode 5-13x slower
    (docs/BENCHMARKS.md); 1 where the machine cannot tell."""
    global _last_choice
    others = busy_elsewhere()
    threads = 0 if others is not None and others < BUSY_ELSEWHERE_CORES else 1
    if threads != _last_choice:  # said when it changes, not at every batch
        _last_choice = threads
        log.info(
            "decoding on %s (generation.cpu_decode_threads=-1: %s)",
            f"all {torch.get_num_threads()} threads" if threads == 0 else "1 thread",
            "the machine cannot tell how busy it is"
            if others is None
            else f"other processes keep {others:.1f} cores busy",
        )
    return threads


_last_choice: int | None = None


@contextmanager
def decode_threads(threads: int, device: str) -> Iterator[None]:
    """Torch's intra-op threads set to `threads` while the body decodes on the CPU (0, or a GPU:
    unchanged; -1: `auto_decode_threads`), then restored. Considered: OMP_WAIT_POLICY=PASSIVE /
    GOMP_SPINCOUNT for the whole process: they cut the spinning too, but cost idle decoding up to
    ~50% and training its threads' benefit; one thread for decoding costs neither
    (docs/BENCHMARKS.md)."""
    if device == "cpu" and threads == AUTO_THREADS:
        threads = auto_decode_threads()
    if threads <= 0 or device != "cpu" or threads == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
