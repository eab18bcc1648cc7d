"""A model dir is checked without loading it: corrupt, truncated or half-copied models are
refused by validation (before the plan touches the run directory), each naming the file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from r1pipe.models.loading import model_dir_problem
from r1pipe.toy import toy_base_dir

pytestmark = pytest.mark.faults


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _shard(model: Path, missing: bool) -> None:
    """An index naming two shards, as save_pretrained writes for big models."""
    weights = model / "model.safetensors"
    weights.rename(model / "model-00001-of-00002.safetensors")
    if not missing:
        shutil.copy(model / "model-00001-of-00002.safetensors", model / "model-00002-of-00002.safetensors")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))


BROKEN: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "config truncated",
        lambda m: (m / "config.json").write_text('{"model_type": "qw'),
        "config.json does not parse",
    ),
    (
        "config not a transformers config",
        lambda m: (m / "config.json").write_text("[1, 2]"),
        "has no model_type",
    ),
    ("config missing", lambda m: (m / "config.json").unlink(), "has no config.json"),
    ("weights truncated", lambda m: _truncate(m / "model.safetensors"), "model.safetensors is unreadable"),
    (
        "weights header garbage",
        lambda m: (m / "model.safetensors").write_bytes(b"\xff" * 64),
        "is unreadable",
    ),
    ("weights empty", lambda m: (m / "model.safetensors").write_bytes(b""), "is unreadable"),
    ("no weights", lambda m: (m / "model.safetensors").unlink(), "has no weights"),
    ("index names a missing shard", lambda m: _shard(m, missing=True), "names 1 missing weight file(s)"),
    (
        "index does not parse",
        lambda m: (m / "model.safetensors.index.json").write_text("{"),
        "index.json does not parse",
    ),
]


@pytest.fixture
def toy_copy(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    shutil.copytree(toy_base_dir(), model)
    return model


def test_a_saved_model_dir_passes(toy_copy: Path):
    assert model_dir_problem(str(toy_copy)) is None


def test_a_sharded_model_dir_passes(toy_copy: Path):
    _shard(toy_copy, missing=False)
    assert model_dir_problem(str(toy_copy)) is None


@pytest.mark.parametrize(
    ("damage", "expected"), [(d, e) for _, d, e in BROKEN], ids=[n for n, _, _ in BROKEN]
)
def test_a_damaged_model_dir_is_refused_naming_the_file(toy_copy: Path, damage, expected: str):
    damage(toy_copy)
    problem = model_dir_problem(str(toy_copy))
    assert problem is not None and expected in problem, problem


def test_the_fingerprint_changes_with_the_weights_not_with_a_copy(toy_copy: Path, tmp_path: Path):
    """A retrained model of the same shapes at the same path is a new input (names and sizes
    alone called it unchanged); a copy of the same model is the same input."""
    from r1pipe.models.loading import model_fingerprint

    before = model_fingerprint(str(toy_copy))
    copy = tmp_path / "copy"
    shutil.copytree(toy_copy, copy)
    assert model_fingerprint(str(copy)) == before
    weights = toy_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of one weight, mid-file: same size, same shapes
    weights.write_bytes(bytes(data))
    assert model_fingerprint(str(toy_copy)) != before
