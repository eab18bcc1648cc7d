"""A new stage is its module in stages/ and its config group in conf/, nothing else (issue 16).

The test takes the worked example of docs/DEVELOPERS.md ("Adding a stage"), adds its three pieces
to a copy of the installed package (the rest of the package linked, not copied), and drives the
real CLI on that copy: the stage is listed, its bad value is refused before any work, it runs
after no other stage from the toy base, and changing its setting re-runs it alone.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from cli_helpers import QUICK_STEPS
from cli_helpers import r1pipe as run_cli

import r1pipe

pytestmark = pytest.mark.integration

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "DEVELOPERS.md"


def guide_blocks() -> dict[str, str]:
    """The code blocks of the guide's "Adding a stage" section, by the path on their first line."""
    section = GUIDE.read_text().split("## Adding a stage", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:python|yaml)\n(.*?)```", section, re.S)
    return {block.splitlines()[0].removeprefix("# "): block for block in blocks}


def package_with_the_new_stage(root: Path) -> Path:
    """A copy of the installed r1pipe (linked) whose stages/ and conf/ hold the guide's additions."""
    blocks = guide_blocks()
    assert set(blocks) == {"stages/noise.py", "conf/noise/toy.yaml", "conf/config.yaml (defaults)"}
    installed = Path(r1pipe.__file__).parent
    stages = Path(importlib.import_module("r1pipe.stages").__file__).parent
    conf = Path(str(resources.files("r1pipe.conf")))
    package = root / "r1pipe"
    package.mkdir(parents=True)
    for entry in installed.iterdir():
        if entry.name not in ("stages", "conf", "__pycache__"):
            (package / entry.name).symlink_to(entry)
    (package / "stages").mkdir()
    for module in stages.glob("*.py"):
        (package / "stages" / module.name).symlink_to(module)
    (package / "stages" / "noise.py").write_text(blocks["stages/noise.py"])
    shutil.copytree(conf, package / "conf", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "conf" / "noise").mkdir()
    (package / "conf" / "noise" / "toy.yaml").write_text(blocks["conf/noise/toy.yaml"])
    config = package / "conf" / "config.yaml"
    line = blocks["conf/config.yaml (defaults)"].splitlines()[1]
    text = config.read_text()
    assert "  - pipeline:" in text
    config.write_text(text.replace("  - pipeline:", f"{line}\n  - pipeline:", 1))
    return root


def test_a_stage_added_as_a_module_and_a_config_group_lists_validates_runs_and_reruns(tmp_path: Path):
    env = {"PYTHONPATH": str(package_with_the_new_stage(tmp_path / "site"))}
    run_dir = tmp_path / "runs" / "noise"
    stage = ["pipeline.stages=[noise]", *QUICK_STEPS, "eval.num_problems=2"]

    listing = run_cli("list", cwd=tmp_path, env=env).stdout
    assert re.search(r"^  noise +a robustness probe", listing, re.M), listing
    assert "\nnoise: toy\n" in listing

    refused = run_cli("run", f"run_dir={run_dir}", *stage, "noise.std=-1", cwd=tmp_path, env=env, check=False)
    assert refused.returncode == 2, refused.stderr
    assert "noise.std: must be >= 0, got -1.0" in refused.stderr
    assert not run_dir.exists()

    run_cli("run", f"run_dir={run_dir}", *stage, cwd=tmp_path, env=env)
    manifest = json.loads((run_dir / "01_noise" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["metrics"]["noise/std"] == 0.001  # conf/noise/toy.yaml, through the defaults list
    assert (run_dir / "01_noise" / "model" / "config.json").exists()

    unchanged = run_cli("run", f"run_dir={run_dir}", *stage, "--dry-run", cwd=tmp_path, env=env).stdout
    assert re.search(r"noise\s+skip", unchanged), unchanged
    changed = run_cli(
        "run", f"run_dir={run_dir}", *stage, "noise.std=0.002", "--dry-run", cwd=tmp_path, env=env
    )
    assert re.search(r"noise\s+run", changed.stdout) and "noise.std" in changed.stdout, changed.stdout
