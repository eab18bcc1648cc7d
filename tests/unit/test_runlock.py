"""One orchestrator per run directory: a second `r1pipe run` on a directory another live process
holds is refused with the holder named and nothing changed; a dead holder's lock is free."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from r1pipe.pipeline.runlock import LOCK_FILE, RunDirBusy, RunDirLock

HOLD = """
import sys, time
from pathlib import Path
from r1pipe.pipeline.runlock import RunDirLock
lock = RunDirLock(Path(sys.argv[1]))
lock.acquire()
lock.announce()
print("held", flush=True)
time.sleep(600)
"""

pytestmark = pytest.mark.faults


def hold_in_another_process(run_dir: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_holder_is_refused_with_the_first_named(tmp_path: Path):
    holder = hold_in_another_process(tmp_path)
    try:
        with pytest.raises(RunDirBusy, match=rf"in use by another r1pipe \(pid {holder.pid} on .* since "):
            RunDirLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_holder_is_free(tmp_path: Path):
    holder = hold_in_another_process(tmp_path)
    holder.kill()  # SIGKILL: no clean-up ran, the file still names the dead process
    holder.wait()
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == holder.pid
    with RunDirLock(tmp_path) as lock:
        lock.announce()
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] != holder.pid


def test_released_on_exit_from_the_block(tmp_path: Path):
    with RunDirLock(tmp_path):
        pass
    with RunDirLock(tmp_path):  # the same process takes it again
        pass


def test_r1pipe_run_on_a_held_run_dir_stops_before_planning_and_changes_nothing(tmp_path: Path, capsys):
    from r1pipe.cli import main

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "01_cold_start").mkdir()
    holder = hold_in_another_process(run_dir)
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    time.sleep(0.01)
    try:
        code = main(["run", f"run_dir={run_dir}", "experiment=toy_quick"])
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    err = capsys.readouterr().err
    assert f"is in use by another r1pipe (pid {holder.pid}" in err and "r1pipe status" in err
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before


def test_a_run_refused_for_its_run_dir_leaves_no_lock_there(tmp_path: Path):
    # Issue 31, point 5: run_dir=<a stage dir> was refused after the lock was taken, leaving an
    # empty .lock inside a complete stage.
    from r1pipe.pipeline.compose import ConfigError, compose_config
    from r1pipe.pipeline.orchestrator import run_pipeline

    stage = tmp_path / "run" / "01_cold_start"
    stage.mkdir(parents=True)
    (stage / "manifest.json").write_text(json.dumps({"status": "complete"}))
    before = sorted(p.name for p in stage.iterdir())
    with pytest.raises(ConfigError, match="is a stage directory of the run"):
        run_pipeline(compose_config([f"run_dir={stage}"]))
    assert sorted(p.name for p in stage.iterdir()) == before and not (stage / LOCK_FILE).exists()
