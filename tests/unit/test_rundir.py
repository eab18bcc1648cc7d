"""The run directory is the hand-off between stages: files another step reads are written
atomically, manifests round-trip, and only published checkpoints count."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from r1pipe.run import rundir
from r1pipe.run.rundir import (
    MANIFEST,
    atomic_write_json,
    atomic_write_text,
    checkpoint_problem,
    latest_checkpoint,
    latest_usable_checkpoint,
    list_checkpoints,
    read_jsonl,
    read_manifest,
    set_aside,
    write_manifest,
)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _manifest_fields(**over) -> dict:
    fields = dict(
        stage="cold_start",
        status="complete",
        fingerprint="abc123",
        inputs={"model": "/m"},
        outputs={"model": "model"},
        metrics={"loss": 0.5},
        versions={"torch": "x"},
        wall_time_s=1.5,
    )
    return {**fields, **over}


# --- atomic writes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("write", "first", "second", "read"),
    [
        (atomic_write_text, "old", "new", lambda p: p.read_text(encoding="utf-8")),
        (
            atomic_write_json,
            {"v": 1},
            {"v": 2, "z": [1]},
            lambda p: json.loads(p.read_text(encoding="utf-8")),
        ),
    ],
    ids=["text", "json"],
)
def test_atomic_write_replaces_and_leaves_no_temp(tmp_path, write, first, second, read):
    path = tmp_path / "sub" / "file.out"  # missing parents are created
    write(path, first)
    assert read(path) == first
    write(path, second)
    assert read(path) == second
    assert _files(path.parent) == ["file.out"]


def _crash_at_rename(src, dst):
    raise OSError("simulated crash at rename")


@pytest.mark.faults
def test_crash_before_rename_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / MANIFEST
    atomic_write_text(path, "old content")
    monkeypatch.setattr(os, "replace", _crash_at_rename)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_text(path, "new content that never lands")
    assert path.read_text(encoding="utf-8") == "old content"
    assert _files(tmp_path) == [MANIFEST]  # the temporary file was removed


@pytest.mark.faults
def test_crash_on_first_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", _crash_at_rename)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_json(tmp_path / "plan.json", {"a": 1})
    assert _files(tmp_path) == []


# --- manifests -------------------------------------------------------------------------------------


def test_manifest_round_trip(tmp_path):
    written = write_manifest(tmp_path, **_manifest_fields())
    read = read_manifest(tmp_path)
    assert read == written
    assert read.complete
    assert read.completion_id and read.finished_at  # filled in by write_manifest


@pytest.mark.faults
def test_a_copied_or_moved_run_directory_reads_its_own_paths(tmp_path):
    """Manifests and trained.json hold paths inside the run directory relative to the stage, so
    a copy resumes, reports and evaluates its own models (not the original's)."""
    run = tmp_path / "run"
    first, second = run / "01_cold_start", run / "02_reasoning_rl"
    base = tmp_path / "base_model"
    for folder in (first / "model", second / "model", base):
        folder.mkdir(parents=True)
    write_manifest(
        first, **_manifest_fields(inputs={"model": str(base)}, outputs={"model": str(first / "model")})
    )
    inputs = {"model": str(first / "model"), "model_fingerprint": "f", "from_stage": "cold_start"}
    write_manifest(second, **_manifest_fields(inputs=inputs, outputs={"model": str(second / "model")}))
    rundir.write_phase_result(
        second, rundir.TRAINED, {"fingerprint": "fp", "outputs": {"model": str(second / "model")}}
    )
    recorded = json.loads((second / MANIFEST).read_text(encoding="utf-8"))
    assert recorded["outputs"] == {"model": "./model"}
    assert recorded["inputs"]["model"] == "../01_cold_start/model"
    assert recorded["inputs"]["model_fingerprint"] == "f"  # not a path: as it was

    moved = tmp_path / "elsewhere" / "copy"
    moved.parent.mkdir()
    run.rename(moved)
    assert read_manifest(moved / first.name).outputs["model"] == str(moved / first.name / "model")
    assert read_manifest(moved / first.name).inputs["model"] == str(base)  # outside the run: absolute
    assert read_manifest(moved / second.name).inputs["model"] == str(moved / first.name / "model")
    trained = rundir.read_phase_result(moved / second.name, rundir.TRAINED, "fp")
    assert trained["outputs"]["model"] == str(moved / second.name / "model")
    assert rundir.trained_model_kept(moved / second.name, "fp")
    assert rundir.complete_stage_output(moved, "cold_start", "model") == str(moved / first.name / "model")


def test_failed_manifest_is_not_complete(tmp_path):
    write_manifest(tmp_path, **_manifest_fields(status="failed"))
    assert read_manifest(tmp_path).complete is False


def test_missing_manifest_is_none(tmp_path):
    assert read_manifest(tmp_path) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",  # crash before anything was written
        b'{"stage": "cold_start", "status": "compl',  # truncated JSON
        b"\x00" * 64,  # a file of NULs, what some filesystems leave after a crash
        b"[1, 2, 3]",  # JSON, but not an object
        b"null",
        b'{"stage": "cold_start"}',  # missing fields
        b'{"stage": "cold_start", "surprise": 1}',  # unknown fields
    ],
    ids=["empty", "truncated", "nuls", "list", "null", "missing-fields", "unknown-field"],
)
def test_corrupt_manifest_reads_as_none(tmp_path, content):
    (tmp_path / MANIFEST).write_bytes(content)
    assert read_manifest(tmp_path) is None


