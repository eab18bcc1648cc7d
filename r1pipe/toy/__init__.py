"""The embedded toy task, corpus, base model and judges."""

from __future__ import annotations

from r1pipe.models.loading import toy_base_dir

__all__ = ["toy_base_dir"]
