"""`r1pipe eval` on the shipped toy base with both generation engines, and on local copies of the
benchmark formats (MATH-500, GPQA, LiveCodeBench): the real CLI, real rewards, real sampling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from statistics import fmean

import pytest

import r1pipe

pytestmark = pytest.mark.integration

TOY_BASE = Path(r1pipe.__file__).parent / "assets" / "toy_base"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "benchmarks"
SMALL = ["eval.num_problems=6", "eval.samples_per_problem=3", "eval.max_new_tokens=40"]
HUB = ("math500", "gpqa_diamond", "livecodebench")  # these carry the paper's k and 32,768 tokens


def r1pipe_eval(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", "eval", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"r1pipe eval failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_heldout(out: Path, engine: str) -> dict:
    """summary.json agrees with the per-problem records it was computed from."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == engine
    result = summary["benchmarks"]["heldout"]
    metrics, rows = result["metrics"], read_rows(out / "heldout.jsonl")
    assert (result["k"], result["problems"], len(rows)) == (3, 6, 6)
    assert result["sampling"] == {
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 40,
        "seed": 0,
        "chunk": 100,
    }
    assert all(len(r["completions"]) == len(r["scores"]) == len(r["lengths"]) == 3 for r in rows)
    assert metrics["pass@1"] == pytest.approx(fmean(r["pass@1"] for r in rows), abs=1e-4)
    assert metrics["pass@3"] == pytest.approx(fmean(r["correct"] > 0 for r in rows), abs=1e-4)
    assert metrics["cons@3"] == pytest.approx(fmean(bool(r["majority_correct"]) for r in rows), abs=1e-4)
    assert metrics["mean_length"] == pytest.approx(fmean(n for r in rows for n in r["lengths"]), abs=0.1)
    assert {"pass@1_se", "pass@1_ci95", "cons@3_se", "language_consistency", "think_format"} <= set(metrics)
    assert all(0 < n <= 40 for r in rows for n in r["lengths"])
    return summary


def test_eval_with_transformers_generation(tmp_path: Path):
    out = tmp_path / "out"
    shown = r1pipe_eval(str(TOY_BASE), *SMALL, "--out", str(out), cwd=tmp_path).stdout
    check_heldout(out, "transformers")
    assert "heldout" in shown and "per-problem results" in shown


def test_eval_on_two_processes_gives_what_one_process_gives(tmp_path: Path):
    """`r1pipe eval ... launcher=accelerate launcher.num_processes=2`: both processes sample their
    chunks of the benchmark (2 problems each, seeded by where they start) and the main one scores:
    the same completions and figures as one process, one decoding thread each."""
    same = [*SMALL, "eval.shard_size=2", "generation.cpu_decode_threads=1"]
    one, two = tmp_path / "one", tmp_path / "two"
    r1pipe_eval(str(TOY_BASE), *same, "--out", str(one), cwd=tmp_path)
    shown = r1pipe_eval(
        str(TOY_BASE),
        *same,
        "launcher=accelerate",
        "launcher.num_processes=2",
        "launcher.mixed_precision=no",
        "--out",
        str(two),
        cwd=tmp_path,
    ).stdout
    assert "heldout" in shown
    assert read_rows(two / "heldout.jsonl") == read_rows(one / "heldout.jsonl")
    figures = lambda out: {  # noqa: E731
        k: v
        for k, v in json.loads((out / "summary.json").read_text())["benchmarks"]["heldout"]["metrics"].items()
        if k != "seconds"
    }
    assert figures(two) == figures(one)
    assert json.loads((two / "summary.json").read_text())["processes"] == 2
    assert not (two / "chunks").exists()


@pytest.mark.vllm
@pytest.mark.slow  # make test-all; vLLM generation itself: unit/test_generation.py, stage 3's vLLM test
def test_eval_with_vllm_generation(tmp_path: Path):
    pytest.importorskip("vllm")
    out = tmp_path / "out"
    r1pipe_eval(
        str(TOY_BASE),
        *SMALL,
        "generation=vllm",
        "generation.enforce_eager=true",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    check_heldout(out, "vllm")


def test_eval_reads_each_benchmark_format_from_local_files(tmp_path: Path):
    out = tmp_path / "out"
    r1pipe_eval(
        str(TOY_BASE),
        "eval.benchmarks=[math500,gpqa_diamond,livecodebench]",
        f"eval.suite.math500.path={FIXTURES / 'math500.jsonl'}",
        f"eval.suite.gpqa_diamond.path={FIXTURES / 'gpqa_diamond.csv'}",
        f"eval.suite.livecodebench.path={FIXTURES / 'livecodebench.jsonl'}",
        *(f"eval.suite.{b}.{key}" for b in HUB for key in ("samples_per_problem=2", "max_new_tokens=24")),
        "--out",
        str(out),
        cwd=tmp_path,
    )
    summary = json.loads((out / "summary.json").read_text())["benchmarks"]
    assert all(s["sampling"]["max_tokens"] == 24 for s in summary.values())
    assert {name: (s["problems"], s["k"], s["reward"]) for name, s in summary.items()} == {
        "math500": (3, 2, "math_accuracy"),
        "gpqa_diamond": (2, 2, "choice_accuracy"),
        "livecodebench": (2, 2, "code_accuracy"),
    }
    assert "cons@2" in summary["math500"]["metrics"] and "cons@2" not in summary["livecodebench"]["metrics"]
    gpqa = read_rows(out / "gpqa_diamond.jsonl")
    assert gpqa[0]["answer"] in "ABCD" and "A) " in gpqa[0]["prompt"]
    code = read_rows(out / "livecodebench.jsonl")
    assert all(
        s is not None for r in code for s in r["scores"]
    )  # every sample judged (the base writes no program: 0)


@pytest.mark.faults
def test_a_prompt_too_long_for_the_model_is_refused_or_dropped_as_configured(tmp_path: Path):
    """A held-out set with one prompt longer than the toy's 512 positions: refused by default
    (exit 2, the count, the row and the fix), left out with data.long_prompts=drop."""
    heldout = tmp_path / "heldout.jsonl"
    rows = [
        {"prompt": "What is 2 + 3?", "answer": "5"},
        {"prompt": "seven " * 900 + "What is 1 + 1?", "answer": "2"},
    ]
    heldout.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = [
        str(TOY_BASE),
        f"data.heldout.path={heldout}",
        "eval.samples_per_problem=1",
        "eval.max_new_tokens=16",
    ]
    refused = subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", "eval", *args, "--out", str(tmp_path / "a")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode == 2, refused.stderr
    assert "eval benchmark heldout: 1 of 2 prompts are longer than 496 tokens" in refused.stderr
    assert "row 1" in refused.stderr and "data.long_prompts=drop" in refused.stderr
    r1pipe_eval(*args, "data.long_prompts=drop", "--out", str(tmp_path / "b"), cwd=tmp_path)
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["benchmarks"]["heldout"]["problems"] == 1
