"""Generation throughput of the two engines, side by side in one run, on the same prompts and
sampling settings.

    python scripts/bench_generation.py                      # the toy base, 256 prompts x 4 samples
    python scripts/bench_generation.py --model runs/x/02_reasoning_rl/model --prompts 512
    python scripts/bench_generation.py --model Qwen/Qwen2.5-1.5B --dtype bfloat16   # on a GPU

For each engine (transformers `generate`, vLLM's in-process LLM): the start-up time (loading the
model; vLLM also reserves its KV cache and, on GPU, captures CUDA graphs), then generated tokens
per second over the same toy prompts (n samples each, temperature 1.0, top-p 1.0, the same
max tokens), after one warm-up call. Prints one table with the ratio vLLM / transformers; results
go in docs/BENCHMARKS.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from omegaconf import OmegaConf

from r1pipe.config.schema import GenerationConfig
from r1pipe.generation import Sampling, build_engine, vllm_installed
from r1pipe.models.loading import resolve_model_path
from r1pipe.toy.task import sample_problems


def measure(backend: str, args: argparse.Namespace, prompts: list[str]) -> dict:
    model_cfg = OmegaConf.create(
        {
            "dtype": args.dtype,
            "chat_template": "r1_chatml",
            "trust_remote_code": False,
            "attn_implementation": None,
        }
    )
    gen = OmegaConf.merge(
        OmegaConf.structured(GenerationConfig()),
        {"backend": backend, "batch_size": args.batch_size, "cpu_kv_cache_gb": args.kv_cache_gb},
    )
    t0 = time.perf_counter()
    engine = build_engine(resolve_model_path(args.model), model_cfg, gen)
    startup = time.perf_counter() - t0
    ids = [str(i) for i in range(len(prompts))]
    sampling = Sampling(n=args.n, temperature=1.0, top_p=1.0, max_tokens=args.max_tokens, seed=0)
    engine.generate(prompts[: args.batch_size], ids[: args.batch_size], sampling)  # warm-up
    t0 = time.perf_counter()
    samples = engine.generate(prompts, ids, sampling)
    seconds = time.perf_counter() - t0
    engine.close()
    tokens = sum(s.num_tokens for s in samples)
    return {
        "backend": backend,
        "startup_s": startup,
        "seconds": seconds,
        "samples": len(samples),
        "tokens": tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="toy", help="model dir or hub id (default: the shipped toy base)")
    parser.add_argument("--dtype", default="float32", help="float32 | bfloat16 | float16 | auto")
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--n", type=int, default=4, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64, help="transformers: prompts per generate call")
    parser.add_argument("--kv-cache-gb", type=float, default=1.0, help="vLLM on CPU: KV cache in GiB")
    parser.add_argument("--backends", default="transformers,vllm", help="engines to compare")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if "vllm" in backends and not vllm_installed():
        print("skipped vllm: it is not installed")
        backends.remove("vllm")

    problems = sample_problems(args.prompts, digits=2, split="train", seed=0, languages=("en", "zh"))
    prompts = [p.prompt() for p in problems]
    rows = [measure(backend, args, prompts) for backend in backends]

    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU ({platform.processor() or platform.machine()})"
    )
    print(f"\nmodel {args.model}, {device}, torch {torch.__version__}")
    print(f"{args.prompts} prompts x {args.n} samples, max {args.max_tokens} new tokens, temperature 1.0\n")
    print(f"{'engine':<14}{'start-up s':>12}{'generate s':>12}{'samples':>9}{'tokens':>9}{'tokens/s':>11}")
    for r in rows:
        rate = r["tokens"] / r["seconds"]
        print(
            f"{r['backend']:<14}{r['startup_s']:>12.1f}{r['seconds']:>12.1f}{r['samples']:>9}{r['tokens']:>9}{rate:>11.0f}"
        )
    rates = {r["backend"]: r["tokens"] / r["seconds"] for r in rows}
    if len(rates) == 2:
        print(f"\nvLLM / transformers tokens/s: {rates['vllm'] / rates['transformers']:.2f}x")


if __name__ == "__main__":  # vLLM starts processes with spawn: the entry point must be guarded
    main()
