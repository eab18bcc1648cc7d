"""Shared fixtures of the unit tests: small fake files on disk, nothing downloaded or trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def make_fake_model_dir(path: Path) -> Path:
    """A directory that passes r1pipe's cheap model checks: config.json plus a weights file whose
    header reads and lists no tensors.

    Nothing ever loads it; planning and validation only read the config and the weights' header.
    """
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "qwen2"}), encoding="utf-8")
    (path / "model.safetensors").write_bytes(len(b"{}").to_bytes(8, "little") + b"{}")
    return path


@pytest.fixture
def fake_model_dir(tmp_path: Path) -> Path:
    return make_fake_model_dir(tmp_path / "fake_model")


@pytest.fixture
def make_model_dir():
    """The factory itself, for tests that need several fake models."""
    return make_fake_model_dir
