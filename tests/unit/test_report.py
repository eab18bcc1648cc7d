"""`r1pipe report`: synthetic run directories (finished, partial, legacy eval, two runs) go in;
a self-contained page and real, non-blank PNGs come out, and each figure holds the series the
run logged."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.container import BarContainer
from PIL import Image

from r1pipe.report import ReportError, plots, write_report
from r1pipe.report.collect import collect_run, read_evals, reward_components, series
from r1pipe.report.markdown import (
    headline,
    kinds_table,
    reflection_table,
    refresh_blocks,
    seeds_headline,
    seeds_table,
    stage_table,
    trend_table,
    versus_table,
)
from r1pipe.run.rundir import write_manifest

STAGES = ("cold_start", "reasoning_rl", "rejection_sampling", "all_scenario_rl")
PNGS = (
    "loss.png",
    "rl_rewards.png",
    "rl_mismatch.png",
    "rl_accuracy.png",
    "rl_length.png",
    "rl_reflection.png",
    "eval_pass1.png",
    "eval_language.png",
    "funnel.png",
)
FUNNEL = [
    {"step": "prompts", "total": 200, "by_language": {"en": 100, "zh": 100}},
    {"step": "generated", "total": 800, "dropped": {}},
    {"step": "correct", "total": 500, "dropped": {"incorrect (rules)": 300}},
    {"step": "sft_set", "total": 180, "by_source": {"rejection_sampling": 150, "non_reasoning": 30}},
]


# ---- synthetic run directories ----------------------------------------------------------------


def _sft_log(stage: str, steps: int, start: float) -> list[dict]:
    rows = [
        {"stage": stage, "step": s, "max_steps": steps, "loss": start / s, "epoch": s / steps}
        for s in range(1, steps + 1)
    ]
    return [
        *rows,
        {"stage": stage, "step": steps, "max_steps": steps, "train_loss": 0.5, "train_runtime": 9.0},
    ]


def _rl_log(stage: str, steps: int, routed: bool = False) -> list[dict]:
    rows = []
    for s in range(1, steps + 1):
        acc = 0.3 + 0.05 * s
        row = {"stage": stage, "step": s, "max_steps": steps, "reward": 1.5 + acc, "kl": 0.01 * s}
        row |= {"completions/mean_length": 80.0 + 2 * s, "rewards/reflective_words/mean": 0.1 * s}
        row |= {"rewards/sample_logger/mean": 0.0, "rewards/sample_logger/std": 0.0}
        row |= {"clip_ratio/region_mean": 0.01 * s}
        if not routed:  # stage 2 with vLLM rollouts: the probe and TRL's rollout gap and ratio
            row |= {"vllm/sync_logprob_max_diff": 2e-6 * s, "sampling/sampling_logp_difference/mean": 1e-6}
            row |= {"sampling/importance_sampling_ratio/mean": 1.0}
        if routed:  # stage 4: one routed TRL column, its components under reward/
            row |= {
                "rewards/routed/mean": 1.5 + acc,
                "reward/toy_accuracy/mean": acc,
                "reward/helpful/mean": 0.2,
            }
        else:
            row |= {"rewards/toy_accuracy/mean": acc, "rewards/toy_accuracy/std": 0.4}
            row |= {"rewards/r1_format/mean": 1.0, "rewards/language_consistency/mean": 0.5}
        rows.append(row)
    return [*rows, {"stage": stage, "step": steps, "train_loss": 0.0, "train_runtime": 5.0}]


def _result(pass1: float, legacy: bool, se: float = 0.02) -> dict:
    metrics = {"pass@1": pass1, "language_consistency": 0.9 + pass1 / 10, "mean_length": 90.0}
    if legacy:
        return {"metrics": metrics, "examples": []}
    metrics |= {"pass@1_se": se, "pass@1_ci95": [pass1 - 2 * se, pass1 + 2 * se]}
    return {
        "heldout": {"benchmark": "heldout", "k": 4, "problems": 200, "metrics": metrics, "examples": []},
        "math": {
            "benchmark": "math",
            "k": 4,
            "problems": 50,
            "metrics": {"pass@1": pass1 / 2},
            "examples": [],
        },
    }


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_run(root: Path, done: int = 4, running: bool = False, legacy: bool = False) -> Path:
    """A run of the four R1 stages: the first `done` finished, the next one running if asked."""
    root.mkdir(parents=True)
    plan = [{"name": s, "index": i, "dir": f"{i:02d}_{s}"} for i, s in enumerate(STAGES, 1)]
    (root / "plan.json").write_text(json.dumps({"stages": plan}), encoding="utf-8")
    for i, entry in enumerate(plan):
        if i > done or (i == done and not running):
            break
        stage, stage_dir = entry["name"], root / entry["dir"]
        stage_dir.mkdir()
        (stage_dir / "launch.json").write_text(json.dumps(entry), encoding="utf-8")
        rl = stage.endswith("_rl")
        _write_jsonl(
            stage_dir / "metrics.jsonl",
            _rl_log(stage, 6, routed=i == 3) if rl else _sft_log(stage, 8, 4.0 - i),
        )
        if rl:
            _write_jsonl(
                stage_dir / "samples.jsonl",
                [{"step": s, "completion": f"<think>{s}</think> \\boxed{{4}}"} for s in range(3)],
            )
        if i == done:  # running: a log, no eval and no manifest yet
            continue
        evals = {"before": _result(0.2 + 0.1 * i, legacy), "after": _result(0.3 + 0.1 * i, legacy)}
        (stage_dir / "eval.json").write_text(json.dumps(evals), encoding="utf-8")
        if stage == "rejection_sampling":
            (stage_dir / "funnel.json").write_text(json.dumps({"funnel": FUNNEL}), encoding="utf-8")
        (stage_dir / "model").mkdir(exist_ok=True)  # a complete stage's output exists (else: damaged)
        write_manifest(
            stage_dir,
            stage=stage,
            status="complete",
            fingerprint=f"fp{i}",
            inputs={},
            outputs={"model": str(stage_dir / "model")},
            metrics={"eval/after/pass@1": 0.3 + 0.1 * i, "train/final_step": 8},
            versions={},
            wall_time_s=12.0 + i,
        )
    return root


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("report") / "finished")


@pytest.fixture(scope="module")
def finished_report(finished: Path) -> Path:
    return write_report([finished])


def _labels(fig, panel: int = 0) -> list[str]:
    return fig.axes[panel].get_legend_handles_labels()[1]


def _bars(fig, panel: int = 0) -> list:
    containers = fig.axes[panel].containers
    return [b for c in containers if isinstance(c, BarContainer) for b in c.patches]


def assert_real_png(path: Path) -> None:
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
        assert width > 300 and height > 200, (path.name, img.size)
        rgb = img.convert("RGB")
    colors = rgb.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 20, f"{path.name}: only {colors and len(colors)} colours"
    non_white = sum(n for n, c in colors if sum(c) < 3 * 240)
    assert non_white / (width * height) > 0.02, f"{path.name} is almost blank"


# ---- a finished run ---------------------------------------------------------------------------


def test_finished_run_writes_the_page_and_every_png(finished: Path, finished_report: Path) -> None:
    assert finished_report == finished / "report" / "index.html"
    for name in PNGS:
        assert_real_png(finished_report.parent / name)
    page = finished_report.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == len(PNGS)
    assert "no data yet" not in page
    # self-contained: nothing fetched, nothing executed
    for outside in ("<script", "<link", 'src="http', "url("):
        assert outside not in page


def test_finished_run_table_has_every_stage(finished_report: Path) -> None:
    page = finished_report.read_text(encoding="utf-8")
    for i, stage in enumerate(STAGES, 1):
        assert f"{i:02d}_{stage}" in page
    assert page.count(">complete</td>") == 4
    assert "heldout pass@1: 0.200 ± 0.020 → 0.300 ± 0.020" in page
    assert "01_cold_start/model" in page  # outputs, relative to the run


def test_loss_figure_has_one_panel_per_sft_stage(finished: Path) -> None:
    fig = plots.loss_figure([collect_run(finished)])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["cold_start", "rejection_sampling"]
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == list(range(1, 9))  # the final summary line has no loss


def test_rewards_figure_plots_every_component_but_the_watchers(finished: Path) -> None:
    fig = plots.rewards_figure([collect_run(finished)])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["reasoning_rl", "all_scenario_rl"]
    assert sorted(_labels(fig, 0)) == ["language_consistency", "r1_format", "total", "toy_accuracy"]
    assert sorted(_labels(fig, 1)) == ["helpful", "routed", "total", "toy_accuracy"]


@pytest.mark.parametrize(
    "build, labels",
    [
        (plots.accuracy_figure, ["toy_accuracy"]),
        (plots.length_figure, ["mean length"]),
        (plots.reflection_figure, ["reflective words"]),
    ],
)
def test_rl_figures_have_a_panel_per_rl_stage(finished: Path, build, labels: list[str]) -> None:
    fig = build([collect_run(finished)])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    assert _labels(fig, 0) == labels and _labels(fig, 1) == labels
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 6


def test_the_mismatch_figure_shows_the_probe_the_ratio_and_clipping_beside_the_rewards(
    finished: Path,
) -> None:
    """vLLM rollouts (stage 2 here) log the sync probe's gap, the rollouts' gap and importance
    ratio; transformers rollouts (stage 4) only the clipped share; on a symlog axis together."""
    fig = plots.mismatch_figure([collect_run(finished)])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["reasoning_rl", "all_scenario_rl"]
    assert sorted(_labels(fig, 0)) == sorted(plots.MISMATCH_KEYS)
    assert _labels(fig, 1) == ["clipped share"]
    assert fig.axes[0].get_yscale() == "symlog"
    names = [name for name, _, _ in plots.FIGURES]
    assert names.index("rl_mismatch.png") == names.index("rl_rewards.png") + 1  # beside the rewards


def test_the_difficulty_histogram_shows_pass_counts_with_the_kept_band(tmp_path: Path) -> None:
    """A stage with difficulty.json gets a panel of prompts by samples solved, the band's bars in
    colour; a run without the filter has no such section on its page (not "no data yet")."""
    run = make_run(tmp_path / "run")
    report = {"samples_per_prompt": 4, "band": [0.25, 0.75], "candidates": 60, "kept": 21}
    report["solved_histogram"] = [30, 9, 7, 5, 9]
    (run / "02_reasoning_rl" / "difficulty.json").write_text(json.dumps(report))
    fig = plots.difficulty_figure([collect_run(run)])
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert ax.get_title() == "reasoning_rl: 21 of 60 kept"
    bars = ax.containers[0]
    assert [b.get_height() for b in bars] == [30, 9, 7, 5, 9]
    from matplotlib.colors import to_rgba

    kept = [to_rgba(b.get_facecolor()) != to_rgba("lightgray") for b in bars]
    assert kept == [False, True, True, True, False]
    page = write_report([run]).read_text(encoding="utf-8")
    assert 'id="difficulty"' in page
    (run / "02_reasoning_rl" / "difficulty.json").write_text("{torn")
    assert plots.difficulty_figure([collect_run(run)]) is None
    assert 'id="difficulty"' not in write_report([run]).read_text(encoding="utf-8")


def test_pass1_bars_show_base_then_every_stage_with_standard_errors(finished: Path) -> None:
    fig = plots.pass1_figure([collect_run(finished)])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["heldout", "math"]
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["base", *STAGES]
    heights = [round(b.get_height(), 3) for b in _bars(fig)]
    assert heights == [0.2, 0.3, 0.4, 0.5, 0.6]
    error_bars = [c for c in fig.axes[0].containers if getattr(c, "has_yerr", False)]
    assert error_bars  # heldout reports pass@1_se
    assert all(not getattr(c, "has_yerr", False) for c in fig.axes[1].containers)  # math does not


def test_funnel_figure_has_a_bar_per_step(finished: Path) -> None:
    fig = plots.funnel_figure([collect_run(finished)])
    assert [round(b.get_height()) for b in _bars(fig)] == [s["total"] for s in FUNNEL]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [s["step"] for s in FUNNEL]


# ---- partial, legacy, comparison, errors ------------------------------------------------------


def test_partial_run_reports_what_exists(tmp_path: Path) -> None:
    run = make_run(tmp_path / "partial", done=1, running=True)
    stale = run / "report" / "funnel.png"
    stale.parent.mkdir()
    stale.write_bytes(b"from an earlier report")
    page_path = write_report([run])
    page = page_path.read_text(encoding="utf-8")
    assert ">complete</td>" in page and ">running/interrupted</td>" in page
    assert page.count(">not started</td>") == 2
    assert page.count("no data yet") == 1  # the funnel: stage 3 has not started
    assert not stale.exists()
    for name in ("loss.png", "rl_rewards.png", "eval_pass1.png"):
        assert_real_png(page_path.parent / name)
    fig = plots.rewards_figure([collect_run(run)])
    assert [ax.get_title() for ax in fig.axes] == ["reasoning_rl"]
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 6


def test_legacy_eval_json_is_the_heldout_benchmark(tmp_path: Path) -> None:
    run = make_run(tmp_path / "legacy", done=2, legacy=True)
    fig = plots.pass1_figure([collect_run(run)])
    assert [ax.get_title() for ax in fig.axes] == ["heldout"]
    assert [round(b.get_height(), 3) for b in _bars(fig)] == [0.2, 0.3, 0.4]
    assert not any(getattr(c, "has_yerr", False) for c in fig.axes[0].containers)  # no SE in legacy
    page = write_report([run]).read_text(encoding="utf-8")
    assert "heldout pass@1: 0.200 → 0.300" in page


def test_comparison_shows_both_runs_in_every_figure(tmp_path: Path) -> None:
    run_a = make_run(tmp_path / "run_a")
    run_b = make_run(tmp_path / "run_b", done=2, legacy=True)
    runs = [collect_run(run_a), collect_run(run_b)]
    for build in (plots.loss_figure, plots.rewards_figure, plots.accuracy_figure, plots.reflection_figure):
        labels = _labels(build(runs), 0)
        assert any(lb.startswith("run_a") for lb in labels) and any(lb.startswith("run_b") for lb in labels)
    pass1 = plots.pass1_figure(runs)
    assert _labels(pass1, 0) == ["run_a", "run_b"]
    assert len(_bars(pass1)) == 5 + 3  # run_b stopped after stage 2
    assert _labels(plots.funnel_figure(runs)) == ["run_a"]  # run_b has no funnel yet
    page_path = write_report([run_a, run_b])
    assert page_path == run_a / "report" / "compare_run_b" / "index.html"
    page = page_path.read_text(encoding="utf-8")
    assert "<th>run</th>" in page and page.count("<td>run_b</td>") == 4
    for name in PNGS:
        assert_real_png(page_path.parent / name)


def test_out_dir_wins(tmp_path: Path, finished: Path) -> None:
    path = write_report([finished], out_dir=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "index.html" and (tmp_path / "elsewhere" / "loss.png").exists()


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_not_a_run_dir_is_a_user_error(tmp_path: Path, make) -> None:
    with pytest.raises(ReportError, match=r"not an r1pipe run directory \(no plan.json.*r1pipe run"):
        write_report([make(tmp_path)])


def test_more_than_two_runs_is_a_user_error(finished: Path) -> None:
    with pytest.raises(ReportError, match="one run directory or two"):
        write_report([finished] * 3)


def test_text_from_the_run_is_escaped(tmp_path: Path) -> None:
    run = make_run(tmp_path / "escape", done=2)
    _write_jsonl(
        run / "02_reasoning_rl" / "samples.jsonl",
        [{"step": 5, "completion": "<script>alert(1)</script>" + "x" * 3000}],
    )
    page = write_report([run]).read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "x" * 3000 not in page and "[...]" in page


# ---- reading the files ------------------------------------------------------------------------


def test_series_skips_rows_without_the_key_and_keeps_the_last_of_a_replayed_step() -> None:
    rows = [
        {"step": 1, "loss": 3.0},
        {"step": 2, "loss": 2.0},
        {"step": 2, "loss": 1.5},
        {"step": 3, "train_loss": 1.0},
    ]
    rows += [{"step": 4, "loss": math.nan}, {"step": 5, "loss": True}]
    assert series(rows, "loss") == ([1, 2], [3.0, 1.5])


def test_reward_components() -> None:
    rows = [
        {"rewards/a_accuracy/mean": 1, "rewards/a_accuracy/std": 0, "rewards/sample_logger/mean": 0},
        {"rewards/reflective_words/mean": 2, "reward/b/mean": 1, "reward/b/errors": 0, "rewards/b/mean": 1},
    ]
    assert reward_components(rows) == {"a_accuracy": "rewards/a_accuracy/mean", "b": "rewards/b/mean"}


@pytest.mark.parametrize(
    "files, expected",
    [
        (
            {"eval.json": {"before": {"metrics": {"pass@1": 0.1}}, "after": {"metrics": {"pass@1": 0.2}}}},
            {"before": {"heldout": {"pass@1": 0.1}}, "after": {"heldout": {"pass@1": 0.2}}},
        ),
        (
            {
                "eval.json": {
                    "before": {"gsm": {"metrics": {"pass@1": 0.1}}},
                    "after": {"gsm": {"metrics": {"pass@1": 0.3}}},
                }
            },
            {"before": {"gsm": {"pass@1": 0.1}}, "after": {"gsm": {"pass@1": 0.3}}},
        ),
        # a running stage: only its before-eval exists so far
        (
            {"eval_before.json": {"metrics": {"pass@1": 0.1}, "examples": []}},
            {"before": {"heldout": {"pass@1": 0.1}}},
        ),
        ({}, {}),
    ],
)
def test_read_evals(tmp_path: Path, files: dict, expected: dict) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    assert read_evals(tmp_path) == expected


def test_torn_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "eval.json").write_text('{"before": {"metr', encoding="utf-8")
    assert read_evals(tmp_path) == {}


def test_two_runs_with_the_same_name_are_told_apart_by_their_parent(tmp_path: Path) -> None:
    run_a, run_b = make_run(tmp_path / "a" / "x"), make_run(tmp_path / "b" / "x", done=2)
    page_path = write_report([run_a, run_b])
    assert page_path == run_a / "report" / "compare_b_x" / "index.html"
    page = page_path.read_text(encoding="utf-8")
    assert "<td>a/x</td>" in page and "<td>b/x</td>" in page


# ---- docs/RESULTS.md blocks (scripts/results.py) ------------------------------------------------


def test_the_stage_table_holds_what_the_run_wrote(finished: Path):
    table = stage_table(collect_run(finished)).splitlines()
    assert table[0].startswith("| stage | pass@1 before | pass@1 after (SE) [95% CI]")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    assert list(rows) == [f"{i:02d}_{s}" for i, s in enumerate(STAGES, 1)]
    # _result(0.3 + 0.1 * i) after stage i (0-based), with SE 0.02 and CI +- 0.04
    assert "| 0.300 | 0.400 (0.020) [0.360, 0.440] |" in rows["02_reasoning_rl"]
    assert "| 8 |" in rows["01_cold_start"], "the final logged step"


def test_the_trend_table_gives_the_first_and_last_steps_with_their_spread(finished: Path):
    # _rl_log: accuracy 0.3 + 0.05 s, length 80 + 2 s, reflective words 0.1 s over steps 1-6
    table = trend_table(collect_run(finished), "reasoning_rl", window=3)
    assert "| accuracy reward | 0.400 ± 0.050 | 0.550 ± 0.050 |" in table
    assert "| mean response length (tokens) | 84.000 ± 2.000 | 90.000 ± 2.000 |" in table
    assert "| reflective words per completion | 0.200 ± 0.100 | 0.500 ± 0.100 |" in table
    assert "steps 1-3 and 4-6 of 02_reasoning_rl" in table
    with pytest.raises(ValueError, match="fewer than 8 RL steps"):
        trend_table(collect_run(finished), "reasoning_rl", window=4)
    with pytest.raises(ValueError, match="no stage 'grpo'; its stages: cold_start"):
        trend_table(collect_run(finished), "grpo")


def test_the_reflection_table_says_how_often_each_model_reflects_and_is_right(tmp_path: Path):
    """From the evaluation records: stage 1's input, then each stage's output (a later stage's
    input is the same model); a reflective word counts as the RL curve counts it."""
    run = make_run(tmp_path / "run", done=2)

    def records(path: Path, graded: list[tuple[str, float]]) -> None:
        path.mkdir(parents=True, exist_ok=True)
        rows = [{"completions": [text], "scores": [score]} for text, score in graded]
        _write_jsonl(path / "heldout.jsonl", rows)

    direct, checked = "<think>1 + 2 = 4</think>", "<think>1 + 2 = 4. Wait, 1 + 2 = 3.</think>"
    records(run / "01_cold_start" / "eval" / "before", [(direct, 0.0)] * 4)
    records(
        run / "01_cold_start" / "eval" / "after",
        [(direct, 0.0), (direct, 1.0), (checked, 1.0), (checked, 1.0)],
    )
    records(run / "02_reasoning_rl" / "eval" / "before", [(direct, 1.0)] * 4)  # = stage 1's output
    records(run / "02_reasoning_rl" / "eval" / "after", [("等等，重新算。", 1.0)] * 4)
    table = reflection_table(collect_run(run))
    assert table.splitlines()[2:] == [
        "| 01_cold_start input | 4 | 0.000 | - | 0.000 (4) |",
        "| 01_cold_start output | 4 | 0.500 | 1.000 (2) | 0.500 (2) |",
        "| 02_reasoning_rl output | 4 | 1.000 | 1.000 (4) | - |",
    ]
    with pytest.raises(ValueError, match="no stage kept its heldout.jsonl"):
        reflection_table(collect_run(make_run(tmp_path / "bare", done=1)))


def test_the_headline_gives_the_base_then_every_stage(finished: Path):
    # _result(0.3 + 0.1 * i) after stage i; before the first stage 0.2 (make_run)
    line = headline(collect_run(finished))
    assert line.startswith("heldout pass@1 ")
    chain = line.removeprefix("heldout pass@1 ").split(" -> ")
    assert chain[1:] == [f"{0.3 + 0.1 * i:.3f} ({s})" for i, s in enumerate(STAGES)][:-1] + [
        f"{0.3 + 0.1 * (len(STAGES) - 1):.3f} ({STAGES[-1]}), SE 0.020"
    ]
    with pytest.raises(ValueError, match="no stage evaluated 'general'"):
        headline(collect_run(finished), "general")


def test_the_seeds_table_gives_each_model_per_seed_with_mean_sd_and_each_change_in_se(tmp_path: Path):
    runs = [collect_run(make_run(tmp_path / f"s{seed}")) for seed in (1, 2)]
    # a second seed whose last stage did worse: 0.5 after stage 4 instead of 0.6 (SE 0.02 both)
    eval_json = runs[1].path / "04_all_scenario_rl" / "eval.json"
    evals = json.loads(eval_json.read_text())
    evals["after"]["heldout"]["metrics"] |= {"pass@1": 0.5}
    eval_json.write_text(json.dumps(evals))
    runs[1] = collect_run(runs[1].path)
    table = seeds_table(runs).splitlines()
    assert table[0] == "| model | s1 | s2 | mean ± sd |"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    assert rows["base"] == "| base | 0.200 (0.020) | 0.200 (0.020) | 0.200 ± 0.000 |"
    assert rows["all_scenario_rl"] == "| all_scenario_rl | 0.600 (0.020) | 0.500 (0.020) | 0.550 ± 0.071 |"
    # stage 4's input is 0.5 (SE 0.02): +0.1 is +3.5 SE of the change, 0.0 is +0.0
    assert rows["change by all_scenario_rl (in SE)"].startswith(
        "| change by all_scenario_rl (in SE) | +0.100 (+3.5) | +0.000 (+0.0) |"
    )
    consistency = {
        line.split(" | ")[0].lstrip("| "): line
        for line in seeds_table(runs, "heldout", "language_consistency").splitlines()[2:]
    }
    assert consistency["all_scenario_rl"] == "| all_scenario_rl | 0.960 | 0.960 | 0.960 ± 0.000 |"
    assert consistency["change by all_scenario_rl"] == "| change by all_scenario_rl | +0.010 | +0.010 | |"
    line = seeds_headline(runs)
    assert line.startswith("heldout pass@1 (mean ± sd over 2 seeds) 0.200 ± 0.000 (base) -> ")
    assert line.endswith(
        "-> 0.550 ± 0.071 (all_scenario_rl); all_scenario_rl's change per seed, in SE: +3.5, +0.0"
    )


def test_the_kinds_table_shows_each_kind_and_language_from_stage_three_to_four(tmp_path: Path):
    """A judge that is gamed shows here: a kind that falls while the benchmark rises."""
    run = make_run(tmp_path / "run")

    def records(stage_dir: str, passes: dict[tuple[str, str], list[float]], consistency: float) -> None:
        rows = []
        for (kind, language), values in passes.items():
            prompt = "说你好。" if language == "zh" else "Say hello."
            for i, value in enumerate(values):
                rows.append(
                    {"id": f"toy-general-heldout-{i}-{kind}", "prompt": prompt, "pass@1": value}
                    | {"language_consistency": [consistency] * 4}
                )
        path = run / stage_dir / "eval" / "after"
        path.mkdir(parents=True, exist_ok=True)
        _write_jsonl(path / "general.jsonl", rows)

    records("03_rejection_sampling", {("greeting", "en"): [0.0, 0.5], ("colour", "zh"): [1.0, 1.0]}, 1.0)
    records("04_all_scenario_rl", {("greeting", "en"): [1.0, 1.0], ("colour", "zh"): [0.0, 0.5]}, 0.5)
    table = kinds_table([collect_run(run)]).splitlines()
    assert table[2:] == [
        "| colour | zh | 1.00 -> 0.25 (-3.0) |",
        "| greeting | en | 0.25 -> 1.00 (+3.0) |",
        "| language consistency | all | 1.00 -> 0.50 |",
    ]
    with pytest.raises(ValueError, match="no evaluation records"):
        kinds_table([collect_run(make_run(tmp_path / "bare"))])


def test_results_blocks_are_regenerated_and_blocks_of_missing_runs_left_alone(finished: Path, tmp_path: Path):
    doc = tmp_path / "docs" / "RESULTS.md"
    doc.parent.mkdir()
    text = (
        "Hand-written prose stays.\n\n"
        "<!-- results:stages finished -->\nan old table\n<!-- /results -->\n\n"
        "<!-- results:trend finished reasoning_rl -->\nold\n<!-- /results -->\n\n"
        "<!-- results:figure finished rl_reflection.png -->\nold\n<!-- /results -->\n\n"
        "<!-- results:stages not-run-yet -->\nkept as it was\n<!-- /results -->\n"
    )
    out = refresh_blocks(text, finished.parent, doc.parent / "figures", doc.parent)
    assert out.text.startswith("Hand-written prose stays.")
    assert "an old table" not in out.text and "| 01_cold_start |" in out.text
    assert "| reflective words per completion |" in out.text
    assert "![Reflective words (the aha moment)](figures/finished_rl_reflection.png)" in out.text
    assert Image.open(doc.parent / "figures" / "finished_rl_reflection.png").size[0] > 100
    assert "kept as it was" in out.text and out.missing == [str(finished.parent / "not-run-yet")]
    assert len(out.written) == 3
    again = refresh_blocks(out.text, finished.parent, doc.parent / "figures", doc.parent)
    assert again.text == out.text, "regenerating is stable"


def test_a_bad_results_block_names_the_fix(finished: Path, tmp_path: Path):
    for block, fix in (
        (
            "<!-- results:table finished -->",
            "use stages, trend, reflection, headline, headline-seeds, seeds, kinds, versus or figure",
        ),
        ("<!-- results:figure finished nope.png -->", "loss.png"),
        ("<!-- results:trend finished -->", "names its stage"),
    ):
        with pytest.raises(ValueError, match=fix):
            refresh_blocks(f"{block}\n<!-- /results -->", finished.parent, tmp_path, tmp_path)


def test_the_results_script_writes_the_doc_and_check_says_whether_it_is_current(
    finished: Path, tmp_path: Path
):
    script = Path(__file__).parents[2] / "scripts" / "results.py"
    doc = tmp_path / "RESULTS.md"
    doc.write_text(
        "<!-- results:stages finished -->\nold\n<!-- /results -->\n"
        "<!-- results:figure finished eval_pass1.png -->\nold\n<!-- /results -->\n"
    )

    def results(*args: str) -> int:
        command = [sys.executable, str(script), str(doc), "--runs", str(finished.parent), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300).returncode

    assert results("--check") == 1, "out of date"
    assert results() == 0 and "| 01_cold_start |" in doc.read_text()
    assert (tmp_path / "figures" / "finished_eval_pass1.png").is_file()
    assert results("--check") == 0, "current: the figure's link is the same from a scratch copy"
    readme = tmp_path / "README.md"
    readme.write_text("Figures: <!-- results:headline finished -->\nold\n<!-- /results -->\n")
    assert results(str(readme), "--check") == 1, "each doc named is checked"
    assert results(str(readme)) == 0 and "heldout pass@1 0.200 (base) -> 0.300" in readme.read_text()
    assert results(str(readme), "--check") == 0


def test_the_versus_table_pairs_two_ways_to_a_model_seed_by_seed(tmp_path: Path):
    """Distillation against RL on the same student: each pair's final pass@1 (SE), the training
    (steps, seconds of the train step), the difference in SE; then means ± sd. A block whose
    second list of runs is missing is left as it was."""
    for name in ("distill-s1", "distill-s2", "zero-s1", "zero-s2"):
        make_run(tmp_path / name)
        (tmp_path / name / "04_all_scenario_rl" / "trained.json").write_text(
            json.dumps({"metrics": {"train/final_step": 100 if "zero" in name else 40}, "wall_time_s": 61.4})
        )
    evals = tmp_path / "zero-s2" / "04_all_scenario_rl" / "eval.json"
    data = json.loads(evals.read_text())
    data["after"]["heldout"]["metrics"]["pass@1"] = 0.4
    evals.write_text(json.dumps(data))
    distill = [collect_run(tmp_path / n) for n in ("distill-s1", "distill-s2")]
    zero = [collect_run(tmp_path / n) for n in ("zero-s1", "zero-s2")]
    rows = versus_table(distill, zero).splitlines()
    assert rows[0].startswith("| pair | distill pass@1 (SE) | distill training | zero pass@1 (SE) |")
    assert rows[2] == (
        "| distill-s1 / zero-s1 | 0.600 (0.020) | 40 steps, 61 s | 0.600 (0.020) | 100 steps, 61 s | +0.000 (+0.0) |"
    )
    assert rows[3].endswith("| 0.400 (0.020) | 100 steps, 61 s | +0.200 (+7.1) |")
    assert rows[4] == "| mean ± sd | 0.600 ± 0.000 | | 0.500 ± 0.141 | | |"

    block = "<!-- results:versus distill-s1,distill-s2 zero-s1,zero-s2 -->\nold\n<!-- /results -->\n"
    refreshed = refresh_blocks(block, tmp_path, tmp_path / "figures", tmp_path)
    assert "| distill-s1 / zero-s1 |" in refreshed.text and not refreshed.missing
    absent = block.replace("zero-s2", "zero-s3")
    assert refresh_blocks(absent, tmp_path, tmp_path / "figures", tmp_path).text == absent
