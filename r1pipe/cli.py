"""`r1pipe`: the command line. Thin: parse, compose, hand to the orchestrator or the status table."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from omegaconf import OmegaConf

# The commands import the library inside their functions, for start-up time: `r1pipe --help` and a
# mistyped command answer at once, without the ~3 s of Hydra, the stage modules and matplotlib.

GRAMMAR = """\
Overrides use Hydra's grammar, after the subcommand:
  key=value              set a value            cold_start.learning_rate=1e-4
  group=option           pick a config group    model=qwen2.5_1.5b  launcher=accelerate
  experiment=NAME        apply a preset         experiment=r1_qwen2.5_1.5b
  +key=value / ~key      add / delete a key     (for keys outside the schema: rarely needed)
  list=[a,b]             a list                 pipeline.stages=[cold_start]

Examples:
  r1pipe run                                   the whole pipeline on the embedded toy default (CPU)
  r1pipe run stage=cold_start                  one stage
  r1pipe run run_dir=runs/x                    resume: complete stages skipped, a partial one resumed
  r1pipe run run_dir=runs/x from_stage=cold_start    re-run from a stage on
  r1pipe run run_dir=runs/x cold_start.learning_rate=1e-3 --dry-run   what would re-run, and why
  r1pipe run --cfg experiment=r1_qwen2.5_1.5b  print the resolved config
  r1pipe validate data.cold_start.path=my.jsonl     check a config without running it
  r1pipe status runs/x                         stages, status, wall time, metrics, outputs
  r1pipe eval runs/x eval.samples_per_problem=16   pass@1, pass@k, cons@k of the run's last model
  r1pipe eval MODEL_DIR eval=paper generation=vllm  the paper's benchmarks on any model dir
  r1pipe report runs/x                         HTML report with plots (runs/x/report/index.html)
  r1pipe report runs/x runs/y                  two runs side by side (an ablation in one page)
  r1pipe list                                  stages, pipelines, experiments and config groups
  r1pipe serve-reward-model RM_DIR --port 8010 --device all_gpus   a judge on GPUs of its own;
                                               then reward.models.helpful.url=http://HOST:8010
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="r1pipe",
        description="Run the DeepSeek-R1 training recipe end to end on your model and data.",
        epilog=GRAMMAR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", metavar="{run,eval,report,status,validate,list,serve-reward-model}"
    )
    run = sub.add_parser(
        "run",
        help="run the pipeline (or one stage); resumes an existing run_dir",
        description="Run the pipeline, one stage, or resume a run directory.",
        epilog=GRAMMAR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--cfg", action="store_true", help="print the resolved config and exit")
    run.add_argument(
        "--dry-run", action="store_true", help="print the plan (run / resume / skip, and why) and exit"
    )
    run.add_argument("overrides", nargs="*", help="Hydra overrides (see below)")
    validate = sub.add_parser(
        "validate",
        help="compose and validate a config (and its run_dir inputs); load nothing",
        epilog=GRAMMAR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("overrides", nargs="*", help="Hydra overrides")
    evaluate = sub.add_parser(
        "eval",
        help="evaluate a model dir, a run's stage or a run's last model on eval.benchmarks",
        description="pass@1 over k samples, pass@k, cons@k (with SE and 95% bootstrap intervals), "
        "mean length and language consistency, per benchmark; per-problem JSONL next to summary.json.",
        epilog=GRAMMAR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument(
        "target", type=Path, help="model dir, stage dir (runs/x/02_reasoning_rl) or run dir"
    )
    evaluate.add_argument("--out", type=Path, default=None, help="output dir (default: <stage>/evals/<time>)")
    evaluate.add_argument("overrides", nargs="*", help="Hydra overrides (eval.*, generation.*, ...)")
    report = sub.add_parser(
        "report", help="write an HTML report with plots for a run, or two runs side by side"
    )
    report.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="one run, or two to compare"
    )
    report.add_argument("--out", type=Path, default=None, help="output dir (default: RUN_DIR/report)")
    status = sub.add_parser("status", help="table of a run's stages: status, wall time, metrics, outputs")
    status.add_argument("run_dir", type=Path)
    sub.add_parser("list", help="stages, pipelines, experiments and config group options")
    serve = sub.add_parser(
        "serve-reward-model",
        help="serve a reward model over HTTP for stage 4 (reward.models.<name>.url); --help for flags",
        add_help=False,  # its own parser (rewards/reward_server.py) answers --help
    )
    serve.add_argument("args", nargs=argparse.REMAINDER)  # main() hands them on before parsing
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve-reward-model"]:  # its own flags (argparse's REMAINDER drops a leading --flag)
        from r1pipe.rewards.reward_server import main as serve_reward_model
        from r1pipe.run.logs import setup_logging

        setup_logging("INFO")
        return serve_reward_model(argv[1:])
    parser = _parser()
    # Flags may come after overrides (`r1pipe run a=1 --dry-run b=2`): unknown positionals are overrides.
    args, extra = parser.parse_known_args(argv)
    if extra and (not hasattr(args, "overrides") or any(x.startswith("-") for x in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    from r1pipe.run.logs import setup_logging

    setup_logging("INFO")
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args.overrides)
        if args.command == "eval":
            return _eval(args)
        if args.command == "report":
            return _report(args)
        if args.command == "status":
            from r1pipe.pipeline.status import status_table

            print(status_table(args.run_dir))
            return 0
        if args.command == "list":
            print(_listing())
            return 0
    except _user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    parser.print_help()
    return 1


def _user_errors() -> tuple[type[Exception], ...]:
    from r1pipe.config.problems import ConfigError
    from r1pipe.data.loading import DataError
    from r1pipe.evaluation.benchmarks import BenchmarkError
    from r1pipe.evaluation.command import EvalTargetError
    from r1pipe.models.prompt_length import PromptTooLong
    from r1pipe.pipeline.orchestrator import StageFailed
    from r1pipe.pipeline.runlock import RunDirBusy
    from r1pipe.pipeline.status import StatusError
    from r1pipe.report import ReportError

    return (
        ConfigError,
        StageFailed,
        StatusError,
        EvalTargetError,
        BenchmarkError,
        DataError,
        ReportError,
        RunDirBusy,
        PromptTooLong,
        EvalFailed,
    )


def _run(args: argparse.Namespace) -> int:
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.pipeline.orchestrator import prepare, run_pipeline

    cfg = compose_config(args.overrides)
    if args.cfg:
        print(OmegaConf.to_yaml(cfg), end="")
        return 0
    if args.dry_run:
        plan = prepare(cfg)
        print(plan.describe())
        print(describe_launches(cfg, plan))
        return 0
    try:
        run_pipeline(cfg)
    except KeyboardInterrupt:
        where = f"run_dir={cfg.run_dir}" if cfg.run_dir else "the same run_dir"
        logging.getLogger("r1pipe").warning("stopped; resume with: r1pipe run %s", where)
        return 130
    return 0


def describe_launches(cfg, plan) -> str:
    """How each stage that would run starts its processes (launcher, world, parallelism)."""
    from r1pipe.pipeline.launcher import describe_launch
    from r1pipe.pipeline.stage_specs import stage_spec

    lines = ["launch:"]
    for stage in plan.to_execute:
        spec = stage_spec(stage.name)
        lines.append(
            f"  {stage.name:<20} {describe_launch(cfg, spec.prepare_processes if spec.prepares(cfg) else None)}"
        )
    return "\n".join(lines) if plan.to_execute else "launch: nothing to run"


def _eval(args: argparse.Namespace) -> int:
    from r1pipe.evaluation.command import (
        output_dir,
        resolve_target,
        run_eval,
        summary_table,
        with_run_settings,
    )
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.pipeline.validate import validate_config

    target = resolve_target(args.target)
    cfg = with_run_settings(compose_config(args.overrides), target, args.overrides)
    validate_config(cfg)
    out = output_dir(cfg, target, args.out)
    if cfg.launcher.kind == "local":
        summary = run_eval(cfg, target, out)
    else:
        summary = _eval_on_processes(cfg, target, out)
    print(summary_table(summary))
    print(f"per-problem results: {out}/<benchmark>.jsonl; summary: {out / 'summary.json'}")
    return 0


def _eval_on_processes(cfg, target, out: Path) -> dict:
    """`r1pipe eval` under launcher=accelerate/slurm: the evaluation's processes (GPUs / tensor
    parallel of them) sample their chunks, the main one scores and writes summary.json."""
    import subprocess
    import uuid

    from r1pipe.evaluation.command import write_worker_inputs
    from r1pipe.generation.shards import PHASE_ID
    from r1pipe.pipeline.launcher import generation_launcher

    launcher = generation_launcher(cfg)
    command = launcher.module_command(write_worker_inputs(cfg, target, out))
    env = launcher.environment() | {PHASE_ID: uuid.uuid4().hex[:12]}
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise EvalFailed(f"the evaluation processes failed (their output is above): {' '.join(command)}")
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


class EvalFailed(RuntimeError):
    """A process of a multi-process `r1pipe eval` failed; its own output says why."""


def _report(args: argparse.Namespace) -> int:
    from r1pipe.report import ReportError, write_report

    if len(args.run_dirs) > 2:
        raise ReportError(f"give one run dir, or two to compare; got {len(args.run_dirs)}")
    path = write_report(list(args.run_dirs), out_dir=args.out)
    print(f"report: {path}")
    return 0


def _validate(overrides: list[str]) -> int:
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.pipeline.orchestrator import prepare

    plan = prepare(compose_config(overrides))
    print(f"config OK; {plan.describe()}")
    return 0


def _listing() -> str:
    from r1pipe.pipeline.compose import config_groups, group_options
    from r1pipe.pipeline.stage_specs import STAGES

    lines = ["stages:"] + [f"  {s.name:<20} {s.summary}" for s in STAGES.values()]
    for group in config_groups():
        if group != "stage":  # its options are the stages above, and `all`
            lines.append(f"{group}: {', '.join(group_options(group))}")
    from r1pipe.rewards import REWARDS

    lines.append(f"rewards: {', '.join(sorted(REWARDS))}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
