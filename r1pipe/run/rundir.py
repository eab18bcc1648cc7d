"""The run directory: the hand-off between stages.

    runs/<name>/config.yaml  plan.json  r1pipe.log
    runs/<name>/<NN>_<stage>/config.yaml  launch.json  checkpoints/step_000120/  model/  data/
                            metrics.jsonl  samples.jsonl  eval.json  manifest.json (written last)

Every file another step reads is written atomically (temporary name, fsync, rename), so a crash
never leaves a half-written manifest, checkpoint or dataset that looks complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# What a stage's prepare and train steps leave for the next step (r1pipe/pipeline/stage_process.py).
PREPARED, TRAINED = "prepared.json", "trained.json"
ERRORS = (
    "errors"  # errors/rank<N>.json: the exception a stage process raised (r1pipe/pipeline/stage_process.py)
)
STEP_DIR = re.compile(r"^step_(\d{6,})$")


def disk_nearly_full(path: Path) -> str | None:
    """'the disk holding PATH has N MB free of M MB' when under 1% (at most 256 MB) is free, else
    None: what a write error on a full disk is reported with (torch's says "file write failed")."""
    try:
        usage = shutil.disk_usage(path if path.exists() else path.parent)
    except OSError:
        return None
    if usage.free >= min(usage.total // 100, 256 * 2**20):
        return None
    mib = 2**20
    return f"the disk holding {path} has {usage.free / mib:.1f} MB free of {usage.total / mib:.0f} MB: full?"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory, fsync it, then rename over `path`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """`atomic_write_text` for binary files (images of a report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_publish_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Rename a fully written directory into place (replacing an older one)."""
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(tmp_dir, final_dir)
    fsync_dir(final_dir.parent)


def append_jsonl(path: Path, record: dict) -> None:
    """Append one line; a torn last line (crash mid-write) is skipped by `read_jsonl`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=str) + "\n")


def keep_steps_up_to(path: Path, step: int) -> int:
    """Drop the rows of `path` logged after `step` (those of an interrupted attempt that training
    redoes from the checkpoint at `step`), so that a resumed stage's metrics hold each step once.
    Rows without a step are kept; a torn last line goes. Returns how many rows were dropped."""
    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row.get("step"), int) or row["step"] <= step:
            kept.append(line)
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
    return len(lines) - len(kept)


def checkpoint_step(checkpoint: str | Path | None) -> int | None:
    """The optimiser step a checkpoint holds: 0 for none (a fresh start), from its `step_NNNNNN`
    name or its trainer_state.json; None when neither says."""
    if checkpoint is None:
        return 0
    match = STEP_DIR.match(Path(checkpoint).name)
    if match:
        return int(match.group(1))
    try:
        return int(json.loads((Path(checkpoint) / "trainer_state.json").read_text())["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def stage_dir_name(index: int, stage: str) -> str:
    return f"{index:02d}_{stage}"


def step_dir_name(step: int) -> str:
    return f"step_{step:06d}"


def list_checkpoints(checkpoints_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first. Only renamed `step_*` dirs count: a checkpoint still
    being written lives under the trainer's temporary name and is ignored."""
    if not checkpoints_dir.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in checkpoints_dir.iterdir()
        if (m := STEP_DIR.match(p.name)) and p.is_dir()
    ]
    return [p for _, p in sorted(found)]


def checkpoint_problem(checkpoint: Path) -> str | None:
    """What makes a published checkpoint unusable for a resume, or None. Checked: the trainer
    state parses, optimizer and RNG state are there (transformers resumes silently without
    them: a fresh optimizer, learning rate 0), and every weights file's header reads (a
    truncated file crashed every rerun). Layouts: plain, FSDP (optimizer_0/), DeepSpeed
    (global_step*/)."""
    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "has no readable trainer_state.json"
    optimizer = [checkpoint / "optimizer.pt", checkpoint / "optimizer_0", *checkpoint.glob("global_step*")]
    if not any(p.exists() for p in optimizer):
        return "has no optimizer state (optimizer.pt)"
    if not any(checkpoint.glob("rng_state*.pth")) and not any(checkpoint.glob("global_step*")):
        return "has no RNG state (rng_state.pth)"
    for weights in sorted(checkpoint.rglob("*.safetensors")):  # the model, and GRPO's reference_model/
        if not safetensors_header_reads(weights):
            return f"has an unreadable {weights.relative_to(checkpoint)} (truncated?)"
    for state in sorted([*checkpoint.glob("*.pt"), *checkpoint.glob("*.pth"), *checkpoint.glob("*.bin")]):
        if why := torch_archive_problem(state):
            return f"has an unreadable {state.name} ({why})"
    return None


def torch_archive_problem(path: Path) -> str | None:
    """Why a `torch.save` file (optimizer, scheduler, RNG state) cannot be loaded, read without
    torch: torch.save writes a zip archive, whose directory sits at the end of the file, so a
    truncated copy has none, and each entry's data must lie inside the file. Milliseconds for
    gigabytes (no data is read). Files in torch's old pickle format are not checked."""
    try:
        with path.open("rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return None if path.stat().st_size else "empty"
        with zipfile.ZipFile(path) as archive:
            size = path.stat().st_size
            for entry in archive.infolist():
                if entry.header_offset + entry.compress_size > size:
                    return f"entry {entry.filename} runs past the end of the file: truncated"
    except zipfile.BadZipFile as error:
        return f"not a complete archive: {error}; truncated?"
    except OSError as error:
        return str(error)
    return None


def safetensors_header_reads(path: Path) -> bool:
    """The file's JSON header parses and the tensors it lists fit in the file."""
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if size > path.stat().st_size:  # garbage: never read gigabytes to find out
                return False
            header = json.loads(f.read(size))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        return 8 + size + end <= path.stat().st_size
    except (OSError, ValueError, KeyError, TypeError):
        return False


def latest_usable_checkpoint(checkpoints_dir: Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint a resume can use, and why each newer one was passed over."""
    passed_over: list[str] = []
    for checkpoint in reversed(list_checkpoints(checkpoints_dir)):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return checkpoint, passed_over
        passed_over.append(f"{checkpoint.name} {problem}")
    return None, passed_over


def latest_checkpoint(checkpoints_dir: Path) -> Path | None:
    found = list_checkpoints(checkpoints_dir)
    return found[-1] if found else None


@dataclass(frozen=True)
class Manifest:
    """What a finished (or failed) stage leaves for the next one. Written last."""

    stage: str
    status: str  # complete | failed | interrupted
    fingerprint: str
    completion_id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    metrics: dict[str, Any]
    versions: dict[str, str]
    wall_time_s: float
    finished_at: str
    topology: dict[str, Any] = field(default_factory=dict)  # processes, machines, backend... (topology.py)

    @property
    def complete(self) -> bool:
        return self.status == "complete"


def portable_paths(values: dict[str, Any], stage_dir: Path) -> dict[str, Any]:
    """`values` as written to a record in `stage_dir`: a path inside the run directory becomes
    relative to the stage dir (`./model`, `../01_cold_start/model`), so that a copied or moved run
    directory reads its own models, not the original's. Other values are kept as they are."""
    run_dir = stage_dir.resolve().parent
    portable = {}
    for key, value in values.items():
        if (
            isinstance(value, str)
            and Path(value).is_absolute()
            and Path(value).resolve().is_relative_to(run_dir)
        ):
            relative = os.path.relpath(Path(value).resolve(), stage_dir.resolve())
            value = relative if relative.startswith("..") else f"./{relative}"
        portable[key] = value
    return portable


def resolved_paths(values: dict[str, Any], stage_dir: Path) -> dict[str, Any]:
    """The inverse of `portable_paths`: `./x` and `../x` resolved against where the record is
    now. Absolute paths (outside the run directory, or records of older versions) stay."""
    return {
        key: str((stage_dir / value).resolve())
        if isinstance(value, str) and value.startswith(("./", "../"))
        else value
        for key, value in values.items()
    }


def new_completion_id() -> str:
    return uuid.uuid4().hex[:12]


def trained_completion_id(stage_dir: Path, fingerprint: str) -> str | None:
    """The completion id the stage's finished training carries (trained.json), which its manifest
    will carry once finished; None when there is none."""
    trained = read_phase_result(stage_dir, TRAINED, fingerprint)
    return trained.get("completion_id") if trained else None


def write_manifest(stage_dir: Path, **fields: Any) -> Manifest:
    fields.setdefault("completion_id", new_completion_id())
    fields.setdefault("finished_at", time.strftime("%Y-%m-%dT%H:%M:%S"))
    manifest = Manifest(**fields)
    record = manifest.__dict__ | {
        "inputs": portable_paths(manifest.inputs, stage_dir),
        "outputs": portable_paths(manifest.outputs, stage_dir),
    }
    atomic_write_json(stage_dir / MANIFEST, record)
    return manifest


def read_manifest(stage_dir: Path) -> Manifest | None:
    """The stage's manifest with its paths resolved where the run directory is now; None when
    there is none or it does not parse."""
    path = stage_dir / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
        return None
    if not isinstance(manifest.inputs, dict) or not isinstance(manifest.outputs, dict):
        return None
    return replace(
        manifest,
        inputs=resolved_paths(manifest.inputs, stage_dir),
        outputs=resolved_paths(manifest.outputs, stage_dir),
    )


def set_aside(stage_dir: Path, run_dir: Path) -> Path:
    """Move an outdated stage dir under superseded/ instead of deleting it: nothing is lost."""
    target = (
        run_dir / "superseded" / f"{stage_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(stage_dir, target)
    return target


def complete_stage_output(run_dir: Path, stage: str, key: str) -> str | None:
    """Output `key` of the complete `stage` in `run_dir` (from its manifest), or None."""
    for stage_dir in sorted(run_dir.glob(f"*_{stage}")):
        manifest = read_manifest(stage_dir)
        if manifest and manifest.complete and key in manifest.outputs:
            return str(manifest.outputs[key])
    return None


def read_phase_result(stage_dir: Path, name: str, fingerprint: str) -> dict[str, Any] | None:
    """prepared.json / trained.json if written for this fingerprint (else None: not done, or
    left by an attempt with another config)."""
    path = stage_dir / name
    try:
        found = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not (isinstance(found, dict) and found.get("fingerprint") == fingerprint):
        return None
    return found | {"outputs": resolved_paths(found.get("outputs") or {}, stage_dir)}


def write_phase_result(stage_dir: Path, name: str, record: dict[str, Any]) -> None:
    """prepared.json / trained.json, with the paths in its outputs relative (`portable_paths`)."""
    atomic_write_json(stage_dir / name, record | {"outputs": portable_paths(record["outputs"], stage_dir)})


def trained_model_kept(stage_dir: Path, fingerprint: str) -> bool:
    """The stage's training finished for this fingerprint and its outputs are still on disk."""
    trained = read_phase_result(stage_dir, TRAINED, fingerprint)
    return trained is not None and all(Path(p).exists() for p in trained["outputs"].values())
