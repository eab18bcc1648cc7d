"""The orchestrator: validate, plan, then run each stage in a child process, in order.

It never loads a model. Everything it decides is written to the run directory before a stage
starts (run config, plan, the stage's config and launch record), so a crash anywhere leaves a
directory the next `r1pipe run run_dir=...` can read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigError, ConfigProblem
from r1pipe.evaluation.gate import gate_verdict
from r1pipe.generation.shards import PHASE_ID
from r1pipe.generation.vllm_server import (
    SERVER_ENV,
    SERVER_LOG,
    ManagedServer,
    ServerError,
    plan_server,
    policy_dtype,
    visible_gpus,
)
from r1pipe.pipeline.launcher import (
    Launcher,
    LauncherError,
    LocalLauncher,
    build_launcher,
    generation_launcher,
    one_process_launcher,
)
from r1pipe.pipeline.plan import LAUNCH, Plan, StagePlan, make_plan, run_dir_problems
from r1pipe.pipeline.runlock import RunDirLock
from r1pipe.pipeline.stage_specs import stage_spec
from r1pipe.pipeline.validate import validate_config
from r1pipe.run.logs import RUN_LOG, setup_logging
from r1pipe.run.rundir import (
    ERRORS,
    MANIFEST,
    PREPARED,
    TRAINED,
    atomic_write_json,
    atomic_write_text,
    disk_nearly_full,
    fsync_dir,
    list_checkpoints,
    read_manifest,
    set_aside,
    trained_model_kept,
    write_manifest,
)

log = logging.getLogger("r1pipe")


class StageFailed(Exception):
    pass


class GateStopped(StageFailed):
    """eval.gate fired after a complete stage: the stages after it do not start."""


def resolve_run_dir(cfg: DictConfig) -> Path:
    """run_dir as given; else the run directory a requeued Slurm job started (it resumes by
    itself, see `slurm_job_record`); else a new runs/<pipeline>-<time>."""
    if cfg.run_dir:
        return Path(cfg.run_dir).expanduser().resolve()
    restarted = restarted_slurm_job_dir(Path(cfg.runs_root).expanduser())
    if restarted is not None:
        return restarted
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (Path(cfg.runs_root).expanduser() / f"{cfg.pipeline.name}-{stamp}").resolve()


def slurm_job_record(runs_root: Path) -> Path | None:
    """runs_root/.slurm-job-<id>: the run directory the batch job <id> started. Slurm requeues
    a preempted job with the same id and the same command (SLURM_RESTART_COUNT counts the
    restarts), so the restarted orchestrator finds its run there and resumes it, with no
    run_dir given. None outside a Slurm job."""
    job = os.environ.get("SLURM_JOB_ID")
    return runs_root / f".slurm-job-{job}" if job else None


def restarted_slurm_job_dir(runs_root: Path) -> Path | None:
    record = slurm_job_record(runs_root)
    try:
        restarts = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    except ValueError:
        restarts = 0
    if record is None or restarts < 1 or not record.is_file():
        return None  # a first start (or an interactive allocation's next command): a new run
    run_dir = Path(record.read_text(encoding="utf-8").strip())
    log.info(
        "Slurm job %s restarted (%d): resuming its run %s", os.environ["SLURM_JOB_ID"], restarts, run_dir
    )
    return run_dir


def prepare(cfg: DictConfig, hub: bool = True) -> Plan:
    """Validate the config and plan against the run dir. Changes nothing on disk. `hub`: also
    ask the Hugging Face Hub for the repos the run names (pipeline/validate.py hub_problems)."""
    validate_config(cfg, hub=hub)
    run_dir = resolve_run_dir(cfg)
    return make_plan(cfg, run_dir)


def run_pipeline(cfg: DictConfig) -> Plan:
    """Validate, plan, and execute, holding the run directory's lock. Raises ConfigError (nothing
    touched), RunDirBusy (another orchestrator holds it) or StageFailed."""
    validate_config(cfg)
    run_dir = resolve_run_dir(cfg)
    if wrong_dir := run_dir_problems(cfg, run_dir):  # before the lock, which would leave a .lock there
        raise ConfigError(wrong_dir)
    lock = RunDirLock(run_dir)
    if lock.path.parent.is_dir():
        lock.acquire()  # plan under the lock: another orchestrator may be changing the directory
    try:
        plan = make_plan(cfg, lock.path.parent)
        check_launcher(cfg)
        if lock.handle is None:
            lock.acquire()  # a new run directory: created here
        lock.announce()
        return _execute_plan(cfg, plan)
    finally:
        lock.release()


def _execute_plan(cfg: DictConfig, plan: Plan) -> Plan:
    run_dir = plan.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(cfg.log_level, run_dir)
    record = slurm_job_record(Path(cfg.runs_root).expanduser())
    if record is not None and not cfg.run_dir:  # a requeued job finds its run here
        atomic_write_text(record, f"{run_dir}\n")
    cfg.run_dir = str(run_dir)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg))
    atomic_write_json(run_dir / "plan.json", plan.to_json())
    log.info("run directory: %s (log: %s)", run_dir, run_dir / RUN_LOG)
    log.info("%s", plan.describe())
    todo = plan.to_execute
    for stage in plan.stages:  # a resumed run checks the gate on the stages it keeps, too
        if stage.action == "skip" and todo and stage.index < todo[0].index:
            check_gate(cfg, stage, todo[0])
    for n, stage in enumerate(todo, start=1):
        log.info(
            "=== stage %d/%d: %s (%s: %s) -> %s",
            n,
            len(todo),
            stage.name,
            stage.action,
            stage.reason,
            stage.dir,
        )
        execute_stage(cfg, stage)
        if n < len(todo):
            check_gate(cfg, stage, todo[n])
    log.info(
        "pipeline finished; `r1pipe status %s` shows the stages, `r1pipe report %s` draws them",
        run_dir,
        run_dir,
    )
    return plan


def check_launcher(cfg: DictConfig) -> None:
    """ConfigError, before anything is written, when the launcher cannot start here."""
    try:
        build_launcher(cfg)
    except LauncherError as error:
        raise ConfigError([ConfigProblem("launcher.kind", str(error), "see README, Scaling out")]) from error


def check_gate(cfg: DictConfig, stage: StagePlan, next_stage: StagePlan) -> None:
    """Raise GateStopped when eval.gate fires on `stage`'s recorded evaluation."""
    manifest = read_manifest(stage.dir)
    why = gate_verdict(cfg, stage.name, manifest.metrics if manifest else {})
    if why:
        run_dir = stage.dir.parent
        raise GateStopped(
            f"{why}. Stopping before {next_stage.name}; {stage.name} stays complete "
            f"(see {stage.dir / 'eval.json'} and `r1pipe report {run_dir}`). To go on anyway: "
            f"r1pipe run run_dir={run_dir} eval.gate.min_value=null eval.gate.max_drop=null"
        )