def test_manifest_with_invalid_utf8_reads_as_none(tmp_path):
    (tmp_path / MANIFEST).write_bytes(b"\xff\xfe{garbage")
    assert read_manifest(tmp_path) is None


# --- checkpoints -----------------------------------------------------------------------------------


def _make_dirs(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).mkdir(parents=True)


def test_list_checkpoints_only_published_step_dirs(tmp_path):
    _make_dirs(
        tmp_path, ["step_000010", "step_000002", "checkpoint-12", "step_12", "step_000003.tmp", "notes"]
    )
    (tmp_path / "step_000020").write_text("a file, not a checkpoint dir")
    found = list_checkpoints(tmp_path)
    assert [p.name for p in found] == ["step_000002", "step_000010"]  # numeric order, oldest first
    assert latest_checkpoint(tmp_path).name == "step_000010"


def test_checkpoint_order_is_numeric_beyond_six_digits(tmp_path):
    _make_dirs(tmp_path, ["step_1000000", "step_999999"])
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_999999", "step_1000000"]


def test_no_checkpoints(tmp_path):
    assert list_checkpoints(tmp_path / "missing") == []
    assert latest_checkpoint(tmp_path / "missing") is None


@pytest.mark.parametrize(("step", "name"), [(0, "step_000000"), (4, "step_000004"), (123456, "step_123456")])
def test_step_dir_name_matches_listing(step, name):
    assert rundir.step_dir_name(step) == name
    assert rundir.STEP_DIR.match(name)


# --- jsonl -----------------------------------------------------------------------------------------


def test_read_jsonl_skips_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rundir.append_jsonl(path, {"step": 1})
    rundir.append_jsonl(path, {"step": 2, "text": "二"})
    with path.open("a", encoding="utf-8") as f:
        f.write('{"step": 3, "lo')  # the crash happened mid-line
    assert read_jsonl(path) == [{"step": 1}, {"step": 2, "text": "二"}]


def test_read_jsonl_missing_file(tmp_path):
    assert read_jsonl(tmp_path / "none.jsonl") == []


# --- set_aside -------------------------------------------------------------------------------------


def _stage_dir(run_dir: Path, marker: str) -> Path:
    stage = run_dir / "01_cold_start"
    (stage / "checkpoints").mkdir(parents=True)
    (stage / "marker.txt").write_text(marker)
    return stage


def test_set_aside_moves_stage_under_superseded(tmp_path):
    stage = _stage_dir(tmp_path, "v1")
    moved = set_aside(stage, tmp_path)
    assert not stage.exists()
    assert moved.parent == tmp_path / "superseded"
    assert moved.name.startswith("01_cold_start-")
    assert (moved / "marker.txt").read_text() == "v1"
    assert (moved / "checkpoints").is_dir()


def test_set_aside_twice_in_the_same_second_keeps_both(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir.time, "strftime", lambda fmt, *a: "20250101-000000")
    first = set_aside(_stage_dir(tmp_path, "v1"), tmp_path)
    second = set_aside(_stage_dir(tmp_path, "v2"), tmp_path)
    assert {(first / "marker.txt").read_text(), (second / "marker.txt").read_text()} == {"v1", "v2"}


