"""Distillation: fine-tune a smaller student model on a stage-3 SFT set, SFT only, no RL (the
paper's R1-Distill models: 800k samples, 2-3 epochs).

    r1pipe run pipeline=distill student=PATH distill.data=runs/x          # the set of run x's stage 3
    r1pipe run pipeline=distill student=Qwen/Qwen2.5-Math-1.5B distill.data=sft.parquet distill=paper

`distill.data` is a run directory (its complete rejection_sampling stage's set, from the manifest),
an SFT file or directory (a `messages` column), or a hub dataset id; left empty, this run's own
rejection_sampling stage. Reads top to bottom: the set, the student, SFT (or resume), save; the
hand-off check and the before/after evaluation follow in the finish step (r1pipe/pipeline/stage_process.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import DistillConfig
from r1pipe.config.sections import sft_section_problems
from r1pipe.data.loading import DataError, is_local_path, load_table, require_columns
from r1pipe.models.loading import load_model, load_tokenizer, looks_local, model_dir_problem
from r1pipe.run.context import SFT_OPERATIONAL_KEYS, StageContext, StageResult, StageSpec
from r1pipe.run.rundir import complete_stage_output

log = logging.getLogger("r1pipe.stages.distill")


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*/manifest.json"))


def has_stage_three_set(run_dir: Path) -> bool:
    return complete_stage_output(run_dir, "rejection_sampling", "data") is not None


def check(cfg: DictConfig) -> list[ConfigProblem]:
    """Distillation needs a student and a set to learn from."""
    problems = []
    if not cfg.student:
        problems.append(
            ConfigProblem(
                "student", "distillation needs a student model", "add student=PATH (a HF model dir or hub id)"
            )
        )
    elif looks_local(cfg.student) and (why := model_dir_problem(cfg.student)):
        problems.append(ConfigProblem("student", why, "set student to a dir saved with save_pretrained"))
    data = cfg.distill.data
    if data and is_local_path(data) and not Path(data).expanduser().exists():
        problems.append(
            ConfigProblem(
                "distill.data",
                f"{data} does not exist",
                "a run dir with stage 3 done, or an SFT .jsonl/.parquet file",
            )
        )
    elif data and is_run_dir(Path(data).expanduser()) and not has_stage_three_set(Path(data).expanduser()):
        problems.append(
            ConfigProblem(
                "distill.data",
                f"run dir {data} has no complete rejection_sampling stage",
                f"finish it first: r1pipe run run_dir={data} stage=rejection_sampling",
            )
        )
    if data is None and "rejection_sampling" not in cfg.pipeline.stages:
        problems.append(
            ConfigProblem(
                "distill.data",
                "no stage-3 set: distill.data is not set and the pipeline has no rejection_sampling stage",
                "set distill.data=RUN_DIR (a run with stage 3 done) or an SFT dataset file",
            )
        )
    return problems + sft_section_problems(cfg, "distill.train")


SPEC = StageSpec(
    name="distill",
    module=__name__,
    config_keys=("distill", "student", "model", "seed"),
    model_from="student",
    schema=DistillConfig,
    operational_keys=tuple(f"distill.train.{k}" for k in SFT_OPERATIONAL_KEYS),
    resume_key="distill.train.resume",
    check=check,
    summary="distillation: SFT of a smaller student model on a stage-3 set (no RL)",
)


def run(cfg: DictConfig, ctx: StageContext) -> StageResult:
    from r1pipe.training.sft import train_and_save  # torch, transformers, trl: only when training

    source = distill_source(cfg.distill.data, ctx.run_dir)
    dataset = load_table(source, None, "train")
    require_columns(dataset, ["messages"], source, "distill.data")
    log.info("distillation set: %d rows from %s", len(dataset), source)

    tokenizer = load_tokenizer(ctx.inputs["model"], cfg.model)
    model = load_model(ctx.inputs["model"], cfg.model)
    log.info("student %s: %.2fM parameters", ctx.inputs["model"], model.num_parameters() / 1e6)

    model_dir, metrics = train_and_save(cfg.distill.train, cfg, ctx, model, tokenizer, dataset)
    return StageResult(outputs={"model": str(model_dir), "data": source}, metrics=metrics)


def distill_source(data: str | None, run_dir: Path) -> str:
    """The SFT set to distil from: a run dir's stage-3 set (via its manifest), or the path/id given."""
    given = Path(data).expanduser() if data else run_dir
    if given.is_dir() and (found := complete_stage_output(given, "rejection_sampling", "data")) is not None:
        return found
    if data is None:
        raise DataError(
            f"distill.data is not set and {run_dir} has no complete rejection_sampling stage; "
            "set distill.data=RUN_DIR (a run with stage 3 done) or a dataset file with a messages column"
        )
    return str(given) if given.exists() else data
