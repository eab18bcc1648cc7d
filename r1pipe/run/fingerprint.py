"""Fingerprints: a stage's identity = hash(its own resolved config keys, its inputs' fingerprints).

Changing a hyperparameter of stage k changes k's fingerprint, and through the input chain every
later stage's, and nothing earlier.

`settings_key` is the one way r1pipe decides "is this stored result still valid?": whatever a result
depends on goes in, the key is stored with the result, and the result is reused only while the key
computed now is the same. The plan (a stage's fingerprint in its manifest), stage 3's steps
(`<step>.key`), the toy judges (`meta.json`) and evaluation (a summary's `protocol_key`) all use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig, OmegaConf


def select_keys(cfg: DictConfig, keys: tuple[str, ...], ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """The values of `keys` (dotted) as plain containers, missing keys as None, without the
    dotted keys in `ignore` (e.g. cold_start.save_steps inside cold_start)."""
    selected = {key: _plain(OmegaConf.select(cfg, key)) for key in keys}
    for dotted in ignore:
        if dotted in selected:
            del selected[dotted]
            continue
        head, _, leaf = dotted.rpartition(".")
        parent = selected.get(head) if head in selected else _walk(selected, head)
        if isinstance(parent, dict):
            parent.pop(leaf, None)
    return selected


def _walk(tree: dict[str, Any], dotted: str) -> Any:
    """Find `dotted` inside a dict keyed by (possibly dotted) top-level keys."""
    for key, value in tree.items():
        if dotted.startswith(key + ".") and isinstance(value, dict):
            node: Any = value
            for part in dotted[len(key) + 1 :].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            return node
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, DictConfig) or OmegaConf.is_list(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


def settings_key(settings: Any) -> str:
    """16 hex digits of SHA-256 over the settings as canonical JSON (sorted keys; values JSON
    cannot hold, as str). Equal settings give equal keys on every machine and Python run."""
    payload = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def still_valid(recorded_key: Any, settings: Any) -> bool:
    """Whether a result stored under `recorded_key` was made from these settings."""
    return isinstance(recorded_key, str) and recorded_key == settings_key(settings)


def fingerprint(stage_config: dict[str, Any], input_fingerprints: dict[str, str]) -> str:
    return settings_key({"config": stage_config, "inputs": input_fingerprints})


def changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_keys(a, b, name + ".")
        elif a != b:
            out.append(name)
    return out
