"""Launchers build the stage's command line and environment; nothing is started here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from r1pipe.compose import compose_config
from r1pipe.launcher import AccelerateLauncher, LocalLauncher, build_launcher, one_process_launcher

RUN = Path("/runs/r1-x")
STAGE = RUN / "01_cold_start"
STAGE_ARGS = ["-m", "r1pipe.stage", "--run-dir", str(RUN), "--stage-dir", str(STAGE), "--phase", "train"]


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
    assert LocalLauncher({}).world() == {"processes": 1, "machines": 1}
    assert accelerate(num_processes=16, num_machines=2).world() == {"processes": 16, "machines": 2}


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
            "launcher.accelerate_config=/c.yaml",
            "launcher.main_process_port=29600",
        ]
    )
    built = build_launcher(cfg)
    assert (built.num_processes, built.config_file, built.main_process_port, built.mixed_precision) == (
        2,
        "/c.yaml",
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
    """Stage 3's sampling and every stage's finish step (hand-off check, evaluation) run as one
    local process whatever launcher trains; the training itself gets the launcher's N processes."""
    from r1pipe.registry import STAGES

    cfg = compose_config(["launcher=accelerate", "launcher.num_processes=8", "+launcher.env.X=1"])
    assert type(build_launcher(cfg)) is AccelerateLauncher
    one = one_process_launcher(cfg)
    assert type(one) is LocalLauncher and one.environment()["X"] == "1"
    assert one.command(RUN, STAGE, "finish")[-2:] == ["--phase", "finish"]
    assert [s.name for s in STAGES.values() if s.prepare] == ["rejection_sampling"]
