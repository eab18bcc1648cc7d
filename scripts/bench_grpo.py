"""GRPO step time with transformers rollouts vs vLLM rollouts, side by side in one run, through
the real CLI (`r1pipe run pipeline=r1_zero`: stage 2 straight from the model given).

    python scripts/bench_grpo.py                          # the shipped toy base, 8 steps per mode
    python scripts/bench_grpo.py --model qwen2.5-1.5b-random --steps 6 --completion 256   # GPU
    python scripts/bench_grpo.py --modes transformers     # where vLLM is not installed

`--model qwen2.5-1.5b-random` builds a Qwen2.5-1.5B-shaped model with random weights from its
config (no download; the toy tokenizer, whose ids are a subset of the vocabulary), so every
completion runs to the length limit and the modes generate the same number of tokens.

Per mode: seconds per step (median over the steps after the first, from TRL's `step_time`),
the rest of the train step (imports, model load, checkpoint saves, and for vLLM the engine
start-up: the difference between the modes' set-up is the engine's start),
and the weight-sync probe's largest log-prob gap. Prints one table with the ratio to
transformers; `--append docs/BENCHMARKS.md` adds it there with the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

QWEN25_15B = {  # Qwen/Qwen2.5-1.5B's config.json, the shape only
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-6,
}


def build_random_qwen(target: Path, dtype: str) -> Path:
    """A Qwen2.5-1.5B-shaped model with random weights and the toy tokenizer, saved to `target`."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from r1pipe.toy.base_model import toy_base_dir

    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    config = Qwen2Config(
        **QWEN25_15B,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype=dtype,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(getattr(torch, dtype))
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def run_mode(mode: str, model: str, args: argparse.Namespace, work: Path) -> dict:
    run_dir = work / mode
    command = [
        sys.executable,
        "-m",
        "r1pipe.cli",
        "run",
        "pipeline=r1_zero",
        f"run_dir={run_dir}",
        f"init_model={model}",
        f"model.dtype={args.dtype}",
        "eval.after_stage=false",
        f"reasoning_rl.generation={mode}",
        f"reasoning_rl.max_steps={args.steps}",
        f"reasoning_rl.prompts_per_step={args.prompts}",
        f"reasoning_rl.num_generations={args.group}",
        f"reasoning_rl.max_completion_length={args.completion}",
        "reasoning_rl.logging_steps=1",
        f"reasoning_rl.save_steps={args.steps}",
        "reasoning_rl.sync_probe_every=1",
        "reasoning_rl.warmup_ratio=0",
        f"generation.cpu_kv_cache_gb={args.kv_cache_gb}",
    ]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"mode": mode, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    rows = [
        json.loads(line) for line in (run_dir / "01_reasoning_rl" / "metrics.jsonl").read_text().splitlines()
    ]
    steps = [row for row in rows if "step_time" in row]
    train_seconds = _stage_seconds(run_dir)
    per_step = statistics.median(row["step_time"] for row in steps[1:]) if len(steps) > 1 else float("nan")
    probe = [row["vllm/sync_logprob_max_diff"] for row in rows if "vllm/sync_logprob_max_diff" in row]
    return {
        "mode": mode,
        "per_step_s": per_step,
        "first_step_s": steps[0]["step_time"] if steps else float("nan"),
        "setup_s": max(0.0, train_seconds - sum(row["step_time"] for row in steps))
        if train_seconds
        else float("nan"),
        "tokens_per_step": statistics.median(row.get("num_tokens", 0) for row in steps[:1]) if steps else 0,
        "probe_max": max(probe) if probe else None,
    }


def _stage_seconds(run_dir: Path) -> float | None:
    """Seconds of the stage's train step, from the run log ("trained" minus the stage start)."""
    log = (run_dir / "r1pipe.log").read_text(errors="replace")
    times = re.findall(
        r"^\S+ (\d\d:\d\d:\d\d),\d+ .*(=== stage 1/1|stage reasoning_rl trained)", log, flags=re.M
    )
    if len(times) < 2:
        return None
    start, end = (datetime.datetime.strptime(t, "%H:%M:%S") for t, _ in times[:2])
    return (end - start).total_seconds()


def table(rows: list[dict], args: argparse.Namespace) -> str:
    base = next((r["per_step_s"] for r in rows if r["mode"] == "transformers" and "error" not in r), None)
    lines = [
        "| rollouts | s/step (median after the first) | first step (s) | rest of the stage incl. engine start | x transformers | sync probe max gap |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['mode']} | failed: {' '.join(r['error'])[:120]} | | | | |")
            continue
        ratio = f"{base / r['per_step_s']:.2f}x" if base else "-"
        probe = f"{r['probe_max']:.1e}" if r["probe_max"] is not None else "-"
        lines.append(
            f"| {r['mode']} | {r['per_step_s']:.2f} | {r['first_step_s']:.1f} | {r['setup_s']:.0f} s | {ratio} | {probe} |"
        )
    return "\n".join(lines)


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name()}, torch {torch.__version__}"
    return f"CPU {platform.machine()} ({platform.processor() or 'x86_64'}), torch {torch.__version__}"


def vllm_installed() -> bool:
    from r1pipe.generation import vllm_installed as installed

    return installed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="toy", help="toy | qwen2.5-1.5b-random | a model dir")
    parser.add_argument("--dtype", default="float32", help="float32 | bfloat16")
    parser.add_argument("--modes", default="transformers,vllm_colocate")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=8, help="prompts per step")
    parser.add_argument("--group", type=int, default=4, help="completions per prompt")
    parser.add_argument("--completion", type=int, default=64, help="max completion tokens")
    parser.add_argument("--kv-cache-gb", type=float, default=0.5, help="vLLM on CPU")
    parser.add_argument("--append", help="append the table to this markdown file")
    args = parser.parse_args()

    modes = args.modes.split(",")
    if not vllm_installed():
        skipped = [m for m in modes if m.startswith("vllm")]
        modes = [m for m in modes if not m.startswith("vllm")]
        if skipped:
            print(f"skipped {', '.join(skipped)}: vLLM is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = args.model
        if model == "toy":
            from r1pipe.toy.base_model import toy_base_dir

            model = str(toy_base_dir())
        elif model == "qwen2.5-1.5b-random":
            model = str(build_random_qwen(work / "qwen2.5-1.5b-random", args.dtype))
        rows = [run_mode(mode, model, args, work) for mode in modes]
    shape = f"{args.prompts} prompts x {args.group} completions, up to {args.completion} tokens, {args.steps} steps"
    header = f"GRPO step time, {args.model} ({args.dtype}), {shape}; {machine()}; {datetime.date.today()}"
    text = f"{header}\n\n{table(rows, args)}\n"
    print("\n" + text)
    if args.append:
        with open(args.append, "a", encoding="utf-8") as out:
            out.write(f"\n{text}")


if __name__ == "__main__":
    main()
