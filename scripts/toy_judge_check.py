"""How a toy helpfulness judge ranks each general request's good answers against every wrong answer
a toy policy writes (r1pipe/toy/preferences.py, `wrong_answers`).

    python scripts/toy_judge_check.py                       # build the default judge (~60 s), check it
    python scripts/toy_judge_check.py runs/X/04_all_scenario_rl/reward_models/helpful
    python scripts/toy_judge_check.py --pairs 960 --epochs 3    # another training setting, built here
    python scripts/toy_judge_check.py JUDGE --written runs/X runs/Y    # also every wrong answer the runs'
                                                                  # evaluations recorded (stage 4's policy)

A judge can win most preference pairs and still be useless for RL: GRPO samples 8 answers to a
request and moves towards the best-scored one, so what counts is whether a good answer scores above
every wrong one. Per kind of request the script prints:

    best is good   share of requests whose top-scored answer is a good one
    pairwise       share of (good, wrong) answer pairs the judge orders right

The held-out accuracy the build records (toy_judge.json) is the pairwise figure on sampled pairs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from r1pipe.rewards.reward_model import RewardModelScorer
from r1pipe.run.rundir import read_jsonl
from r1pipe.toy import reward_models
from r1pipe.toy.preferences import every_request, r1_text, wrong_answers


def written_wrong_answers(run_dir: Path, benchmark: str = "general") -> dict[str, set[str]]:
    """request -> the wrong answers a run's models wrote to it: the summaries its evaluations
    scored below 1 on the general benchmark (every stage's `eval/*/general.jsonl`), so the check
    covers what the policy RL trained actually wrote, not only what it was seen to write before."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(run_dir.glob(f"*/eval/*/{benchmark}.jsonl")):
        for record in read_jsonl(path):
            for answer, score in zip(record["answers"], record["scores"], strict=True):
                if isinstance(answer, str) and score is not None and score < 1.0:
                    found[record["prompt"]].add(answer)
    return found


def ranking(model_dir: Path, written: dict[str, set[str]] | None = None) -> dict[str, dict[str, float]]:
    """{kind: {requests, best_is_good, pairwise, worst: an example failure}}; `written` adds the
    wrong answers a run recorded to each request's."""
    scorer = RewardModelScorer(str(model_dir), target="summary", normalize="none", batch_size=64)
    by_kind: dict[str, dict] = defaultdict(
        lambda: {"requests": 0, "best": 0, "won": 0, "pairs": 0, "worst": ""}
    )
    for request in every_request():
        good = list(request.answers)
        wrong = sorted(set(wrong_answers(request)) | (written or {}).get(request.prompt, set()) - set(good))
        answers = good + wrong
        scores = scorer.score(
            [r1_text("x", a) for a in answers], [[{"role": "user", "content": request.prompt}]] * len(answers)
        )
        good_scores, wrong_scores = scores[: len(good)], scores[len(good) :]
        kind = by_kind[request.kind]
        kind["requests"] += 1
        kind["won"] += sum(g > w for g in good_scores for w in wrong_scores)
        kind["pairs"] += len(good_scores) * len(wrong_scores)
        if max(good_scores) > max(wrong_scores):
            kind["best"] += 1
        elif not kind["worst"]:
            top = wrong[max(range(len(wrong)), key=wrong_scores.__getitem__)]
            kind["worst"] = f"{request.prompt!r} -> {top!r}"
    return {
        name: {
            "requests": k["requests"],
            "best_is_good": k["best"] / k["requests"],
            "pairwise": k["won"] / k["pairs"],
            "worst": k["worst"],
        }
        for name, k in by_kind.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("judge_dir", nargs="?", type=Path, help="a built helpful judge (default: build one)")
    parser.add_argument("--pairs", type=int, help="training pairs, when building")
    parser.add_argument("--epochs", type=int, help="epochs, when building")
    parser.add_argument("--layers", type=int, help="layers of the toy base, when building")
    parser.add_argument(
        "--written",
        type=Path,
        nargs="+",
        default=[],
        help="run dirs: add the wrong answers their evaluations recorded",
    )
    args = parser.parse_args(argv)
    judge_dir = args.judge_dir
    if judge_dir is None:
        import torch

        torch.set_num_threads(1)  # as the stage's build does
        changes = {
            k: v for k, v in (("pairs", args.pairs), ("epochs", args.epochs), ("layers", args.layers)) if v
        }
        training = dataclasses.replace(reward_models.TRAINING["helpful"], **changes)
        judge_dir = Path(tempfile.mkdtemp(prefix="r1pipe-judge-")) / "helpful"
        meta = reward_models.train_judge("helpful", judge_dir, training)
        print(
            f"built {judge_dir}: {training}, held-out pair accuracy {meta['heldout_accuracy']}, {meta['seconds']} s"
        )
    print(f"{'kind':12s} {'requests':>8s} {'best is good':>12s} {'pairwise':>8s}  a failure")
    written: dict[str, set[str]] | None = None
    if args.written:
        written = defaultdict(set)
        for run_dir in args.written:
            for prompt, answers in written_wrong_answers(run_dir).items():
                written[prompt] |= answers
        runs = ", ".join(map(str, args.written))
        print(f"{sum(map(len, written.values()))} wrong answers written in {runs} to {len(written)} requests")
    for kind, row in sorted(ranking(judge_dir, written).items()):
        print(
            f"{kind:12s} {row['requests']:8d} {row['best_is_good']:12.2f} {row['pairwise']:8.3f}  {row['worst']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
