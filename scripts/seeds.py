"""Run the toy's findings on several seeds, then regenerate docs/RESULTS.md and the README from them:
the default pipeline, `experiment=toy_aha`, and the language-reward ablation (with and without
the reward), each with `seed=S` for every seed, one run directory per command and seed.

    python scripts/seeds.py                               # seeds 42 43 44, everything (~100 min on 2 cores)
    python scripts/seeds.py --seeds 42 --only default     # one seed of one finding
    python scripts/seeds.py --runs /data/r1-runs -- generation.cpu_decode_threads=0
    python scripts/seeds.py --only default distill        # distillation versus RL on a smaller student

"distill" builds the student once (scripts/build_toy_base.py --size student, RUNS/toy-student), then
per seed fine-tunes it on that seed's default run's stage-3 set (pipeline=distill) and trains it
from its own base with R1-Zero RL (pipeline=r1_zero), so it needs "default" first.

A run directory that is already complete is skipped stage by stage (r1pipe's own resume), so the
script picks up where a killed one stopped. The run directories are named

    toy-default-s42    aha-s42    language-reward-s42    no-language-reward-s42    distill-s42    student-zero-s42

and docs/RESULTS.md's `results:seeds` and `results:kinds` blocks name them. Each command's wall
time is printed and appended to RUNS/seeds.log with the machine's CPU.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (42, 43, 44)
STUDENT = "toy-student"  # built by scripts/build_toy_base.py --size student into the runs folder
NO_LANGUAGE_REWARD = ["reward.funcs=[toy_accuracy,r1_format]", "reward.weights=[1.0,1.0]"]

# finding -> [(run directory prefix, overrides)]; {runs}, {seed} and {student} are filled in.
FINDINGS: dict[str, list[tuple[str, list[str]]]] = {
    "default": [("toy-default", [])],
    "aha": [("aha", ["experiment=toy_aha"])],
    "language": [
        ("language-reward", ["experiment=toy_language_mix"]),
        ("no-language-reward", ["experiment=toy_language_mix", *NO_LANGUAGE_REWARD]),
    ],
    # The paper's section 4 on a student smaller than the toy base: SFT on the same seed's default
    # run's stage-3 set, against R1-Zero RL from the student's own base given at least as many
    # seconds of training. 12 epochs (504 steps, ~150 s on 2 cores): at the toy's 4 the student
    # learns the format but not the sums (held-out 0.015 on seed 42, 0.985 at 12); R1-Zero's 150
    # steps take ~220 s.
    "distill": [
        (
            "distill",
            [
                "pipeline=distill",
                "student={student}",
                "distill.data={runs}/toy-default-s{seed}",
                "distill.train.num_train_epochs=12",
            ],
        ),
        ("student-zero", ["pipeline=r1_zero", "model.name_or_path={student}", "reasoning_rl.max_steps=150"]),
    ],
}


def commands(seeds: list[int], only: list[str], runs: Path, extra: list[str]) -> list[tuple[Path, list[str]]]:
    """(run directory, r1pipe overrides) of every command, seed by seed."""
    found = []
    for seed in seeds:
        for finding in only:
            for prefix, overrides in FINDINGS[finding]:
                run_dir = runs / f"{prefix}-s{seed}"
                filled = [o.format(runs=runs, seed=seed, student=runs / STUDENT) for o in overrides]
                found.append((run_dir, [*filled, f"seed={seed}", f"run_dir={run_dir}", *extra]))
    return found


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--only", nargs="+", choices=list(FINDINGS), default=list(FINDINGS))
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where the run directories go")
    parser.add_argument("--no-docs", action="store_true", help="run only; leave the docs as they are")
    parser.add_argument("overrides", nargs="*", help="more r1pipe overrides for every command (after --)")
    args = parser.parse_args(argv)

    r1pipe = Path(sys.executable).parent / "r1pipe"
    log = args.runs / "seeds.log"
    args.runs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if "distill" in args.only and not (args.runs / STUDENT / "config.json").is_file():
        build = [sys.executable, str(ROOT / "scripts" / "build_toy_base.py"), "--size", "student"]
        if code := subprocess.call([*build, "--out", str(args.runs / STUDENT)]):
            return code
    for run_dir, overrides in commands(args.seeds, args.only, args.runs, args.overrides):
        print(f"r1pipe run {' '.join(overrides)}", flush=True)
        t0 = time.monotonic()
        code = subprocess.call([str(r1pipe), "run", *overrides])
        line = f"{run_dir.name}: exit {code}, {time.monotonic() - t0:.0f} s on {cpu_name()} ({time.strftime('%Y-%m-%d')})"
        print(line, flush=True)
        with log.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        if code != 0:
            print(
                f"stopped: {run_dir} failed; its r1pipe.log says why, and rerunning resumes it",
                file=sys.stderr,
            )
            return code
    print(f"all runs done in {(time.monotonic() - started) / 60:.1f} min", flush=True)
    if args.no_docs:
        return 0
    return subprocess.call([sys.executable, str(ROOT / "scripts" / "results.py"), "--runs", str(args.runs)])


if __name__ == "__main__":
    sys.exit(main())
