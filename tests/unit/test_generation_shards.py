"""Data-parallel generation (r1pipe/generation/shards.py): which process samples which shard, the
main process's wait for the others' shards (and its end when they stall), and each process's GPU
group. The real processes are in tests/integration/test_rejection_sampling_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1pipe.generation.shards import (
    ShardsStalled,
    Share,
    device_group,
    restrict_visible_devices,
    this_process_share,
    wait_for_shards,
)


def test_every_shard_has_exactly_one_owner():
    world = 3
    owners = [[rank for rank in range(world) if Share(rank, world).owns(shard)] for shard in range(10)]
    assert all(len(o) == 1 for o in owners)
    assert [o[0] for o in owners] == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    assert all(Share().owns(shard) for shard in range(10)), "one process samples everything"


def test_the_share_comes_from_the_launcher_environment():
    assert this_process_share({}) == Share(0, 1)
    assert this_process_share({"RANK": "3", "WORLD_SIZE": "4"}) == Share(3, 4)
    assert not Share(3, 4).is_main and Share(0, 4).is_main
    with pytest.raises(ValueError, match="RANK=4 is outside WORLD_SIZE=4"):
        this_process_share({"RANK": "4", "WORLD_SIZE": "4"})


class FakeTime:
    """A clock that advances only when the wait sleeps; `on_sleep` writes shards as time passes."""

    def __init__(self, on_sleep=None):
        self.now, self.on_sleep = 0.0, on_sleep or (lambda now: None)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.on_sleep(self.now)


def test_the_wait_ends_when_every_shard_is_written(tmp_path: Path):
    paths = [tmp_path / f"shard_{i}.jsonl" for i in range(4)]
    paths[0].write_text("")

    def others_write(now: float) -> None:  # one shard every 50 s: slow, never stalled
        for i in range(1, 4):
            if now >= 50 * i:
                paths[i].write_text("")

    time = FakeTime(others_write)
    wait_for_shards(paths, Share(0, 2), stall_timeout_s=60, poll_s=1, clock=time.clock, sleep=time.sleep)
    assert time.now == 150, "the stall clock restarts at every new shard: 150 s in all is no stall"


def test_a_stalled_wait_names_the_missing_shards_and_their_processes(tmp_path: Path):
    paths = [tmp_path / f"shard_{i}.jsonl" for i in range(5)]
    for i in (0, 2, 4):  # process 0 of 2 wrote its own; process 1 hangs
        paths[i].write_text("")
    time = FakeTime()
    with pytest.raises(ShardsStalled) as raised:
        wait_for_shards(paths, Share(0, 2), stall_timeout_s=30, poll_s=1, clock=time.clock, sleep=time.sleep)
    message = str(raised.value)
    assert "2 shard(s) missing (1, 3)" in message and "process(es) 1 of 2" in message
    assert (
        "rejection.shard_stall_timeout_s" in message and "a rerun samples only the missing shards" in message
    )
    assert 30 < time.now <= 32


@pytest.mark.parametrize(
    ("local_rank", "tp", "group"),
    [(0, 1, ["0"]), (3, 1, ["3"]), (0, 2, ["0", "1"]), (1, 2, ["2", "3"]), (1, 4, ["4", "5", "6", "7"])],
)
def test_each_process_samples_on_its_own_gpu_group(local_rank, tp, group):
    assert device_group(local_rank, tp, [str(i) for i in range(8)]) == group


def test_a_group_beyond_the_visible_gpus_is_refused():
    with pytest.raises(ValueError, match="needs GPUs 4-5 .* but 4 are visible"):
        device_group(2, 2, ["0", "1", "2", "3"])


def test_visible_devices_are_restricted_only_with_several_processes_and_gpus():
    env = {"LOCAL_WORLD_SIZE": "4", "LOCAL_RANK": "1", "CUDA_VISIBLE_DEVICES": "4,5,6,7"}
    assert restrict_visible_devices(1, env) == ["5"] and env["CUDA_VISIBLE_DEVICES"] == "5"
    alone = {"LOCAL_WORLD_SIZE": "1", "CUDA_VISIBLE_DEVICES": "0,1"}
    assert restrict_visible_devices(1, alone) is None and alone["CUDA_VISIBLE_DEVICES"] == "0,1"
    no_gpu = {"LOCAL_WORLD_SIZE": "2", "LOCAL_RANK": "1", "CUDA_VISIBLE_DEVICES": ""}
    assert restrict_visible_devices(1, no_gpu) is None
