"""Build the embedded toy base model that `r1pipe run` starts from.

    python scripts/build_toy_base.py                      # rebuild r1pipe/assets/toy_base (minutes, CPU)
    python scripts/build_toy_base.py --out /tmp/base --steps 200   # a quick throw-away build
    python scripts/build_toy_base.py --size student --out runs/toy-student   # the smaller student
                                                          # (distillation versus RL, scripts/seeds.py)

A tiny Qwen2 (head_dim 32) and a byte-level BPE tokenizer (digits one per token) are trained
from the toy corpus (r1pipe/toy/corpus.py) with a fixed seed; the result is a plain Hugging Face
model directory with the R1 chat template. Like a real base, it has read questions with answers
(some worked, a few in R1-Zero's tags) but never the R1 chat format, which cold-start SFT teaches.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import torch
from transformers import AutoTokenizer

from r1pipe.toy.base_model import SIZES, build_model, build_tokenizer, pretrain, tokenizer_texts, toy_base_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(toy_base_dir()), help="output model directory")
    parser.add_argument("--steps", type=int, default=800, help="pretraining steps (batch 32 x 256 tokens)")
    parser.add_argument("--digits", type=int, default=2, help="operand digits of the toy task")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--vocab-size", type=int, default=1024)
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="base",
        help="student: the shipped base's tokenizer, a smaller model",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(max(1, torch.get_num_threads()))

    t0 = time.time()
    if args.size == "base":
        tokenizer = build_tokenizer(tokenizer_texts(args.digits, args.seed), args.vocab_size)
    else:  # the teacher's tokenizer: the same tokens for the same text
        tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    model = build_model(tokenizer, args.seed, args.size)
    losses = pretrain(model, tokenizer, digits=args.digits, steps=args.steps, seed=args.seed)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    info = {
        "built_by": "scripts/build_toy_base.py",
        "args": vars(args),
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_loss": sum(losses[-50:]) / len(losses[-50:]),
        "seconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
    }
    with open(f"{args.out}/toy_base.json", "w") as f:
        json.dump(info, f, indent=2)
    logging.info("wrote %s: %s", args.out, info)


if __name__ == "__main__":
    main()
