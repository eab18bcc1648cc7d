"""Decoding with shared key/value heads (r1pipe/models/attention.py) against transformers' copies,
side by side in one run, alternating, on the same prompts, seed and sampling settings.

    python scripts/bench_attention.py                                   # the toy base, 32 sequences
    python scripts/bench_attention.py --model runs/toy-default-s42/03_rejection_sampling/model --batch 64

Prints seconds per generate call (the best of --repeats after a warm-up) for both, the ratio, and
whether the sampled tokens and their scores are the same bits. Results go in docs/BENCHMARKS.md
with the machine they ran on.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from omegaconf import OmegaConf
from transformers.integrations import sdpa_attention

from r1pipe.models import attention
from r1pipe.models.loading import load_model, load_tokenizer, resolve_model_path
from r1pipe.toy.task import sample_problems

DECISIONS = {"copies (transformers)": attention._TRANSFORMERS_DECISION, "shared (r1pipe)": attention._use_gqa}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="toy")
    parser.add_argument("--batch", type=int, default=32, help="sequences per generate call")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model_cfg = OmegaConf.create(
        {
            "dtype": "float32",
            "chat_template": "r1_chatml",
            "trust_remote_code": False,
            "attn_implementation": None,
        }
    )
    path = resolve_model_path(args.model)
    model, tokenizer = load_model(path, model_cfg).eval(), load_tokenizer(path, model_cfg)
    tokenizer.padding_side = "left"
    problems = sample_problems(args.batch, digits=2, split="heldout", seed=0)
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p.prompt()}], tokenize=False, add_generation_prompt=True
        )
        for p in problems
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True)

    def generate() -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(0)
        with torch.no_grad():
            out = model.generate(
                **batch,
                do_sample=True,
                temperature=1.0,
                top_p=1.0,
                top_k=0,
                max_new_tokens=args.max_tokens,
                pad_token_id=tokenizer.pad_token_id,
                output_scores=True,
                return_dict_in_generate=True,
            )
        return out.sequences, torch.stack(out.scores)

    seconds: dict[str, list[float]] = {name: [] for name in DECISIONS}
    outputs = {}
    for repeat in range(args.repeats + 1):  # the first round warms up
        for name, decision in DECISIONS.items():
            sdpa_attention.use_gqa_in_sdpa = decision
            start = time.perf_counter()
            outputs[name] = generate()
            if repeat:
                seconds[name].append(time.perf_counter() - start)
    (copied_tokens, copied_scores), (shared_tokens, shared_scores) = outputs.values()
    new_tokens = copied_tokens.shape[1] - batch["input_ids"].shape[1]
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, {path}")
    print(f"{args.batch} sequences, {new_tokens} new tokens per call, best of {args.repeats}")
    for name, values in seconds.items():
        print(f"  {name:22s} {min(values):.3f} s")
    copies, shared = (min(v) for v in seconds.values())
    print(f"shared / copies: {shared / copies:.3f}")
    same = torch.equal(copied_tokens, shared_tokens) and torch.equal(copied_scores, shared_scores)
    print(f"tokens and scores the same bits: {same}")


if __name__ == "__main__":
    main()
