"""After a stage step exits non-zero, the orchestrator records why: `failed` with the error a
process raised (errors/rank<N>.json, written by r1pipe.pipeline.stage_process), or `interrupted` when a process
was killed, which raises nothing; the ranks that lost their peer only report the loss."""

from __future__ import annotations

import pytest

from r1pipe.pipeline.orchestrator import failure_cause
from r1pipe.run.rundir import ERRORS, atomic_write_json

GLOO_PEER = "[../gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:3504"

CASES = [
    # (errors raised by rank, launcher exit code, status, in the reason)
    ({}, -9, "interrupted", "killed by SIGKILL"),
    ({}, -15, "interrupted", "killed by SIGTERM"),
    ({}, 1, "interrupted", "no error raised"),  # accelerate's exit code after a rank was killed
    ({0: ("RuntimeError", GLOO_PEER)}, 1, "interrupted", "no error raised"),  # rank 1 killed, rank 0 lost it
    ({0: ("DistBackendError", "NCCL error: remote process exited")}, 1, "interrupted", "no error"),
    (
        {1: ("ValueError", "temperature must be > 0")},
        1,
        "failed",
        "ValueError: temperature must be > 0 (process 1)",
    ),
    (
        {0: ("RuntimeError", GLOO_PEER), 1: ("OutOfMemoryError", "CUDA out of memory")},
        1,
        "failed",
        "OutOfMemoryError: CUDA out of memory (process 1)",
    ),
    ({0: ("KeyError", "'answer'"), 1: ("KeyError", "'answer'")}, 1, "failed", "(process 0)"),
]

pytestmark = pytest.mark.faults


@pytest.mark.parametrize(("errors", "code", "status", "reason"), CASES)
def test_failure_cause(tmp_path, errors, code, status, reason):
    for rank, (kind, message) in errors.items():
        atomic_write_json(
            tmp_path / ERRORS / f"rank{rank}.json",
            {"phase": "train", "rank": rank, "type": kind, "message": message},
        )
    got_status, why, step = failure_cause(tmp_path, code)
    assert step == ("train" if status == "failed" else None)
    assert got_status == status and reason in why


def test_a_stage_error_is_recorded_with_its_phase(tmp_path):
    """r1pipe.pipeline.stage_process writes the record on the way out, whatever step raised."""
    from r1pipe.pipeline.stage_process import record_error

    record_error(tmp_path, "finish", RuntimeError("model dir lacks config.json"))
    assert failure_cause(tmp_path, 1) == (
        "failed",
        "RuntimeError: model dir lacks config.json (process 0)",
        "finish",
    )


def test_a_stop_signal_is_an_interruption_with_its_step(tmp_path):
    """r1pipe/run/interrupt.py: every process saved and stopped at the same step on SIGTERM/Ctrl-C."""
    message = "SIGTERM: stopped after step 12 with a checkpoint; the rerun resumes from it"
    for rank in (0, 1):
        atomic_write_json(
            tmp_path / ERRORS / f"rank{rank}.json",
            {"phase": "train", "rank": rank, "type": "StopRequested", "message": message},
        )
    assert failure_cause(tmp_path, 1) == ("interrupted", message, "train")


def test_a_full_disk_while_recording_a_failure_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    import errno

    from r1pipe.pipeline import orchestrator
    from r1pipe.pipeline.plan import StagePlan

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(orchestrator, "write_manifest", disk_full)
    stage = StagePlan("cold_start", 1, tmp_path / "01_cold_start", "run", "not run yet", "f", {}, {})
    orchestrator._record_failure(stage, "train: OSError: No space left on device", 3.0)
    assert "could not record stage cold_start as failed" in caplog.text
    assert str(tmp_path / "01_cold_start" / "manifest.json") in caplog.text