def current_inputs(stage: StagePlan) -> dict:
    """The stage's inputs with the upstream completion id read now: an upstream stage that ran in
    this invocation had no manifest when the plan was made."""
    inputs = dict(stage.inputs)
    if inputs.get("from_stage"):
        upstream = read_manifest(Path(inputs.get("from_dir") or Path(inputs["model"]).parent))
        inputs["from_completion"] = upstream.completion_id if upstream else None
    return inputs


def write_stage_launch(cfg: DictConfig, stage: StagePlan, world: dict[str, Any] | None = None) -> Path | None:
    """Write the stage's config and launch record; a stage that runs afresh first moves the
    previous attempt under superseded/ (returned, or None)."""
    moved = None
    if stage.action == "run" and stage.dir.exists():
        moved = set_aside(stage.dir, stage.dir.parent)
        log.info("previous %s set aside in %s", stage.dir.name, moved)
    stage.dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stage.dir / "config.yaml", OmegaConf.to_yaml(cfg))
    atomic_write_json(
        stage.dir / LAUNCH,
        {
            "name": stage.name,
            "index": stage.index,
            "fingerprint": stage.fingerprint,
            "stage_config": stage.stage_config,
            "inputs": current_inputs(stage),
            "resume_from": stage.resume_from,
            "action": stage.action,
            "reason": stage.reason,
            "world": world or {"processes": 1, "machines": 1},  # what the stage process must join
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    return moved


def execute_stage(cfg: DictConfig, stage: StagePlan) -> None:
    """The stage's steps (r1pipe/pipeline/stage_process.py): prepare (if the stage has one), train, finish (hand-off
    check, evaluation, manifest). Under a multi-process launcher, train gets the launcher's
    processes and the other steps one process each, after them (every GPU free); a local launch
    runs all its steps in one child, in the same order and with the same files, which saves a
    process start per step. A stage whose training finished earlier goes straight to finish."""
    launcher = build_launcher(cfg)
    previous = write_stage_launch(cfg, stage, launcher.world())
    try:
        _execute_steps(cfg, stage, launcher)
    except BaseException:
        if previous is not None and not attempt_made_progress(stage.name, stage.dir):
            restore_previous_attempt(stage, previous)
        raise


def attempt_made_progress(name: str, stage_dir: Path) -> bool:
    """Whether a failed attempt left anything a rerun would use: a checkpoint, a trained model,
    prepared data, or the stage's own partial work (stage 3's finished steps)."""
    return bool(
        list_checkpoints(stage_dir / "checkpoints")
        or (stage_dir / TRAINED).exists()
        or (stage_dir / PREPARED).exists()
        or stage_spec(name).holds_partial_work(stage_dir)
    )


def restore_previous_attempt(stage: StagePlan, previous: Path) -> None:
    """An attempt that failed (or was stopped) before it produced anything gives the stage
    directory back to the attempt it replaced: a bad value that passed validation never costs a
    complete stage. The failed attempt's records go under superseded/ in its place."""
    failed = set_aside(stage.dir, stage.dir.parent)
    os.replace(previous, stage.dir)
    fsync_dir(stage.dir.parent)
    log.warning(
        "stage %s: the new attempt stopped before it produced anything; the previous attempt is back in %s "
        "(the stopped one is in %s)",
        stage.name,
        stage.dir,
        failed,
    )


def _execute_steps(cfg: DictConfig, stage: StagePlan, launcher: Launcher) -> None:
    started = time.time()
    steps = ["finish"]
    if trained_model_kept(stage.dir, stage.fingerprint):
        log.info(
            "stage %s: training finished in an earlier attempt; checking and evaluating its model", stage.name
        )
    else:
        (stage.dir / TRAINED).unlink(missing_ok=True)  # another attempt's result is never finished
        steps = [*(["prepare"] if stage_spec(stage.name).prepares(cfg) else []), "train", *steps]
    if isinstance(launcher, LocalLauncher):
        runs: list[tuple[str, Launcher]] = [(",".join(steps), launcher)]
    else:
        runs = [(step, _step_launcher(cfg, stage.name, step, launcher)) for step in steps]
    for phase, runner in runs:
        _run_phase(cfg, stage, phase, runner, started)
    manifest = read_manifest(stage.dir)
    if manifest is None or not manifest.complete:
        _failed(stage, "finish", "no complete manifest", started)
    assert manifest is not None
    log.info(
        "stage %s complete in %.0fs: %s", stage.name, manifest.wall_time_s, _key_metrics(manifest.metrics)
    )


def _step_launcher(cfg: DictConfig, stage: str, step: str, training: Launcher) -> Launcher:
    """Training gets the launcher's processes; a prepare step that samples data-parallel (stage 3)
    and a finish step that evaluates get them too, as plain processes (generation_launcher, GPUs /
    tensor parallel); every other step one process."""
    if step == "train":
        return training
    if step == "prepare" and stage_spec(stage).prepare_processes == "all":
        return generation_launcher(cfg)
    if step == "finish" and cfg.eval.after_stage:  # the evaluations sample data-parallel
        return generation_launcher(cfg)
    return one_process_launcher(cfg)


def _run_phase(cfg: DictConfig, stage: StagePlan, phase: str, launcher: Launcher, started: float) -> None:
    command = launcher.command(stage.dir.parent, stage.dir, phase)
    shutil.rmtree(stage.dir / ERRORS, ignore_errors=True)  # errors of an earlier step or attempt
    log.debug("%s: %s", phase, " ".join(command))
    server = generation_server(cfg, stage) if "train" in phase.split(",") else None
    try:
        with server or contextlib.nullcontext():
            env = launcher.environment() | (server.training_env if server else {})
            env[PHASE_ID] = uuid.uuid4().hex[:12]  # one per launch: the processes' shared chunk folder
            returncode = _run_child(command, env, stage, started)
    except ServerError as error:
        _record_failure(stage, f"generation server: {error}", time.time() - started)
        raise StageFailed(f"stage {stage.name}: {error}") from error
    if returncode != 0:
        status, why, step = failure_cause(stage.dir, returncode)
        _failed(stage, step or phase, why, started, status)


# Errors a process raises because another one died (a collective whose peer is gone): effects.
PEER_GONE = ("DistBackendError", "DistNetworkError")
PEER_GONE_MESSAGES = ("closed by peer", "reset by peer", "Broken pipe", "remote process exited")


def failure_cause(stage_dir: Path, returncode: int) -> tuple[str, str, str | None]:
    """("failed", the error a process raised, its step) when one raised an error of its own;
    otherwise ("interrupted", why, None): a process was killed (SIGKILL, the OOM killer,
    preemption), which raises nothing, and the others then stopped or lost their peer. Either
    way a rerun resumes."""
    errors = []
    for path in sorted((stage_dir / ERRORS).glob("rank*.json")):
        try:
            errors.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    own = [
        e
        for e in errors
        if e.get("type") not in PEER_GONE and not any(m in str(e.get("message")) for m in PEER_GONE_MESSAGES)
    ]
    stopped = [e for e in own if e.get("type") == "StopRequested"]
    if stopped:  # a stop signal: every process saved and stopped at the same step
        return "interrupted", str(stopped[0]["message"])[:300], stopped[0].get("phase")
    if own:
        first = min(own, key=lambda e: e.get("rank", 0))
        why = f"{first['type']}: {str(first['message'])[:800]} (process {first.get('rank', 0)})"
        return "failed", why, first.get("phase")
    if returncode < 0:
        return "interrupted", f"killed by {signal.Signals(-returncode).name}", None
    if full := disk_nearly_full(stage_dir):  # the error could not even be recorded
        return "failed", f"exit code {returncode}, no error recorded: {full}", None
    why = f"exit code {returncode} and no error raised: a process was killed (out of memory? preempted?)"
    return "interrupted", why, None


def _failed(stage: StagePlan, phase: str, why: str, started: float, status: str = "failed") -> None:
    _record_failure(stage, f"{phase}: {why}", time.time() - started, status)
    raise StageFailed(
        f"stage {stage.name} {status} in its {phase} step ({why}); see {stage.dir.parent / RUN_LOG}. "
        f"Fix the cause and rerun `r1pipe run run_dir={stage.dir.parent}`: what finished is kept "
        "(a trained model goes straight to its checks and evaluation; training resumes from its "
        "latest checkpoint)."
    )


def _run_child(command: list[str], env: dict[str, str], stage: StagePlan, started: float) -> int:
    """Run a stage step and wait for it. On SIGTERM or Ctrl-C the stage finishes its current
    step and saves a checkpoint (r1pipe/run/interrupt.py), and the orchestrator waits for that; a
    second signal stops the stage at once. Either way the stage is recorded as interrupted and
    KeyboardInterrupt goes up (the CLI prints the resume command)."""
    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)
        name = signal.Signals(signum).name
        if len(received) == 1:
            log.warning(
                "%s: stage %s stops after its current step, with a checkpoint; again to stop now",
                name,
                stage.name,
            )
            if signum == signal.SIGTERM:  # Ctrl-C reached the stage already: it shares our process group
                child.send_signal(signal.SIGTERM)
        else:
            log.warning("%s again: stopping stage %s now", name, stage.name)
            child.kill()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        returncode = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        manifest = read_manifest(stage.dir)
        if returncode == 0 and manifest is not None and manifest.complete:
            log.warning("stage %s completed before it could stop; the pipeline stops here", stage.name)
            raise KeyboardInterrupt  # the complete record stays: the rerun skips this stage
        why = failure_cause(stage.dir, returncode)[1] if returncode else "stopped by a signal"
        _record_failure(
            stage,
            f"interrupted ({signal.Signals(received[0]).name}): {why}",
            time.time() - started,
            "interrupted",
        )
        raise KeyboardInterrupt
    return returncode


def generation_server(cfg: DictConfig, stage: StagePlan) -> ManagedServer | None:
    """The vLLM server for an RL stage with generation=vllm_server: on GPUs of its own, or on
    the CPU beside training where there are none."""
    section = cfg.get(stage.name)
    if not isinstance(section, DictConfig) or section.get("generation") != "vllm_server":
        return None
    gpus = visible_gpus()
    model = current_inputs(stage)["model"]
    dtype = policy_dtype(cfg.model.dtype, gpus)
    gen = cfg.generation
    server = plan_server(section, stage.name, model, gpus, dtype, gen.cpu_kv_cache_gb, gen.enforce_eager)
    assert server is not None
    log.info(
        "generation server on GPUs %s, training on %s",
        server.server_gpus or "none (CPU)",
        server.training_gpus,
    )
    on_gpus = bool(server.server_gpus)
    return ManagedServer(
        server.command,
        server.port,
        stage.dir / SERVER_LOG,
        server.timeout_s,
        env=SERVER_ENV | ({"CUDA_VISIBLE_DEVICES": ",".join(server.server_gpus)} if on_gpus else {}),
        training_env={"CUDA_VISIBLE_DEVICES": ",".join(server.training_gpus)} if on_gpus else {},
    )


def _die_with_parent() -> None:
    """Linux: the stage gets SIGTERM if the orchestrator dies, so no orphan keeps a GPU busy."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _record_failure(stage: StagePlan, why: str, seconds: float, status: str = "failed") -> None:
    """The failed/interrupted manifest. A write error here (a full disk: often the failure
    itself) is logged with the path, never raised over the stage's own error: the plan of the
    rerun reads the stage's checkpoints, not this record."""
    try:
        write_manifest(
            stage.dir,
            stage=stage.name,
            status=status,  # failed | interrupted
            fingerprint=stage.fingerprint,
            inputs=current_inputs(stage),
            outputs={},
            metrics={"failure": why},
            versions={},
            wall_time_s=round(seconds, 1),
        )
    except OSError as error:
        log.error(
            "could not record stage %s as %s in %s: %s", stage.name, status, stage.dir / MANIFEST, error
        )


def _key_metrics(metrics: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in metrics.items() if isinstance(v, int | float | str))
