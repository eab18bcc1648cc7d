"""Run rewards so that no input can stall a training step: every sample is scored in a worker
process under a timeout, and failures are counted, logged, and scored by policy.

Two bounds, so that a busy machine is not mistaken for a hung verifier: verifiers stop
themselves after `timeout_s / 2` of CPU time (rewards/deadline.py; the worker lives on), and a
worker whose task has not returned after HANG_FACTOR x `timeout_s` of wall-clock time (a
verifier blocked without using the CPU, or stuck in C code that never returns to Python) is
killed and replaced. A worker starved of CPU by other processes uses no CPU time, so it is cut
short only past the wall-clock backstop.

Why processes: math parsing (sympy through math-verify) can hang on adversarial answers, and
math-verify's own timeout uses SIGALRM, which only works on the main thread of the main
interpreter. A hung worker is killed and replaced; the step goes on.

Considered: concurrent.futures.ProcessPoolExecutor, which cannot cancel a running task (a hung
verification would hold its worker forever). pebble's ProcessPool kills a task's worker when its
per-task timeout expires and starts a fresh one, which is exactly what is needed here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from pebble import ProcessPool

from r1pipe.rewards.deadline import VerificationTimeout
from r1pipe.rewards.registry import REWARDS, RewardFn, columns_for, get_reward
from r1pipe.rewards.sandbox import reap_orphans

log = logging.getLogger(__name__)

FailurePolicy = Literal["none", "zero", "penalty"]


DEFAULT_MAX_WORKERS = 16
# The wall-clock backstop, as a multiple of timeout_s: a task that has not returned by then is
# hung (not merely starved: starvation up to this factor is survived without a kill).
HANG_FACTOR = 4


@dataclass(frozen=True)
class GuardPolicy:
    # per sample: verifiers stop at half of it in CPU time; a task is killed at HANG_FACTOR x it (wall)
    timeout_s: float = 5.0
    workers: int = 0  # worker processes; 0: this process's share of the node's CPUs (pool_size); -1: none
    max_workers: int = DEFAULT_MAX_WORKERS  # cap on the automatic count (workers=0)
    on_failure: FailurePolicy = "none"  # score of a timed-out or crashed sample: None, 0.0, or `penalty`
    penalty: float = -1.0  # used when on_failure == "penalty"
    failure_log: Path | None = None  # JSONL of offending samples (name, kind, completion, columns)


_POOLS: dict[int, ProcessPool] = {}
_POOL_LOCK = threading.Lock()


def shared_pool(workers: int, cap: int = DEFAULT_MAX_WORKERS) -> ProcessPool:
    """One pool per size per process. 'spawn' because forking a process that holds torch threads
    (the trainer) can deadlock. Workers import no torch (the reward package keeps it out), so a
    worker costs tens of MB, not hundreds."""
    n = pool_size(workers, cap)
    with _POOL_LOCK:
        if n not in _POOLS:
            _POOLS[n] = ProcessPool(
                max_workers=n, context=multiprocessing.get_context("spawn"), initializer=_start_worker
            )
        return _POOLS[n]


def pool_size(workers: int, cap: int = DEFAULT_MAX_WORKERS) -> int:
    """`workers` when > 0. When 0, this process's share of the node: the CPUs it may run on
    (its affinity, which Slurm and containers narrow) divided by the training processes on this
    node (LOCAL_WORLD_SIZE, set by torchrun and accelerate), at least 1 and at most `cap`. Eight
    ranks on a 96-core node get 12 workers each, not 96 (768 in all)."""
    if workers > 0:
        return workers
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE") or 1))
    except ValueError:
        local_processes = 1
    return max(1, min(cap, cpus // local_processes))


def _start_worker() -> None:
    """Worker start. Any numeric library a verifier loads later (sympy's optional numpy, a user's
    reward) runs one thread: the pool already has one worker per CPU share.

    Stop signals are ignored: a preemption signals every process of the job at once (Slurm, `kill
    -- -PGID`, Ctrl-C in a terminal), and a worker that died of it would abort the step the stage
    is finishing before it saves ("Unexpected error within the Pool"). The stage ends its
    workers itself (shutdown_pools), and they exit when their channel to it closes. Cost: pebble
    replaces a hung worker with SIGTERM, then SIGKILL 3 s later (pebble's term_timeout)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)


def shutdown_pools() -> None:
    """End every worker now (SIGKILL: they ignore SIGTERM, and pebble would wait 3 s for each)."""
    with _POOL_LOCK:
        for pool in _POOLS.values():
            kill_workers(pool)
            pool.stop()
            pool.join(timeout=5)
        _POOLS.clear()


def kill_workers(pool: ProcessPool) -> None:
    # pebble 5.2 keeps its worker processes in _pool_manager.worker_manager.workers (no public API).
    manager = getattr(getattr(pool, "_pool_manager", None), "worker_manager", None)
    for process in list(getattr(manager, "workers", {}).values()):
        with contextlib.suppress(OSError, TypeError):
            os.kill(process.pid, signal.SIGKILL)


def _score_chunk(
    fn: RewardFn | str, completions: list[Any], rows: list[dict[str, Any]]
) -> list[float | None]:
    """Runs in a worker: the reward sample by sample over a chunk (so one bad sample only costs its
    own score when the chunk is retried one by one). `fn` is the function, or the registered name
    of one that cannot be pickled (a closure made by a factory)."""
    if isinstance(fn, str):  # the package (imported before this module) registered the built-ins
        fn = get_reward(fn)
    return [fn([c], **_call_columns(row))[0] for c, row in zip(completions, rows, strict=True)]


SHARED = "__shared__"  # a row's key for the batch-wide values (trainer_state, settings)


def _call_columns(row: dict[str, Any]) -> dict[str, Any]:
    """A one-sample call's keyword arguments: each per-sample value as a batch of one, as TRL
    passes columns; batch-wide values (TRL's trainer_state, the reward settings) as they are."""
    return {**row.get(SHARED, {}), **{k: [v] for k, v in row.items() if k != SHARED}}


MAX_CHUNK = 64


def _rows(n: int, columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-sample kwargs: list columns of the batch length are sliced, the rest passed as is.
    Only plain data crosses to the workers: TRL's `trainer_state` goes as a namespace of its
    plain fields (unpickling the TrainerState itself made every worker import transformers and
    torch: 464 MB instead of 28), and what is not plain data (TRL's `log_metric`/`log_extra`
    callbacks, its environments, tensors) stays behind: rule rewards never need them."""
    per_sample = {k: v for k, v in columns.items() if isinstance(v, list | tuple) and len(v) == n}
    shared = {}
    for key, value in columns.items():
        if key in per_sample:
            continue
        if key == "trainer_state" and value is not None:
            value = SimpleNamespace(**{k: v for k, v in vars(value).items() if _plain(v)})
        if _plain(value):
            shared[key] = value
    return [{SHARED: shared, **{k: v[i] for k, v in per_sample.items()}} for i in range(n)]


def _plain(value: Any) -> bool:
    """Built-in data only (str, numbers, None, and lists/dicts of them), or a namespace of it."""
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, SimpleNamespace):
        return _plain(vars(value))
    return False


class GuardedReward:
    """A registered reward made safe to call from a training step (TRL calls it like the original).

    `settings` are keyword arguments every call receives unless a column of the same name is given
    (from config: reward.without_think_end). The reward also receives `verify_timeout_s`, half the
    per-sample timeout: a verifier with its own deadline (math_accuracy) stops strictly inside
    the guard's, so a slow sample gets the same verdict every run (rewards/deadline.py).
    """

    def __init__(self, name: str, fn: RewardFn, policy: GuardPolicy, settings: dict[str, Any] | None = None):
        self.name, self.fn, self.policy = name, fn, policy
        self.settings = {"verify_timeout_s": policy.timeout_s / 2, **(settings or {})}
        self.__name__ = name  # TRL logs reward columns by function name
        # unjudged: the reward itself returned None (e.g. a reference math-verify cannot parse)
        self.counts = {"samples": 0, "timeouts": 0, "errors": 0, "unjudged": 0}
        # What workers receive: the function, or its registered name when it cannot be pickled.
        self._payload: RewardFn | str | None = (
            fn if _is_picklable(fn) else (name if REWARDS.get(name) is fn else None)
        )
        self._picklable = self._payload is not None
        if not self._picklable:
            log.warning(
                "reward %s cannot be sent to worker processes (not picklable); it runs in-process without a timeout",
                name,
            )

    @property
    def hang_timeout_s(self) -> float:
        """The wall-clock backstop of a worker task (module docstring)."""
        return self.policy.timeout_s * HANG_FACTOR

    def __call__(self, completions: list, **columns: Any) -> list[float | None]:
        before = dict(self.counts)
        log_metric = columns.get("log_metric")  # TRL's GRPOTrainer passes it: per-step counters
        # Only what the reward reads crosses to the workers and into the failure log.
        columns = columns_for(self.fn, {**self.settings, **columns})
        scores = self._score(completions, columns)
        if callable(log_metric):
            for kind in ("timeouts", "errors", "unjudged"):
                log_metric(f"reward/{self.name}/{kind}", float(self.counts[kind] - before[kind]))
            if scores:  # the share this call could not score: training/signal_check.py reads it
                log_metric(f"reward/{self.name}/unjudged_frac", sum(s is None for s in scores) / len(scores))
        return scores

    def _score(self, completions: list, columns: dict[str, Any]) -> list[float | None]:
        rows = _rows(len(completions), columns)
        self.counts["samples"] += len(completions)
        if not self._picklable or self.policy.workers < 0:
            return self._in_process(completions, columns, rows)
        # Chunks amortise inter-process overhead (a task costs ~1 ms). A chunk that times out or
        # crashes is retried one sample per task, so only the bad sample loses its score and a
        # call is bounded by about 2 x hang_timeout_s (a hang), a CPU-bound runaway by its deadline.
        pool = shared_pool(self.policy.workers, self.policy.max_workers)
        n_workers = pool_size(self.policy.workers, self.policy.max_workers)
        size = max(1, min(MAX_CHUNK, len(completions) // (4 * n_workers)))
        spans = [(i, min(i + size, len(completions))) for i in range(0, len(completions), size)]
        futures = [
            pool.schedule(
                _score_chunk, args=(self._payload, completions[a:b], rows[a:b]), timeout=self.hang_timeout_s
            )
            for a, b in spans
        ]
        scores: list[float | None] = []
        for (a, b), future in zip(spans, futures, strict=True):
            if b - a == 1:  # a single sample: its failure is final, no retry
                scores.append(self._result(future, completions[a], rows[a]))
                continue
            try:
                scores += self._judged(future.result())
            except Exception:
                scores += self._one_by_one(pool, completions[a:b], rows[a:b])
        return scores

    def _in_process(
        self, completions: list, columns: dict[str, Any], rows: list[dict[str, Any]]
    ) -> list[float | None]:
        """No workers: the whole batch at once; if a sample runs past the verifier's own deadline,
        the batch again one sample at a time, so only that sample loses its score."""
        try:
            return self._judged(self.fn(completions, **columns))
        except VerificationTimeout:
            pass
        scores = []
        for completion, row in zip(completions, rows, strict=True):
            try:
                scores += self._judged(_score_chunk(self.fn, [completion], [row]))
            except VerificationTimeout as e:
                scores.append(self._failed("timeouts", completion, row, str(e)))
        return scores

    def _one_by_one(
        self, pool: ProcessPool, completions: list[Any], rows: list[dict[str, Any]]
    ) -> list[float | None]:
        futures = [
            pool.schedule(_score_chunk, args=(self._payload, [c], [r]), timeout=self.hang_timeout_s)
            for c, r in zip(completions, rows, strict=True)
        ]
        return [self._result(f, c, r) for f, c, r in zip(futures, completions, rows, strict=True)]

    def _result(self, future: Any, completion: Any, row: dict[str, Any]) -> float | None:
        try:
            return self._judged(future.result())[0]
        except FutureTimeout:
            _after_a_killed_worker()
            why = f"no result within {self.hang_timeout_s:g}s (wall clock): hung, worker replaced"
            return self._failed("timeouts", completion, row, why)
        except VerificationTimeout as e:  # the verifier's own deadline, inside ours
            return self._failed("timeouts", completion, row, str(e))
        except Exception as e:  # the sample's fault (a crash in the verifier), never the step's
            return self._failed("errors", completion, row, f"{type(e).__name__}: {e}")

    def _judged(self, scores: list[float | None]) -> list[float | None]:
        self.counts["unjudged"] += sum(score is None for score in scores)
        return scores

    def _failed(self, kind: str, completion: Any, row: dict[str, Any], why: str) -> float | None:
        self.counts[kind] += 1
        log.warning("reward %s: %s on a sample (%s)", self.name, kind[:-1], why)
        if self.policy.failure_log:
            record = {
                "reward": self.name,
                "kind": kind[:-1],
                "why": why,
                "time": time.time(),
                "completion": completion,
                "columns": row,
            }
            path = rank_file(self.policy.failure_log)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        return {"none": None, "zero": 0.0, "penalty": self.policy.penalty}[self.policy.on_failure]

    def metrics(self) -> dict[str, int]:
        """Counters as `reward/<name>/timeouts`, `.../errors`, `.../unjudged` (cumulative)."""
        return {f"reward/{self.name}/{k}": v for k, v in self.counts.items() if k != "samples"}


def _after_a_killed_worker() -> None:
    """The worker that ran past the timeout was killed mid-sample; if it was running a program in
    the code sandbox, that program's processes (setsid children included) are ended here, so none
    outlives the reward call (sandbox.reap_orphans; cheap when there are none)."""
    reap_orphans()


def _is_picklable(fn: RewardFn) -> bool:
    try:
        pickle.dumps(fn)
        return True
    except Exception:
        return False


def rank_file(path: Path) -> Path:
    """`path` on the main process; `<stem>.rank<N><suffix>` on training process N > 0, so that
    each rank logs the failures of its own completions and no two processes append to one file."""
    rank = int(os.environ.get("RANK", "0") or 0)
    return path if rank == 0 else path.with_name(f"{path.stem}.rank{rank}{path.suffix}")
