"""Each stage process checks the world it joined against the launcher's request before any work,
and the manifest records the topology it really ran with (issue 13, point 3)."""

from __future__ import annotations

import pytest

from r1pipe.run.topology import (
    TopologyMismatch,
    check_setup,
    check_world,
    describe,
    joined_world,
    recorded_topology,
)


@pytest.mark.parametrize(
    ("env", "world"),
    [
        ({}, {"processes": 1, "machines": 1}),  # python -m r1pipe.pipeline.stage_process
        ({"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}, {"processes": 2, "machines": 1}),
        ({"WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8"}, {"processes": 16, "machines": 2}),
        ({"WORLD_SIZE": "4"}, {"processes": 4, "machines": 1}),
        ({"WORLD_SIZE": "junk"}, {"processes": 1, "machines": 1}),
    ],
)
def test_joined_world_from_torchrun_environment(monkeypatch, env, world):
    for name in ("WORLD_SIZE", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert joined_world() == world


def test_a_stage_that_joined_another_world_stops_before_any_work(monkeypatch):
    """Asked for 2 processes, started as 1 (accelerate without --multi_gpu did exactly that)."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    with pytest.raises(
        TopologyMismatch, match=r"1 process\(es\) on 1 machine.*asked for 2 on 1.*launcher.num_processes"
    ):
        check_world({"processes": 2, "machines": 1}, "cold_start")
    assert check_world({"processes": 1, "machines": 1}, "cold_start") == {"processes": 1, "machines": 1}
    assert check_world(None, "cold_start") == {"processes": 1, "machines": 1}  # launch.json of older runs


def test_recorded_topology_of_a_plain_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert recorded_topology()["processes"] == 1


@pytest.mark.parametrize(
    ("topology", "shown"),
    [
        ({}, "-"),
        ({"processes": 1, "machines": 1}, "1"),
        (
            {
                "processes": 2,
                "machines": 1,
                "distributed_type": "MULTI_CPU",
                "backend": "gloo",
                "mixed_precision": "no",
            },
            "2 MULTI_CPU/gloo",
        ),
        (
            {
                "processes": 16,
                "machines": 2,
                "distributed_type": "DEEPSPEED",
                "backend": "nccl",
                "zero_stage": 3,
                "mixed_precision": "bf16",
            },
            "16x2 DEEPSPEED/nccl zero3 bf16",
        ),
    ],
)
def test_describe(topology, shown):
    assert describe(topology) == shown


@pytest.fixture
def accelerator_state():
    """A real Accelerator in this process (one CPU process: no parallelism), reset afterwards."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)  # an earlier test may have made one
    Accelerator(cpu=True, mixed_precision="no")
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_a_setup_other_than_asked_stops_the_stage(accelerator_state):
    """After the trainer set accelerate up: the parallelism and precision the launcher asked for.
    (accelerate silently runs an FSDP config as DDP on CPU; the check is what makes that loud.)"""
    check_setup(
        {"processes": 1, "machines": 1, "parallelism": "single", "mixed_precision": "no"}, "cold_start"
    )
    with pytest.raises(TopologyMismatch, match=r"asked for fsdp.*set up single.*accelerate_config=ddp"):
        check_setup({"parallelism": "fsdp"}, "cold_start")
    with pytest.raises(
        TopologyMismatch, match=r"launcher.mixed_precision=bf16 but the training runs with no"
    ):
        check_setup({"parallelism": "single", "mixed_precision": "bf16"}, "cold_start")
    check_setup(
        {"processes": 1, "machines": 1}, "cold_start"
    )  # launch.json of older runs: nothing to compare
    assert recorded_topology()["parallelism"] == "single"
