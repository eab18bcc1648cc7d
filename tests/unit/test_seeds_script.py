"""scripts/seeds.py: one command and run directory per finding and seed, the seed and the extra
overrides passed to every command (the run itself is the pipeline's, tested elsewhere)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("seeds", ROOT / "scripts" / "seeds.py")
seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seeds)


def test_every_finding_runs_on_every_seed_in_its_own_run_directory(tmp_path: Path):
    found = seeds.commands([42, 43], ["default", "language"], tmp_path, ["eval.num_problems=8"])
    assert [run_dir.name for run_dir, _ in found] == [
        "toy-default-s42",
        "language-reward-s42",
        "no-language-reward-s42",
        "toy-default-s43",
        "language-reward-s43",
        "no-language-reward-s43",
    ]
    for run_dir, overrides in found:
        assert f"run_dir={run_dir}" in overrides and overrides[-1] == "eval.num_problems=8"
        assert f"seed={run_dir.name.rsplit('-s', 1)[1]}" in overrides
    without = dict(found)[tmp_path / "no-language-reward-s43"]
    assert "reward.funcs=[toy_accuracy,r1_format]" in without and "experiment=toy_language_mix" in without


def test_the_docs_name_the_run_directories_the_script_writes():
    """Every run a results:seeds or results:kinds block of RESULTS names is one the script makes."""
    import re

    made = {run_dir.name for run_dir, _ in seeds.commands(list(seeds.SEEDS), list(seeds.FINDINGS), ROOT, [])}
    text = (ROOT / "docs" / "RESULTS.md").read_text(encoding="utf-8")
    named = {
        name for names in re.findall(r"<!-- results:(?:seeds|kinds) (\S+)", text) for name in names.split(",")
    }
    assert named <= made, sorted(named - made)
