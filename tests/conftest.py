"""Shared by every test: one machine cache for the whole session (toy judges built once and copied
by every later stage 4 in the session, as on a user's machine), never the user's own cache."""

from __future__ import annotations

import os

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
