"""How much a GRPO step and an SFT step slow down when other processes compete for the CPUs,
side by side in one run, through the real CLI on the shipped toy base.

    python scripts/bench_contention.py                      # 2 busy processes, both stages, both thread settings
    python scripts/bench_contention.py --load 4 --append docs/BENCHMARKS.md

For each setting of `generation.cpu_decode_threads` (how many torch threads rollouts and
generation use on CPU), stage 2 (GRPO, transformers rollouts; `pipeline=r1_zero` from the toy
base) and stage 1 (SFT) run idle and then beside `--load` busy-looping processes. Per run: the
median seconds per step after the first (from metrics.jsonl's `elapsed_s`), and the slowdown
under load. The target of issue 15: a GRPO step slows no more than an SFT step does.

Run it on an otherwise idle machine: its figures are the point.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

GRPO = [
    "pipeline=r1_zero",
    "reasoning_rl.prompts_per_step=8",
    "reasoning_rl.num_generations=4",
    "reasoning_rl.max_completion_length=64",
    "reasoning_rl.logging_steps=1",
    "reasoning_rl.warmup_ratio=0",
]
SFT = ["pipeline.stages=[cold_start]", "cold_start.logging_steps=1", "cold_start.warmup_ratio=0"]


@contextmanager
def busy_processes(n: int):
    """`n` processes spinning in pure Python: the other jobs of a shared machine."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def seconds_per_step(run_dir: Path) -> float:
    (stage_dir,) = [p for p in run_dir.iterdir() if (p / "metrics.jsonl").exists()]
    rows = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    elapsed = [row["elapsed_s"] for row in rows if "loss" in row and "elapsed_s" in row]
    gaps = [b - a for a, b in zip(elapsed, elapsed[1:], strict=False)]
    return statistics.median(gaps) if gaps else float("nan")


def run_stage(name: str, args: list[str], steps: int, threads: str, work: Path) -> float:
    run_dir = work / f"{name}-{threads}-{time.time_ns()}"
    key = "reasoning_rl" if name == "grpo" else "cold_start"
    command = [sys.executable, "-m", "r1pipe.cli", "run", f"run_dir={run_dir}", *args]
    command += [f"{key}.max_steps={steps}", f"{key}.save_steps={steps}", "eval.after_stage=false"]
    command += [f"generation.cpu_decode_threads={threads}"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    return seconds_per_step(run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", type=int, default=2, help="busy processes beside training")
    parser.add_argument("--grpo-steps", type=int, default=6)
    parser.add_argument("--sft-steps", type=int, default=16)
    parser.add_argument("--threads", default="0,1", help="generation.cpu_decode_threads settings")
    parser.add_argument("--append", help="append the table to this markdown file")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for threads in args.threads.split(","):
            for name, stage_args, steps in (("grpo", GRPO, args.grpo_steps), ("sft", SFT, args.sft_steps)):
                idle = run_stage(name, stage_args, steps, threads, work)
                with busy_processes(args.load):
                    loaded = run_stage(name, stage_args, steps, threads, work)
                rows.append((threads, name, idle, loaded))
                print(
                    f"decode threads {threads}, {name}: {idle:.3f} s/step idle, {loaded:.3f} loaded",
                    flush=True,
                )
    cpus = len(os.sched_getaffinity(0))
    header = (
        f"Step time under CPU contention ({args.load} busy processes on {cpus} CPUs), toy base, "
        f"GRPO 8x4 completions of <=64 tokens, SFT batch of the toy preset; "
        f"{platform.machine()}, {datetime.date.today()}"
    )
    lines = [
        header,
        "",
        "| generation.cpu_decode_threads | stage | s/step idle | s/step loaded | slowdown |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {t} | {n} | {i:.3f} | {lo:.3f} | {lo / i:.1f}x |" for t, n, i, lo in rows]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.append:
        with open(args.append, "a", encoding="utf-8") as out:
            out.write(f"\n{text}")


if __name__ == "__main__":
    main()
