"""Shared by every test: one machine cache for the whole session (toy judges built once and copied
by every later stage 4 in the session, as on a user's machine), never the user's own cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("r1pipe-cache")
    previous = os.environ.get("R1PIPE_CACHE")
    os.environ["R1PIPE_CACHE"] = str(cache)  # inherited by every CLI subprocess
    yield cache
    if previous is None:
        os.environ.pop("R1PIPE_CACHE", None)
    else:
        os.environ["R1PIPE_CACHE"] = previous
