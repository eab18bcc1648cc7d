"""SFT step time with padded vs padding-free batches, side by side in one run, on the toy
cold-start set and the stage's own trainer settings (r1pipe/training/sft.py).

    python scripts/bench_sft.py                    # the toy base, 40 steps of batch 32 each way
    python scripts/bench_sft.py --steps 100 --batch-size 16

Both runs start from the same weights and see the same batches (same seed); the script prints
seconds per step (after 3 warm-up steps), tokens per second (non-pad tokens) and the largest
per-step loss difference, which must stay within the exactness tolerance of
tests/integration/test_sft_padding_free.py. Results go in docs/BENCHMARKS.md with the machine.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTTrainer

from r1pipe.config.schema import SFTStageConfig
from r1pipe.data.loading import toy_cold_start
from r1pipe.toy import toy_base_dir
from r1pipe.training.sft import build_sft_config

WARMUP_STEPS = 3


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.starts.append(time.perf_counter())

    def on_train_end(self, args, state, control, **kwargs):
        self.starts.append(time.perf_counter())


ROOT = Path(__file__).resolve().parents[1]


def measure(args: argparse.Namespace, padding_free: bool, workdir: Path) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    section = OmegaConf.structured(SFTStageConfig)
    section.merge_with(
        {
            "learning_rate": 3e-3,
            "max_steps": args.steps + WARMUP_STEPS,
            "per_device_train_batch_size": args.batch_size,
            "gradient_accumulation_steps": 1,
            "max_length": 256,
            "logging_steps": 1,
            "save_steps": 10**6,
            "padding_free": padding_free,
        }
    )
    ctx = SimpleNamespace(checkpoints_dir=workdir / f"padding_free_{padding_free}")
    toy = OmegaConf.load(ROOT / "conf" / "data" / "toy.yaml").toy
    toy.cold_start_examples = args.rows
    trainer = SFTTrainer(
        model=model,
        args=build_sft_config(section, ctx, seed=0, dtype=torch.float32),
        train_dataset=toy_cold_start(toy),
        processing_class=tokenizer,
    )
    timer = StepTimer()
    trainer.add_callback(timer)
    trainer.train()
    timed = timer.starts[WARMUP_STEPS:]
    seconds = timed[-1] - timed[0]
    steps = len(timed) - 1
    tokens = [row["num_tokens"] for row in trainer.state.log_history if "num_tokens" in row]
    token_count = tokens[-1] - tokens[WARMUP_STEPS - 1] if len(tokens) > WARMUP_STEPS else float("nan")
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    return {"s_per_step": seconds / steps, "tokens_per_s": token_count / seconds, "losses": losses}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(toy_base_dir()))
    parser.add_argument("--steps", type=int, default=40, help="timed optimiser steps per mode")
    parser.add_argument("--batch-size", type=int, default=32, help="the toy cold start's batch")
    parser.add_argument("--rows", type=int, default=2000, help="cold-start rows to draw batches from")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        padded = measure(args, False, Path(tmp))
        free = measure(args, True, Path(tmp))
    gap = max(abs(a - b) for a, b in zip(padded["losses"], free["losses"], strict=True))
    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print(f"{args.steps} steps of batch {args.batch_size}, toy cold-start rows, float32")
    print("| batches | s/step | tokens/s |")
    print("|---|---|---|")
    for name, result in (("padded", padded), ("padding-free", free)):
        print(f"| {name} | {result['s_per_step']:.3f} | {result['tokens_per_s']:.0f} |")
    print(f"speed-up {padded['s_per_step'] / free['s_per_step']:.2f}x; largest per-step loss gap {gap:.2e}")


if __name__ == "__main__":
    main()
