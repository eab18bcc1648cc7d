"""What a stage-2 step costs through r1pipe against the same step in a bare TRL script.

    .venv/bin/python scripts/bench_overhead.py --model runs/x/01_cold_start/model --steps 20 --rounds 2

Both sides train the same model on the same prompts with the same GRPOConfig and rollout engine
(transformers `generate`), in a fresh process each:
- bare: a plain TRL script (`--bare-worker`, below): GRPOTrainer with r1pipe's three toy rewards
  as plain in-process functions, and nothing else (no reward workers, no watchers, no signal
  check, no checkpoint publishing, no orchestrator);
- r1pipe: `r1pipe run stage=reasoning_rl init_model=MODEL`, as a user runs it.
The GRPOConfig is r1pipe's own mapping of the toy's `reasoning_rl` section (build_grpo_config),
with a log line every step and no checkpoint before the end, on both sides. A step's time is the
gap between two consecutive logged steps; each side's figure is the median after the first 3
(warm-up); the rounds alternate bare and r1pipe so that a machine drifting in speed (two-core
VMs do) weighs on both. Prints a table and the ratio r1pipe / bare (the goal: at most 1.05).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 3  # steps left out of the median: the first generate calls and allocations


def common_overrides(model: str, steps: int) -> list[str]:
    return [
        "stage=reasoning_rl",
        f"init_model={model}",
        f"reasoning_rl.max_steps={steps}",
        "reasoning_rl.logging_steps=1",
        f"reasoning_rl.save_steps={steps}",
        "eval.after_stage=false",
    ]


def step_gaps(times: list[tuple[int, float]]) -> list[float]:
    """Seconds between consecutive logged steps, after the warm-up, one per step."""
    ordered = sorted(dict(times).items())
    return [b[1] - a[1] for a, b in zip(ordered, ordered[1:], strict=False) if a[0] >= WARMUP]


def bare_worker(model: str, steps: int, out: Path) -> None:
    """A bare TRL GRPO script on r1pipe's toy stage-2 setting; writes (step, seconds) pairs."""
    from types import SimpleNamespace

    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from r1pipe.data.loading import load_problems
    from r1pipe.models.loading import load_model, load_tokenizer, torch_dtype
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.rewards.build import reward_settings
    from r1pipe.rewards.registry import get_reward
    from r1pipe.training.grpo import as_grpo_dataset, build_grpo_config

    cfg = compose_config(
        [o for o in common_overrides(model, steps) if not o.startswith(("stage=", "init_model="))]
    )
    r = cfg.reasoning_rl
    settings = reward_settings(cfg.reward)

    def plain(name: str):
        fn = get_reward(name)

        def reward(completions, **columns):
            return fn(completions, **{**settings, **columns})

        reward.__name__ = name
        return reward

    started = time.monotonic()
    times: list[tuple[int, float]] = []

    class StepTimes(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            times.append((state.global_step, time.monotonic() - started))

    with tempfile.TemporaryDirectory() as tmp:
        ctx = SimpleNamespace(checkpoints_dir=Path(tmp), name="reasoning_rl")
        tokenizer = load_tokenizer(model, cfg.model)
        args = build_grpo_config(
            r,
            ctx,
            cfg.seed,
            torch_dtype(cfg.model.dtype),
            list(cfg.reward.weights),
            1,
            tokenizer.eos_token_id,
        )
        trainer = GRPOTrainer(
            model=load_model(model, cfg.model),
            reward_funcs=[plain(name) for name in cfg.reward.funcs],
            args=args,
            train_dataset=as_grpo_dataset(load_problems(cfg.data, "rl_prompts")),
            processing_class=tokenizer,
            callbacks=[StepTimes()],
        )
        started = time.monotonic()
        trainer.train()
    out.write_text(json.dumps(times))


def run_bare(model: str, steps: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.json"
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, "--bare-worker", str(out), "--model", model, "--steps", str(steps)],
            check=True,
            capture_output=True,
        )
        wall = time.monotonic() - t0
        return step_gaps([tuple(x) for x in json.loads(out.read_text())]), wall


def run_r1pipe(model: str, steps: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "r1pipe"),
                "run",
                f"run_dir={tmp}/run",
                *common_overrides(model, steps),
            ],
            check=True,
            capture_output=True,
        )
        wall = time.monotonic() - t0
        rows = [
            json.loads(line)
            for line in next(Path(tmp, "run").glob("*_reasoning_rl")).joinpath("metrics.jsonl").open()
        ]
        times = [(row["step"], row["elapsed_s"]) for row in rows if "reward" in row and "elapsed_s" in row]
        return step_gaps(times), wall


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a cold-start model dir (stage 2's input)")
    parser.add_argument("--steps", type=int, default=20, help="GRPO steps per run")
    parser.add_argument("--rounds", type=int, default=2, help="bare + r1pipe pairs, alternating")
    parser.add_argument("--bare-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        bare_worker(args.model, args.steps, args.bare_worker)
        return 0
    gaps: dict[str, list[float]] = {"bare TRL": [], "r1pipe": []}
    walls: dict[str, list[float]] = {"bare TRL": [], "r1pipe": []}
    for i in range(args.rounds):
        for name, run in (("bare TRL", run_bare), ("r1pipe", run_r1pipe)):
            found, wall = run(args.model, args.steps)
            gaps[name] += found
            walls[name].append(wall)
            print(
                f"round {i + 1}: {name}: median {statistics.median(found):.3f} s/step, {wall:.0f} s wall",
                flush=True,
            )
    print("\n| side | s/step (median) | steps measured | process wall (s, per run) |")
    print("|---|---|---|---|")
    for name in gaps:
        median = statistics.median(gaps[name])
        runs = ", ".join(f"{w:.0f}" for w in walls[name])
        print(f"| {name} | {median:.3f} | {len(gaps[name])} | {runs} |")
    ratio = statistics.median(gaps["r1pipe"]) / statistics.median(gaps["bare TRL"])
    print(f"\nr1pipe / bare TRL per step: {ratio:.3f} (goal: at most 1.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
