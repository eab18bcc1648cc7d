"""Data-parallel generation: every process of a launch samples its own share of the shards.

The prompts are cut into fixed shards (`rejection.shard_size` prompts each), and shard `i` is
always sampled with the seed `seed + i`, whichever process samples it: so 1, 2 or 16 processes
write the same shard files, and a rerun after a crash or a kill samples only the missing ones.
Process `rank` of `world` owns the shards with `i % world == rank`: no process needs to hear
from another to know its work, and a rerun with the same world gives each process what is left
of its own share. Once a process has written its share, the main one waits for the others'
shard files; if none appears for `stall_timeout_s`, a process has hung (or died without the
launcher noticing), and the wait ends with an error that names the missing shards and their
owners instead of waiting forever.

Considered: a torch.distributed barrier (gloo) after sampling. Its timeout is fixed when the
group starts and bounds the whole generation, which may take hours at scale; the file wait's
timeout bounds only the time between two finished shards, and needs no process group (vLLM
starts its own).

On the devices: each process samples with its own engine on its own GPU, or on its group of
`tensor_parallel_size` GPUs (processes = GPUs / tp); `restrict_visible_devices` points the
process at them before anything initialises CUDA.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Set by the orchestrator for each launch of a step, the same in all its processes: the name of
# the folder they share their chunks through, new at every attempt (no chunk of a crashed attempt,
# sampled from another model or with other settings, is ever read).
PHASE_ID = "R1PIPE_PHASE_ID"


def launch_id(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(PHASE_ID, "local")


@dataclass(frozen=True)
class Share:
    """Which process of how many this is, as the launcher (torchrun) says."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def owns(self, shard: int) -> bool:
        return shard % self.world == self.rank


def this_process_share(environ: dict[str, str] | None = None) -> Share:
    """RANK and WORLD_SIZE of a process started by torchrun / accelerate launch; 0 of 1 otherwise."""
    env = os.environ if environ is None else environ
    world = int(env.get("WORLD_SIZE", "1"))
    rank = int(env.get("RANK", "0"))
    if not 0 <= rank < world:
        raise ValueError(
            f"RANK={rank} is outside WORLD_SIZE={world}: the launcher set an impossible process rank"
        )
    return Share(rank, world)


class ShardsStalled(RuntimeError):  # noqa: N818 (named as the user reads it)
    """No process wrote a missing shard within the stall timeout."""


def wait_for_shards(
    paths: Sequence[Path],
    share: Share,
    stall_timeout_s: float,
    poll_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once every shard file exists; ShardsStalled when none of the missing ones appeared
    for `stall_timeout_s` seconds (the clock restarts at each new shard: a long generation is not
    a hung one)."""
    missing = [i for i, path in enumerate(paths) if not path.is_file()]
    last_progress = clock()
    while missing:
        if clock() - last_progress > stall_timeout_s:
            owners = sorted({i % share.world for i in missing})
            raise ShardsStalled(
                f"waited {stall_timeout_s:.0f}s (rejection.shard_stall_timeout_s) without a new shard from the "
                f"other processes: {len(missing)} shard(s) missing ({_listed(missing)}), owned by process(es) "
                f"{', '.join(map(str, owners))} of {share.world}. Look at their log for the cause; "
                "a rerun samples only the missing shards"
            )
        sleep(poll_s)
        still = [i for i in missing if not paths[i].is_file()]
        if len(still) < len(missing):
            last_progress = clock()
            log.info("generation: %d of %d shards written", len(paths) - len(still), len(paths))
        missing = still


def _listed(shards: list[int], shown: int = 8) -> str:
    names = ", ".join(str(i) for i in shards[:shown])
    return names + (f" and {len(shards) - shown} more" if len(shards) > shown else "")


def device_group(local_rank: int, tensor_parallel_size: int, visible: Sequence[str]) -> list[str]:
    """The GPUs (of those visible) that the process of `local_rank` samples on: its own, or its
    group of `tensor_parallel_size` consecutive ones."""
    first = local_rank * tensor_parallel_size
    group = list(visible[first : first + tensor_parallel_size])
    if len(group) < tensor_parallel_size:
        raise ValueError(
            f"generation process {local_rank} needs GPUs {first}-{first + tensor_parallel_size - 1} "
            f"(generation.tensor_parallel_size={tensor_parallel_size}) but {len(visible)} are visible: "
            "start GPUs / tensor_parallel_size generation processes per machine"
        )
    return group


def restrict_visible_devices(
    tensor_parallel_size: int, environ: dict[str, str] | None = None
) -> list[str] | None:
    """Point a data-parallel generation process at its own GPU group (CUDA_VISIBLE_DEVICES) before
    CUDA starts, so that N engines do not all load onto GPU 0; None where there is no GPU or one
    process (nothing to split). Returns the group."""
    env = os.environ if environ is None else environ
    processes_here = int(env.get("LOCAL_WORLD_SIZE", "1"))
    if processes_here <= 1:
        return None
    visible = _visible_gpus(env)
    if not visible:
        return None
    group = device_group(int(env.get("LOCAL_RANK", "0")), tensor_parallel_size, visible)
    env["CUDA_VISIBLE_DEVICES"] = ",".join(group)
    return group


def _visible_gpus(env: dict[str, str] | os._Environ[str]) -> list[str]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES where set, else every GPU the driver
    lists (nvidia-smi's count, read without initialising CUDA here)."""
    if "CUDA_VISIBLE_DEVICES" in env:
        return [d for d in env["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
    try:
        count = len([d for d in os.listdir("/proc/driver/nvidia/gpus") if d])
    except OSError:
        return []
    return [str(i) for i in range(count)]
