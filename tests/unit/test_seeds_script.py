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


def test_distillation_learns_from_the_same_seeds_default_run_and_rl_starts_from_the_student(tmp_path: Path):
    found = dict(seeds.commands([43], ["default", "distill"], tmp_path, []))
    assert list(found) == [tmp_path / f"{name}-s43" for name in ("toy-default", "distill", "student-zero")]
    student = tmp_path / "toy-student"
    assert f"student={student}" in found[tmp_path / "distill-s43"]
    assert f"distill.data={tmp_path / 'toy-default-s43'}" in found[tmp_path / "distill-s43"]
    assert {"pipeline=r1_zero", f"model.name_or_path={student}"} <= set(found[tmp_path / "student-zero-s43"])


def test_the_docs_name_the_run_directories_the_script_writes():
    """Every run a results:seeds or results:kinds block of RESULTS names is one the script makes."""
    import re

    made = {run_dir.name for run_dir, _ in seeds.commands(list(seeds.SEEDS), list(seeds.FINDINGS), ROOT, [])}
    text = (ROOT / "docs" / "RESULTS.md").read_text(encoding="utf-8")
    named = {
        name for names in re.findall(r"<!-- results:(?:seeds|kinds) (\S+)", text) for name in names.split(",")
    }
    assert named <= made, sorted(named - made)


def test_the_student_is_smaller_than_the_base_and_shares_its_tokenizer():
    """The distillation student is built the way the base is (a tiny Qwen2 of SIZES)."""
    from transformers import AutoTokenizer

    from r1pipe.toy.base_model import build_model, toy_base_dir

    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    base, student = (build_model(tokenizer, 0, size) for size in ("base", "student"))
    assert student.num_parameters() < base.num_parameters() / 3
    assert student.config.vocab_size == base.config.vocab_size == len(tokenizer)
    assert student.config.hidden_size // student.config.num_attention_heads == 32, "vLLM's CPU attention"
