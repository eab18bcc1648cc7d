"""The embedded toy task, corpus, base model and judges."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def toy_base_dir() -> Path:
    """Where the shipped toy base model lives inside the installed package (no torch needed)."""
    return Path(str(resources.files("r1pipe") / "assets" / "toy_base"))
