"""The stages r1pipe knows: every module of the `r1pipe.stages` package (stages/ in the repo) that
declares a `SPEC` (a StageSpec, r1pipe/run/context.py).

Adding a stage is its module in stages/ (SPEC, optional `check`, `run`) and its config group
conf/<section>/ with a line in conf/config.yaml's defaults list; `stage=<name>` and the section's
schema come from the SPEC (docs/DEVELOPERS.md, "Adding a stage"). Stage modules are imported here
to read their SPEC, so they import torch, transformers and trl inside their functions (planning,
validation and `--dry-run` stay light), and never import this module (it imports them).
"""

from __future__ import annotations

import importlib
import pkgutil

from r1pipe.run.context import StageSpec

STAGES_PACKAGE = "r1pipe.stages"


def discover_stages() -> dict[str, StageSpec]:
    """The SPEC of every module in r1pipe.stages: the numbered stages in order ("stage 1: ..."),
    then the others (distillation) by summary. `r1pipe list` and `--cfg` show them in this order."""
    package = importlib.import_module(STAGES_PACKAGE)
    specs = []
    for info in pkgutil.iter_modules(package.__path__):
        spec = getattr(importlib.import_module(f"{STAGES_PACKAGE}.{info.name}"), "SPEC", None)
        if isinstance(spec, StageSpec):
            specs.append(spec)
    return {
        spec.name: spec
        for spec in sorted(specs, key=lambda s: (not s.summary.startswith("stage "), s.summary))
    }


STAGES: dict[str, StageSpec] = discover_stages()


def stage_spec(name: str) -> StageSpec:
    if name not in STAGES:
        raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}")
    return STAGES[name]
