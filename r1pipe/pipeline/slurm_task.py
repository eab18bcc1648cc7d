"""One Slurm task of a training stage: `srun ... python -m r1pipe.pipeline.slurm_task ACCELERATE_ARGS...`.

srun starts one task per node with the same command line; each must tell `accelerate launch`
its own machine rank, which only the task knows (SLURM_NODEID). This adds `--machine_rank` and
replaces itself with `accelerate launch` (exec: signals from srun reach accelerate directly).
The other arguments (processes, machines, head address and port, the stage) come from
r1pipe/pipeline/launcher.py's SlurmLauncher.
"""

from __future__ import annotations

import os
import sys


def accelerate_argv(args: list[str], environ: dict[str, str]) -> list[str]:
    """The `accelerate launch` command line for this task."""
    node = environ.get("SLURM_NODEID")
    if node is None:
        raise SystemExit("r1pipe.pipeline.slurm_task runs as a task of `srun` (SLURM_NODEID is not set)")
    return [sys.executable, "-m", "accelerate.commands.launch", "--machine_rank", node, *args]


def main() -> None:
    argv = accelerate_argv(sys.argv[1:], dict(os.environ))
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
