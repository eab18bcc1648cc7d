"""The real-schema tier: the real-scale presets end to end on CPU, on stand-ins of their hub data
(standin_data.py) and tiny models of their architectures (standin_models.py).

The preset runs as a user runs it; the only overrides are the ones in `cpu_overrides` below, and
each is a path, a model, the device/precision, or a budget (steps, batch, lengths, problem
counts). Everything else (rewards and their routes, stage 3's filters and judge, the reward
models' normalisation, the evaluation suite with MATH-500, AIME, GPQA and LiveCodeBench, the
signal check, tensorboard logging) is the preset's own. The README points here.

    python tests/realscale/tier.py OUT_DIR [--preset r1_qwen2.5_1.5b|r1_qwen2.5_7b] [--policy qwen2|llama]

builds the stand-ins and models under OUT_DIR (once) and runs `r1pipe run` on them in
OUT_DIR/runs/<preset>-<policy>.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PRESETS = ("r1_qwen2.5_1.5b", "r1_qwen2.5_7b")


def path_overrides(data: Path, models: Path, policy: str) -> list[str]:
    """Hub ids -> the local stand-ins and models (a directory in the hub layout per dataset)."""
    openr1 = data / "open-r1/OpenR1-Math-220k"
    return [
        f"model.name_or_path={models / f'policy_{policy}'}",
        f"data.cold_start.path={data / 'open-r1/Mixture-of-Thoughts'}",
        f"data.rl_prompts.path={openr1}",
        f"data.rejection_prompts.path={openr1}",
        f"data.heldout.path={data / 'HuggingFaceH4/MATH-500'}",
        f"data.general_prompts.path={data / 'HuggingFaceH4/ultrafeedback_binarized'}",
        f"data.non_reasoning.path={data / 'HuggingFaceH4/ultrachat_200k'}",
        f"eval.suite.math500.path={data / 'HuggingFaceH4/MATH-500'}",
        f"eval.suite.aime24.path={data / 'HuggingFaceH4/aime_2024'}",
        f"eval.suite.gpqa_diamond.path={data / 'gpqa_diamond.csv'}",
        f"eval.suite.livecodebench.path={data / 'livecodebench.jsonl'}",
        f"rejection.judge.model={models / 'judge_qwen2_instruct'}",
        f"reward.models.helpful.model_dir={models / 'reward_qwen3'}",
        f"reward.models.harmless.model_dir={models / 'reward_qwen3'}",
    ]


# One process, transformers generation, float32: what this CPU runs (the presets ask for 8 GPUs,
# vLLM and bf16). The 7B preset's FSDP sharding is an accelerate setting, unused by launcher=local.
DEVICE = [
    "launcher=local",
    "generation=transformers",
    "model.dtype=float32",
    "reasoning_rl.generation=transformers",
    "all_scenario_rl.generation=transformers",
]

# Budgets: a few steps of each stage, short samples, a few problems per benchmark. The RL stages
# run past the signal check's window (5 logged steps), so a stage with no signal would stop.
BUDGETS = [
    "cold_start.max_steps=3",
    "cold_start.gradient_accumulation_steps=1",
    "cold_start.max_length=1024",
    "cold_start.logging_steps=1",
    "data.cold_start.num_examples=24",
    "reasoning_rl.max_steps=6",
    "reasoning_rl.prompts_per_step=2",
    "reasoning_rl.num_generations=4",
    "reasoning_rl.max_completion_length=48",
    "reasoning_rl.logging_steps=1",
    "reasoning_rl.save_steps=3",
    "reasoning_rl.sample_every=1",
    "rejection.num_prompts=64",
    "rejection.samples_per_prompt=4",
    "rejection.max_tokens=48",
    "rejection.shard_size=6",
    "rejection.train.max_steps=2",
    "rejection.train.gradient_accumulation_steps=1",
    "rejection.train.max_length=1024",
    "rejection.train.logging_steps=1",
    "all_scenario_rl.max_steps=6",
    "all_scenario_rl.preference_last_steps=6",
    "all_scenario_rl.prompts_per_step=16",  # a quarter general (the preset's mix): some in every step
    "all_scenario_rl.num_generations=4",
    "all_scenario_rl.max_completion_length=48",
    "all_scenario_rl.logging_steps=1",
    "all_scenario_rl.save_steps=3",
    "all_scenario_rl.sample_every=1",
    "data.rl_prompts.num_examples=24",
    "eval.num_problems=2",
    "eval.samples_per_problem=2",
    "eval.max_new_tokens=48",
    "eval.bootstrap_resamples=0",
    *(
        f"eval.suite.{b}.{k}"
        for b in ("math500", "aime24", "gpqa_diamond", "livecodebench")
        for k in ("num_problems=2", "samples_per_problem=2", "max_new_tokens=48")
    ),
]


def cpu_overrides(data: Path, models: Path, policy: str = "qwen2") -> list[str]:
    """Every override the tier gives a real-scale preset: paths, models, device, budgets."""
    return path_overrides(data, models, policy) + DEVICE + BUDGETS


def build(out: Path) -> tuple[Path, Path]:
    """The stand-in data and models under `out` (built once; reused when present)."""
    from standin_data import build_standins
    from standin_models import build_models

    data, models = out / "data", out / "models"
    if not (data / ".built").exists():
        build_standins(data)
        (data / ".built").touch()
    if not (models / ".built").exists():
        build_models(models)
        (models / ".built").touch()
    return data, models


def command(preset: str, run_dir: Path, data: Path, models: Path, policy: str) -> list[str]:
    r1pipe = Path(sys.executable).parent / "r1pipe"
    return [
        str(r1pipe),
        "run",
        f"experiment={preset}",
        f"run_dir={run_dir}",
        *cpu_overrides(data, models, policy),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--preset", choices=PRESETS, default=PRESETS[0])
    parser.add_argument("--policy", choices=("qwen2", "llama"), default="qwen2")
    args = parser.parse_args(argv)
    data, models = build(args.out)
    run_dir = args.out / "runs" / f"{args.preset}-{args.policy}"
    return subprocess.call(command(args.preset, run_dir, data, models, args.policy))


if __name__ == "__main__":
    sys.exit(main())
