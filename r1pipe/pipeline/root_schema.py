"""The whole config's schema: R1PipeConfig (config/schema.py) with one section per stage that the
pipeline knows (pipeline/stage_specs.py), registered in Hydra's ConfigStore. It sits above the
stages, beside composition and whole-config validation: the stage modules import the schema of
their own section, and this module imports them all.
"""

from __future__ import annotations

import copy
import functools
import typing
from dataclasses import field, fields, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from r1pipe.config.schema import SCHEMA_NAME, R1PipeConfig
from r1pipe.pipeline.stage_specs import STAGES


@functools.cache
def root_schema() -> type:
    """R1PipeConfig with one section per stage, from each stage's SPEC (section, schema), placed
    after `data`: a new stage brings its own section (r1pipe/pipeline/stage_specs.py)."""
    hints = typing.get_type_hints(R1PipeConfig, include_extras=True)  # keep Range, OneOf
    stage_fields = []
    for spec in STAGES.values():
        if spec.schema is not None:
            default = spec.schema()
            stage_fields.append(
                (
                    spec.section,
                    type(default),
                    field(default_factory=functools.partial(copy.deepcopy, default)),
                )
            )
    root = []
    for f in fields(R1PipeConfig):
        root.append((f.name, hints[f.name], field(default=f.default, default_factory=f.default_factory)))
        if f.name == "data":
            root += stage_fields
    return make_dataclass("R1PipeConfig", root, namespace={"__module__": __name__})


def register_schema() -> None:
    """Make the schema available to config.yaml's defaults list as `r1pipe_schema`, and each stage's
    selector as the option `stage=<name>` (conf/stage/ holds only `all`)."""
    store = ConfigStore.instance()
    store.store(name=SCHEMA_NAME, node=root_schema())
    for name in STAGES:
        store.store(group="stage", name=name, node={"stage": name}, package="_global_")


def schema_sections(node: Any = None, prefix: str = "") -> list[str]:
    """The dotted keys whose value is a schema dataclass (a section with fixed keys), "" the root."""
    from dataclasses import fields, is_dataclass

    node = node if node is not None else root_schema()
    sections = [prefix.rstrip(".")]
    for f in fields(node):
        default = f.default_factory() if callable(f.default_factory) else None  # type: ignore[misc]
        if is_dataclass(default):
            sections += schema_sections(type(default), f"{prefix}{f.name}.")
    return sections


def schema_keys(node: Any = None, prefix: str = "") -> list[str]:
    """Every dotted key of the schema, for 'did you mean' suggestions."""
    from dataclasses import fields, is_dataclass

    node = node if node is not None else root_schema()
    keys = []
    for f in fields(node):
        key = f"{prefix}{f.name}"
        keys.append(key)
        default = f.default_factory() if callable(f.default_factory) else None  # type: ignore[misc]
        if is_dataclass(default):
            keys += schema_keys(type(default), key + ".")
    return keys