@pytest.mark.faults
def test_a_resume_keeps_each_step_once_in_the_metrics(tmp_path):
    from r1pipe.run.rundir import keep_steps_up_to

    path = tmp_path / "metrics.jsonl"
    rows = [{"stage": "s", "step": s, "loss": s / 10} for s in (1, 2, 3, 4)] + [{"note": "no step"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 5, "loss"')  # torn last line
    assert keep_steps_up_to(path, 2) == 3  # steps 3 and 4 are redone from step 2's checkpoint
    assert [json.loads(line) for line in path.read_text().splitlines()] == [rows[0], rows[1], rows[4]]
    assert keep_steps_up_to(path, 2) == 0  # nothing more to drop: the file is left alone
    assert keep_steps_up_to(tmp_path / "absent.jsonl", 0) == 0


def test_checkpoint_step_from_the_name_or_the_trainer_state(tmp_path):
    from r1pipe.run.rundir import checkpoint_step

    assert checkpoint_step(None) == 0
    assert checkpoint_step(tmp_path / "step_000012") == 12
    (tmp_path / "checkpoint-7").mkdir()
    (tmp_path / "checkpoint-7" / "trainer_state.json").write_text('{"global_step": 7}')
    assert checkpoint_step(tmp_path / "checkpoint-7") == 7
    assert checkpoint_step(tmp_path / "elsewhere") is None


# Issue 31, point 2: every file of a checkpoint is checked before a resume picks it. A truncated
# optimizer, scheduler or RNG state (torch.save zip archives) crashed every rerun
# ("PytorchStreamReader failed reading zip archive", or for the RNG file `OSError: [Errno 22]`,
# no file named) while an intact older checkpoint sat beside it.
def real_checkpoint(path: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    path.mkdir(parents=True)
    (path / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    torch.save({"state": {0: {"exp_avg": torch.ones(64)}}}, path / "optimizer.pt")
    torch.save({"last_epoch": 5}, path / "scheduler.pt")
    torch.save({"python": list(range(100)), "cpu": torch.ones(32)}, path / "rng_state.pth")
    save_file({"w": torch.zeros(4)}, str(path / "model.safetensors"))
    (path / "reference_model").mkdir()
    save_file({"w": torch.zeros(4)}, str(path / "reference_model" / "model.safetensors"))
    return path


def cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize(
    ("damaged", "keep", "says"),
    [
        ("optimizer.pt", 0.5, "optimizer.pt (not a complete archive"),
        ("optimizer.pt", 0.0, "optimizer.pt (empty)"),
        ("scheduler.pt", 0.9, "scheduler.pt (not a complete archive"),
        ("rng_state.pth", 0.5, "rng_state.pth (not a complete archive"),
        ("model.safetensors", 0.5, "model.safetensors (truncated?)"),
        ("reference_model/model.safetensors", 0.5, "reference_model/model.safetensors (truncated?)"),
    ],
)
def test_a_damaged_file_of_the_newest_checkpoint_passes_it_over(tmp_path, damaged, keep, says):
    older = real_checkpoint(tmp_path / "checkpoints" / "step_000005")
    newest = real_checkpoint(tmp_path / "checkpoints" / "step_000010")
    assert checkpoint_problem(newest) is None
    cut(newest / damaged, keep)
    chosen, passed_over = latest_usable_checkpoint(tmp_path / "checkpoints")
    assert chosen == older
    assert len(passed_over) == 1 and passed_over[0].startswith("step_000010 has an unreadable")
    assert says in passed_over[0]


@pytest.mark.parametrize(
    ("history", "mean"),
    [
        ([{"step": 2, "loss": 1.0}, {"step": 4, "loss": 3.0}], 2.0),
        ([{"step": 1, "loss": 1.0}, {"step": 4, "loss": 2.0}], 1.75),  # spans 1 and 3 steps
        ([{"step": 4, "loss": 3.0}, {"step": 2, "loss": 1.0}, {"step": 4, "train_loss": 9.0}], 2.0),
        ([{"step": 3, "train_runtime": 1.0}], None),
    ],
)
def test_the_stage_loss_covers_every_step_across_a_resume(history, mean):
    # Issue 31, point 5: after a resume the trainer's training_loss covered only the resumed
    # steps (stage 1: 1.459 uninterrupted vs 0.65-0.94 resumed).
    from r1pipe.training.sft import mean_logged_loss

    assert mean_logged_loss(history) == (pytest.approx(mean) if mean is not None else None)
