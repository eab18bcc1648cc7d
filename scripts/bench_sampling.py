"""Stage 3's sampling on 1 process and on N (data-parallel: each process its own engine and
shards), side by side in one run, through the CLI a user runs.

    python scripts/bench_sampling.py --model runs/x/02_reasoning_rl/model            # 1 vs 2 on CPU
    python scripts/bench_sampling.py --model M --processes 8 --backend vllm          # 1 vs 8 GPUs

Each side is `r1pipe run stage=rejection_sampling init_model=M rejection.sft=false` (the set only,
no evaluation) in a fresh run directory: 1 process under `launcher=local`, N under
`launcher=accelerate launcher.num_processes=N`. Prints, for each, the command's wall time (what a
user waits: start-up, engines, sampling, the rest of the set), the prepare step's own time
(prepared.json) and samples per second over it, then the ratio N / 1, and whether both wrote the
same shards (they do when each process decodes with as many threads as the one process does:
`--threads`; on a CPU the thread count changes the last bits of the logits and so the samples).
Results go in docs/BENCHMARKS.md with the machine they ran on; nothing else may run meanwhile.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_side(args: argparse.Namespace, processes: int, run_dir: Path) -> dict:
    overrides = [
        "stage=rejection_sampling",
        f"init_model={args.model}",
        f"run_dir={run_dir}",
        "rejection.sft=false",
        "eval.after_stage=false",
        f"rejection.num_prompts={args.prompts}",
        f"rejection.samples_per_prompt={args.n}",
        f"rejection.shard_size={args.shard_size}",
        f"generation.backend={args.backend}",
        *args.overrides,
    ]
    if args.threads is not None:
        overrides.append(f"generation.cpu_decode_threads={args.threads}")
    if processes > 1:
        overrides += [
            "launcher=accelerate",
            f"launcher.num_processes={processes}",
            "launcher.mixed_precision=no",
        ]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", "run", *overrides], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{processes} process(es) failed:\n{proc.stderr[-3000:]}")
    stage = run_dir / "03_rejection_sampling"
    prepared = json.loads((stage / "prepared.json").read_text(encoding="utf-8"))
    samples = prepared["metrics"]["rejection/samples"]
    shards = {p.name: p.read_bytes() for p in sorted((stage / "data" / "generations").glob("shard_*.jsonl"))}
    return {
        "processes": processes,
        "wall_s": wall,
        "prepare_s": prepared["wall_time_s"],
        "samples": samples,
        "shards": shards,
    }


def machine() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", required=True, help="a stage-2 model dir (it must answer some prompts right)"
    )
    parser.add_argument("--processes", type=int, default=2, help="processes of the data-parallel side")
    parser.add_argument("--prompts", type=int, default=400)
    parser.add_argument("--n", type=int, default=4, help="samples per prompt")
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--backend", default="transformers", help="generation.backend")
    parser.add_argument("--threads", type=int, default=1, help="generation.cpu_decode_threads on both sides")
    parser.add_argument("overrides", nargs="*", help="more r1pipe overrides for both sides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="r1pipe-bench-sampling-") as tmp:
        sides = [run_side(args, p, Path(tmp) / f"p{p}") for p in (1, args.processes)]
    print(f"machine: {machine()}, {args.prompts} prompts x {args.n} samples, {args.backend}")
    print(f"{'processes':>9} {'wall (s)':>9} {'prepare (s)':>12} {'samples/s':>10}")
    for side in sides:
        rate = side["samples"] / side["prepare_s"]
        print(f"{side['processes']:>9} {side['wall_s']:>9.1f} {side['prepare_s']:>12.1f} {rate:>10.1f}")
    one, many = sides
    print(
        f"speed-up of {many['processes']} processes over 1: wall {one['wall_s'] / many['wall_s']:.2f}x, "
        f"prepare step {one['prepare_s'] / many['prepare_s']:.2f}x"
    )
    print(
        f"same shards from 1 and {many['processes']} processes: {'yes' if one['shards'] == many['shards'] else 'NO'}"
    )


if __name__ == "__main__":
    main()
