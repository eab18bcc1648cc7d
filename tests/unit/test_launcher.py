"""Launchers build the stage's command line and environment; nothing is started here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from r1pipe.pipeline.compose import compose_config
from r1pipe.pipeline.launcher import (
    AccelerateLauncher,
    LauncherError,
    LocalLauncher,
    SlurmLauncher,
    accelerate_config_path,
    build_launcher,
    describe_launch,
    generation_launcher,
    one_process_launcher,
    read_accelerate_config,
)

RUN = Path("/runs/r1-x")
STAGE = RUN / "01_cold_start"
STAGE_ARGS = [
    "-m",
    "r1pipe.pipeline.stage_process",
    "--run-dir",
    str(RUN),
    "--stage-dir",
    str(STAGE),
    "--phase",
    "train",
]


def accelerate(**over) -> AccelerateLauncher:
    fields = dict(
        num_processes=1,
        num_machines=1,
        mixed_precision="no",
        config_file=None,
        main_process_port=None,
        env={},
    )
    return AccelerateLauncher(**{**fields, **over})


def option(cmd: list[str], flag: str) -> str | None:
    """The value after `flag`, or None when the flag is absent."""
    return cmd[cmd.index(flag) + 1] if flag in cmd else None


def test_local_command():
    assert LocalLauncher({}).command(RUN, STAGE) == [sys.executable, *STAGE_ARGS]


@pytest.mark.parametrize(
    ("fields", "expected", "absent"),
    [
        (
            {},
            {"--num_processes": "1", "--num_machines": "1", "--mixed_precision": "no"},
            ["--config_file", "--main_process_port"],
        ),
        (
            {"num_processes": 8, "mixed_precision": "bf16"},
            {"--num_processes": "8", "--mixed_precision": "bf16"},
            ["--config_file"],
        ),
        (
            {"config_file": "/cfg/zero3.yaml", "num_processes": 4},
            {"--config_file": "/cfg/zero3.yaml", "--num_processes": "4"},
            ["--multi_gpu"],
        ),
        (
            {"main_process_port": 29511, "num_machines": 2},
            {"--main_process_port": "29511", "--num_machines": "2"},
            [],
        ),
    ],
)
def test_accelerate_command(fields, expected, absent):
    cmd = accelerate(**fields).command(RUN, STAGE)
    assert cmd[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert cmd[-len(STAGE_ARGS) :] == STAGE_ARGS  # the same stage entry point as the local launcher
    for flag, value in expected.items():
        assert option(cmd, flag) == value
    for flag in absent:
        assert flag not in cmd


def test_multi_gpu_for_several_processes_without_a_config_file():
    """--multi_gpu on GPUs and on CPU alike (the trainers' use_cpu=True makes it gloo DDP there):
    without it accelerate starts one process and says nothing."""
    assert "--multi_gpu" in accelerate(num_processes=2).command(RUN, STAGE)
    assert "--multi_gpu" not in accelerate(num_processes=1).command(RUN, STAGE)
    assert "--multi_gpu" not in accelerate(num_processes=2, config_file="/cfg/zero3.yaml").command(RUN, STAGE)


def test_a_single_machine_run_gets_a_free_rendezvous_port():
    """Unset, accelerate uses 29500 for every run: two runs on one machine would meet there."""
    port = int(option(accelerate(num_processes=2).command(RUN, STAGE), "--main_process_port"))
    assert 1024 <= port < 65536
    assert "--main_process_port" not in accelerate(num_processes=1).command(RUN, STAGE)
    assert "--main_process_port" not in accelerate(num_processes=4, num_machines=2).command(RUN, STAGE)


def test_the_world_each_launcher_asks_for():
    assert LocalLauncher({}).world() == {"processes": 1, "machines": 1, "parallelism": "single"}
    assert accelerate(num_processes=16, num_machines=2, mixed_precision="bf16").world() == {
        "processes": 16,
        "machines": 2,
        "parallelism": "ddp",
        "mixed_precision": "bf16",
    }
    assert accelerate(num_processes=1).world()["parallelism"] == "single"


# Each shipped accelerate config: what accelerate's own loader reads from it, and what the
# training processes must then find (topology.check_setup compares after the trainer's setup).
SHIPPED = [
    ("ddp", "MULTI_GPU", "ddp"),
    ("fsdp", "FSDP", "fsdp"),
    ("zero2", "DEEPSPEED", "zero2"),
    ("zero3", "DEEPSPEED", "zero3"),
]


@pytest.mark.parametrize(("name", "distributed_type", "parallelism"), SHIPPED)
def test_shipped_accelerate_configs_load_in_accelerate_and_set_the_expected_world(
    name, distributed_type, parallelism
):
    from accelerate.commands.config.config_args import load_config_from_file

    path = accelerate_config_path(name)
    assert path and Path(path).is_file() and path.endswith(f"assets/accelerate/{name}.yaml")
    loaded = load_config_from_file(path)
    assert loaded.distributed_type.value == distributed_type
    # r1pipe passes processes, machines and precision on the command line, never from the file
    assert loaded.num_processes == -1 and "mixed_precision" not in read_accelerate_config(path)
    if distributed_type == "DEEPSPEED":
        assert "gradient_accumulation_steps" not in loaded.deepspeed_config  # "auto": the trainer's
    if name == "zero3":
        assert loaded.deepspeed_config["zero3_save_16bit_model"]  # save_model gathers full weights
    if name == "fsdp":
        assert loaded.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"

    cfg = compose_config(
        ["launcher=accelerate", "launcher.num_processes=8", f"launcher.accelerate_config={name}"]
    )
    built = build_launcher(cfg)
    assert option(built.command(RUN, STAGE), "--config_file") == path
    assert "--multi_gpu" not in built.command(RUN, STAGE)  # the file says how
    assert built.world()["parallelism"] == parallelism


def test_an_accelerate_config_path_is_used_as_given(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text("distributed_type: FSDP\n")
    assert accelerate_config_path(str(own)) == str(own)
    assert accelerate(num_processes=2, config_file=str(own)).world()["parallelism"] == "fsdp"


def test_slurm_runs_one_accelerate_per_node_under_srun(monkeypatch):
    """Inside a job: one srun step, one task per node; each task (r1pipe.pipeline.slurm_task) adds its
    machine rank; every node meets at the first node on the port picked there."""
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("SLURM_JOB_NODELIST", "gpu[01-02]")
    monkeypatch.setattr("r1pipe.pipeline.launcher.slurm_head_node", lambda: "gpu01")
    cfg = compose_config(
        [
            "launcher=slurm",
            "launcher.num_machines=2",
            "launcher.num_processes=16",
            "launcher.accelerate_config=zero3",
        ]
        + ["launcher.srun_args=['--cpus-per-task=96']"]
    )
    built = build_launcher(cfg)
    assert type(built) is SlurmLauncher
    cmd = built.command(RUN, STAGE)
    assert cmd[:6] == [
        "srun",
        "--nodes=2",
        "--ntasks=2",
        "--ntasks-per-node=1",
        "--kill-on-bad-exit=1",
        "--cpus-per-task=96",
    ]
    assert cmd[6:9] == [sys.executable, "-m", "r1pipe.pipeline.slurm_task"]
    assert option(cmd, "--main_process_ip") == "gpu01" and option(cmd, "--main_process_port")
    assert (option(cmd, "--num_machines"), option(cmd, "--num_processes")) == ("2", "16")
    assert cmd[-len(STAGE_ARGS) :] == STAGE_ARGS
    assert built.world() == {
        "processes": 16,
        "machines": 2,
        "parallelism": "zero3",
        "mixed_precision": "bf16",
    }


def test_each_slurm_task_adds_its_machine_rank():
    from r1pipe.pipeline.slurm_task import accelerate_argv

    argv = accelerate_argv(
        ["--num_machines", "2", "-m", "r1pipe.pipeline.stage_process"], {"SLURM_NODEID": "1"}
    )
    assert argv[1:5] == ["-m", "accelerate.commands.launch", "--machine_rank", "1"]
    with pytest.raises(SystemExit, match="srun"):
        accelerate_argv([], {})


def test_slurm_outside_a_job_is_refused_before_any_work(monkeypatch, tmp_path):
    from r1pipe.config.problems import ConfigError
    from r1pipe.pipeline.orchestrator import run_pipeline

    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    cfg = compose_config(
        [
            "launcher=slurm",
            "launcher.num_processes=2",
            "launcher.num_machines=1",
            f"run_dir={tmp_path / 'run'}",
        ]
    )
    with pytest.raises(ConfigError, match="not one") as caught:
        run_pipeline(cfg)
    assert "sbatch" in str(caught.value) and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ([], LocalLauncher),
        (["launcher=local"], LocalLauncher),
        (["launcher=accelerate"], AccelerateLauncher),
        (["launcher.kind=accelerate"], AccelerateLauncher),
    ],
)
def test_build_launcher_picks_by_kind(overrides, kind):
    assert type(build_launcher(compose_config(overrides))) is kind


def test_build_launcher_passes_accelerate_settings():
    cfg = compose_config(
        [
            "launcher=accelerate",
            "launcher.num_processes=2",
            "launcher.accelerate_config=ddp",
            "launcher.main_process_port=29600",
        ]
    )
    built = build_launcher(cfg)
    assert (built.num_processes, built.config_file, built.main_process_port, built.mixed_precision) == (
        2,
        accelerate_config_path("ddp"),
        29600,
        "bf16",
    )


@pytest.mark.parametrize("kind", ["local", "accelerate"])
def test_launcher_env_reaches_the_environment(monkeypatch, kind):
    monkeypatch.setenv("R1PIPE_TEST_KEEP", "from-parent")
    monkeypatch.setenv("R1PIPE_TEST_OVERRIDE", "from-parent")
    # New keys of the dict-valued launcher.env take Hydra's `+` (test_config checks the hint).
    cfg = compose_config(
        [
            f"launcher={kind}",
            "+launcher.env.R1PIPE_TEST_OVERRIDE=from-config",
            "+launcher.env.OMP_NUM_THREADS=2",
        ]
    )
    env = build_launcher(cfg).environment()
    assert env["R1PIPE_TEST_OVERRIDE"] == "from-config"  # config wins over the parent's environment
    assert env["OMP_NUM_THREADS"] == "2"  # values are strings, as subprocess needs
    assert env["R1PIPE_TEST_KEEP"] == "from-parent"  # the parent's environment is kept


def test_environment_without_env_is_the_parent_environment(monkeypatch):
    monkeypatch.setenv("R1PIPE_TEST_KEEP", "x")
    assert LocalLauncher({}).environment()["R1PIPE_TEST_KEEP"] == "x"


def test_one_process_steps_run_locally_under_accelerate():
    """A finish step without evaluation (the hand-off check) runs as one local process whatever
    launcher trains; the training gets the launcher's N processes, and so do stage 3's sampling
    (its prepare step) and the evaluations (a finish step that evaluates), data-parallel."""
    from r1pipe.pipeline.orchestrator import _step_launcher
    from r1pipe.pipeline.stage_specs import STAGES

    cfg = compose_config(["launcher=accelerate", "launcher.num_processes=8", "+launcher.env.X=1"])
    assert type(build_launcher(cfg)) is AccelerateLauncher
    one = one_process_launcher(cfg)
    assert type(one) is LocalLauncher and one.environment()["X"] == "1"
    assert one.command(RUN, STAGE, "finish")[-2:] == ["--phase", "finish"]
    assert [(s.name, s.prepare_processes) for s in STAGES.values() if s.prepares(cfg)] == [
        ("rejection_sampling", "all")
    ]
    filtering = compose_config(["reasoning_rl.difficulty_filter.enabled=true"])
    assert [(s.name, s.prepare_processes) for s in STAGES.values() if s.prepares(filtering)] == [
        ("reasoning_rl", "all"),  # the difficulty filter samples on every process too
        ("rejection_sampling", "all"),
    ]
    training = build_launcher(cfg)
    assert _step_launcher(cfg, "cold_start", "train", training) is training
    assert type(_step_launcher(cfg, "rejection_sampling", "prepare", training)) is AccelerateLauncher
    assert type(_step_launcher(cfg, "cold_start", "finish", training)) is AccelerateLauncher
    quiet = compose_config(["launcher=accelerate", "launcher.num_processes=8", "eval.after_stage=false"])
    assert type(_step_launcher(quiet, "cold_start", "finish", build_launcher(quiet))) is LocalLauncher


def test_stage_three_samples_on_gpus_over_tensor_parallel_processes(monkeypatch):
    """Stage 3's prepare step samples data-parallel: the training launcher's machines with GPUs /
    generation.tensor_parallel_size plain processes (no ZeRO or FSDP config: each holds its own
    engine), under accelerate and under Slurm; a local launch stays one process."""
    cfg = compose_config(
        ["launcher=accelerate", "launcher.num_processes=8", "launcher.accelerate_config=zero3"]
        + ["generation=vllm", "generation.tensor_parallel_size=2"]
    )
    sampling = generation_launcher(cfg)
    assert type(sampling) is AccelerateLauncher and sampling.config_file is None
    cmd = sampling.command(RUN, STAGE, "prepare")
    assert option(cmd, "--num_processes") == "4" and "--config_file" not in cmd
    assert cmd[-2:] == ["--phase", "prepare"]
    assert "prepare: 4 processes sampling data-parallel (tensor parallel 2 each)" in describe_launch(
        cfg, "all"
    )
    assert describe_launch(cfg, "one").startswith("prepare: 1 process;")

    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setattr("r1pipe.pipeline.launcher.slurm_head_node", lambda: "gpu01")
    slurm = compose_config(
        [
            "launcher=slurm",
            "launcher.num_machines=2",
            "launcher.num_processes=16",
            "generation.tensor_parallel_size=4",
        ]
    )
    built = generation_launcher(slurm)
    assert type(built) is SlurmLauncher and built.head == "gpu01"
    cmd = built.command(RUN, STAGE, "prepare")
    assert (option(cmd, "--num_machines"), option(cmd, "--num_processes")) == ("2", "4")

    assert type(generation_launcher(compose_config([]))) is LocalLauncher


def test_a_tensor_parallel_size_that_does_not_divide_the_gpus_is_refused():
    cfg = compose_config(
        ["launcher=accelerate", "launcher.num_processes=6", "generation.tensor_parallel_size=4"]
    )
    with pytest.raises(
        LauncherError, match="tensor_parallel_size=4 does not divide the 6 processes per machine"
    ):
        generation_launcher(cfg)
