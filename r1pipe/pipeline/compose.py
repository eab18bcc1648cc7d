"""Compose the run config from conf/ and command-line overrides with Hydra's compose API.

We use `compose` rather than `@hydra.main` so the subcommands and the working directory stay
ours. Hydra stops at the first bad override; to report every problem at once, a failed
composition is retried one override at a time and each failure is kept.
"""

from __future__ import annotations

import difflib

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from r1pipe.config.problems import ConfigError, ConfigProblem
from r1pipe.pipeline.root_schema import register_schema, schema_keys, schema_sections

CONFIG_MODULE = "r1pipe.conf"
__all__ = ["CONFIG_MODULE", "ConfigError", "ConfigProblem", "compose_config", "group_options"]


def _compose_raw(overrides: list[str]) -> DictConfig:
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _explain_override_failure(override: str, error: Exception) -> ConfigProblem:
    key = override.split("=", 1)[0].lstrip("+~")
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    known = schema_keys()
    if key not in known and "/" not in key and not _is_group(key):
        close = closest_keys(key, known)
        hint = f"did you mean {' or '.join(close)}?" if close else "see `r1pipe run --cfg` for every key"
        return ConfigProblem(key, f"unknown key (from `{override}`)", hint)
    if _is_group(key):
        options = ", ".join(group_options(key))
        return ConfigProblem(key, f"no such option (from `{override}`)", f"choose one of: {options}")
    cause = error.__cause__ or error
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else first_line
    hints = [line.strip() for line in str(error).splitlines() if "append to your config" in line]
    if (
        "not in struct" in detail and hints
    ):  # a dict-valued key such as launcher.env takes new entries with '+'
        return ConfigProblem(key, f"{detail} (from `{override}`)", hints[0])
    return ConfigProblem(
        key,
        f"{detail} (from `{override}`)",
        "give a value of the type the schema declares (r1pipe/config/schema.py)",
    )


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files in conf/<group>/ and what the code registers
    in Hydra's ConfigStore (each stage's `stage=<name>`). Read directly, not through a Hydra
    initialisation: every override of a composition asks this."""
    from importlib import resources

    from hydra.core.config_store import ConfigStore

    register_schema()
    folder = resources.files(CONFIG_MODULE) / group
    files = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    registered = list(ConfigStore.instance().repo.get(group, {}))
    return sorted({n.removesuffix(".yaml") for n in [*files, *registered] if n.endswith(".yaml")})


def config_groups() -> list[str]:
    """The config groups in conf/, in the order of config.yaml's defaults list, then the rest."""
    from importlib import resources

    import yaml

    root = resources.files(CONFIG_MODULE)
    defaults = yaml.safe_load((root / "config.yaml").read_text())["defaults"]
    named = [next(iter(d)).removeprefix("optional ").split("@")[0] for d in defaults if isinstance(d, dict)]
    present = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
    return [g for g in dict.fromkeys(named) if g in present] + [g for g in present if g not in named]


def precheck_override(override: str) -> ConfigProblem | None:
    """What Hydra would accept silently: an option missing from an optional group, a `+key`
    added inside a schema section."""
    return unknown_group_option(override) or unknown_added_key(override)


def unknown_added_key(override: str) -> ConfigProblem | None:
    """`+section.key=value` for a key the section does not have (Hydra adds it, r1pipe ignores
    it, and it changes the stage's fingerprint). `+` stays open below free-form fields such as
    launcher.env and reward.models."""
    key = override.partition("=")[0]
    if not key.startswith("+") or key.startswith("++"):
        return None
    key = key.lstrip("+")
    known = schema_keys()
    if key in known or ("." not in key and _is_group(key)):
        return None
    parent = key.rpartition(".")[0]
    if parent not in schema_sections():
        return None  # below a free-form field (or deeper inside one)
    close = closest_keys(key, known)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return ConfigProblem(
        key,
        f"unknown key (from `{override}`): {parent or 'the config'} has no such setting",
        f"{hint}`+` adds entries only to free-form fields such as launcher.env; see `r1pipe run --cfg`",
    )


def unknown_group_option(override: str) -> ConfigProblem | None:
    """The problem with a `group=option` override naming an option the group does not have
    (Hydra silently ignores one of an optional group: `experiment=typo` ran the default)."""
    key, _, value = override.partition("=")
    key = key.lstrip("+")
    if not value or value == "null" or "." in key or "/" in key or not _is_group(key):
        return None
    options = group_options(key)
    if value in options:
        return None
    close = difflib.get_close_matches(value, options, n=1)
    hint = f"did you mean {key}={close[0]}? " if close else ""
    return ConfigProblem(
        key, f"no such option {value!r} (from `{override}`)", f"{hint}choose one of: {', '.join(options)}"
    )


def closest_keys(key: str, known: list[str]) -> list[str]:
    """Valid keys the user probably meant: same parent first, by spelling or by initials (lr)."""
    parent, _, leaf = key.rpartition(".")
    siblings = [k for k in known if k.rpartition(".")[0] == parent]
    by_initials = [k for k in siblings if "".join(w[0] for w in k.rpartition(".")[2].split("_")) == leaf]
    leaves = {k.rpartition(".")[2]: k for k in siblings}
    by_spelling = [leaves[m] for m in difflib.get_close_matches(leaf, list(leaves), n=3, cutoff=0.6)]
    anywhere = difflib.get_close_matches(key, known, n=3, cutoff=0.75)
    return list(dict.fromkeys(by_initials + by_spelling + anywhere))[:3]


def _is_group(name: str) -> bool:
    from importlib import resources

    return (resources.files(CONFIG_MODULE) / name).is_dir()


def compose_config(overrides: list[str]) -> DictConfig:
    """The resolved config for these overrides, or a ConfigError listing every bad override."""
    try:
        OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as e:
        raise ConfigError(
            [
                ConfigProblem(
                    "<command line>", str(e).strip(), "use key=value, group=option, +key=value or ~key"
                )
            ]
        ) from e
    try:
        if any(precheck_override(o) for o in overrides):
            raise ValueError("an override Hydra would accept silently is wrong")
        cfg = _compose_raw(overrides)
    except (HydraException, OmegaConfBaseException, ValueError) as combined:
        problems = []
        for override in overrides:
            silent = precheck_override(override)
            if silent:
                problems.append(silent)
                continue
            try:
                _compose_raw([override])
            except (HydraException, OmegaConfBaseException, ValueError) as e:
                problems.append(_explain_override_failure(override, e))
        if not problems:
            problems.append(
                ConfigProblem("<overrides>", str(combined).strip(), "check the overrides together")
            )
        raise ConfigError(problems) from combined
    OmegaConf.resolve(cfg)
    return cfg
