"""Shared by every test: one machine cache for the whole session (toy judges built once and copied
by every later stage 4 in the session, as on a user's machine), never the user's own cache."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Under pytest-xdist (`make test` runs two workers on the 2-core machine) each worker and the CLI
# processes it starts compute on one thread: two workers with torch's default of one thread per
# core would ask four threads of two cores, and OpenMP's spinning threads then slow both down.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the workers' shared temp root: one cache for the whole run
    cache = base / "r1pipe-cache"
    cache.mkdir(exist_ok=True)
    previous = os.environ.get("R1PIPE_CACHE")
    os.environ["R1PIPE_CACHE"] = str(cache)  # inherited by every CLI subprocess
    yield cache
    if previous is None:
        os.environ.pop("R1PIPE_CACHE", None)
    else:
        os.environ["R1PIPE_CACHE"] = previous


class ServedJudge:
    """A `r1pipe serve-reward-model` process: its URL while it runs, its output once stopped."""

    def __init__(self, model_dir, batch_size: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "r1pipe.cli", "serve-reward-model", str(model_dir), "--host", "127.0.0.1"]
            + ["--port", "0", "--device", "cpu", "--batch-size", str(batch_size)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = []
        for line in self.process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("serving "):  # "serving DIR at http://HOST:PORT ..."
                break
        if self.process.poll() is not None:
            raise AssertionError("the reward server stopped before serving:\n" + "".join(lines))
        self.url = line.split(" at ", 1)[1].split()[0]
        self.log = ""
        self.stopped = False

    def stop(self) -> str:
        """Terminate the server (once); what it printed after it began serving."""
        if self.stopped:
            return self.log
        self.stopped = True
        if self.process.poll() is None:
            self.process.terminate()
        self.log = self.process.communicate(timeout=30)[0] or ""
        return self.log


@pytest.fixture(scope="session")
def serve_judge():
    """Start `r1pipe serve-reward-model MODEL_DIR` on a free port (CPU): `serve_judge(dir, batch_size)`
    returns a ServedJudge; every server still running is stopped at the end of the session."""
    started: list[ServedJudge] = []

    def start(model_dir, batch_size: int = 4) -> ServedJudge:
        started.append(ServedJudge(model_dir, batch_size))
        return started[-1]

    yield start
    for served in started:
        served.stop()
