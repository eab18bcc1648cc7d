"""Markdown tables of finished runs for docs/RESULTS.md (`scripts/results.py` writes them between
markers), so that every figure a reader sees there is one a run wrote: eval.json, metrics.jsonl,
the manifests and funnel.json, read through the report's own collection (`collect.py`).

    stage_table(run)                      # per stage: pass@1 before -> after (SE) [CI], pass@k, ...
    trend_table(run, "reasoning_rl")      # RL curves: first and last logged steps, mean ± sd
    reflection_table(run)                 # per evaluated model: how often it reflects, and how
                                          # often it is right when it does and when it does not
    headline(run)                         # one line: pass@1 of the base, then after each stage
    seeds_table(runs)                     # the same command on several seeds: each stage's pass@1
                                          # per seed, mean ± sd, and the last stage's change in SE
    kinds_table(runs)                     # per kind of request and language: stage 3 -> stage 4
"""

from __future__ import annotations

import json
import os
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from r1pipe.report.collect import RunData, StageData, collect_run
from r1pipe.report.plots import FIGURES
from r1pipe.run.rundir import read_jsonl
from r1pipe.training.watchers import ReflectionCounter

# The RL curves the paper draws (its figures 2 and 3 and the aha table), in logged-key form.
TRENDS = (
    ("accuracy reward", ("rewards/toy_accuracy/mean", "reward/toy_accuracy/mean", "rewards/accuracy/mean")),
    ("format reward", ("rewards/r1_format/mean", "rewards/r1_zero_format/mean")),
    ("mean response length (tokens)", ("completions/mean_length",)),
    ("reflective words per completion", ("rewards/reflective_words/mean",)),
    ("language consistency reward", ("rewards/language_consistency/mean",)),
)


def stage_table(run: RunData, benchmark: str = "heldout") -> str:
    """One row per evaluated stage: the held-out figures before and after it, and its wall time."""
    head = (
        "| stage | pass@1 before | pass@1 after (SE) [95% CI] | pass@k | cons@k "
        "| language consistency before -> after | steps | wall time |"
    )
    rows = [head, "|" + "---|" * 8]
    for stage in run.stages:
        before, after = (stage.evals.get(side, {}).get(benchmark) for side in ("before", "after"))
        if after is None:
            continue
        rows.append(
            "| "
            + " | ".join(
                [
                    stage.dir_name,
                    _number(before, "pass@1"),
                    _pass1_with_spread(after),
                    _pass_at_k(after, "pass"),
                    _pass_at_k(after, "cons"),
                    f"{_number(before, 'language_consistency', 2)} -> {_number(after, 'language_consistency', 2)}",
                    _final_step(stage),
                    stage.wall,
                ]
            )
            + " |"
        )
    return "\n".join(rows)


def headline(run: RunData, benchmark: str = "heldout") -> str:
    """The run's figures in one line, as the README quotes them: `benchmark` pass@1 of the first
    evaluated model, then after each stage that evaluated it (SE of the last)."""
    chain: list[str] = []
    last: dict | None = None
    for stage in run.stages:
        before, after = (stage.evals.get(side, {}).get(benchmark) for side in ("before", "after"))
        if after is None:
            continue
        if not chain:
            chain.append(f"{_number(before, 'pass@1')} (base)")
        chain.append(f"{_number(after, 'pass@1')} ({stage.name})")
        last = after
    if last is None:
        raise ValueError(f"{run.path}: no stage evaluated {benchmark!r}")
    se = last.get("pass@1_se")
    spread = f", SE {se:.3f}" if isinstance(se, int | float) else ""
    return f"{benchmark} pass@1 {' -> '.join(chain)}{spread}"


def seeds_table(runs: list[RunData], benchmark: str = "heldout", metric: str = "pass@1") -> str:
    """The same command run on several seeds (one run directory each): per evaluated model (the
    first stage's input, then each stage's output) `metric` on every seed, with its SE where the
    evaluation gives one, and the mean ± sd over seeds; last rows give each stage's change on each
    seed, for pass@1 in standard errors of the change (sqrt(SE_before^2 + SE_after^2)), so a
    finding that holds on every seed reads across. `metric`: pass@1, language_consistency,
    mean_length, ... (any figure of the evaluation summary)."""
    names = [stage.name for stage in runs[0].stages if benchmark in stage.evals.get("after", {})]
    if not names:
        raise ValueError(f"{runs[0].path}: no stage evaluated {benchmark!r}")
    head = "| model | " + " | ".join(run.name for run in runs) + " | mean ± sd |"
    rows = [head, "|" + "---|" * (len(runs) + 2)]
    models = [("base", names[0], "before"), *((name, name, "after") for name in names)]
    for label, stage_name, side in models:
        results = [_stage(run, stage_name).evals.get(side, {}).get(benchmark) or {} for run in runs]
        values = [r.get(metric) for r in results]
        cells = [_with_se(r, metric) for r in results]
        spread = _mean_sd([v for v in values if isinstance(v, int | float)]) if None not in values else "-"
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {spread} |")
    for name in names:
        if metric == "pass@1":
            changes = [_change_in_se(_stage(run, name), benchmark) for run in runs]
            rows.append(f"| change by {name} (in SE) | " + " | ".join(changes) + " | |")
        else:
            changes = [_plain_change(_stage(run, name), benchmark, metric) for run in runs]
            rows.append(f"| change by {name} | " + " | ".join(changes) + " | |")
    return "\n".join(rows)


def _with_se(result: dict, metric: str) -> str:
    if f"{metric}_se" in result:
        return f"{_number(result, metric)} ({_number(result, f'{metric}_se')})"
    return _number(result, metric)


def _plain_change(stage: StageData, benchmark: str, metric: str) -> str:
    before, after = (stage.evals.get(side, {}).get(benchmark) or {} for side in ("before", "after"))
    a, b = before.get(metric), after.get(metric)
    return f"{b - a:+.3f}" if isinstance(a, int | float) and isinstance(b, int | float) else "-"


def seeds_headline(runs: list[RunData], benchmark: str = "heldout") -> str:
    """`headline` over several seeds, as the README quotes it: pass@1 mean ± sd over the runs of
    the first evaluated model, then after each stage, and the seeds' changes by the last stage in
    standard errors (each run's, in order)."""
    names = [stage.name for stage in runs[0].stages if benchmark in stage.evals.get("after", {})]
    if not names:
        raise ValueError(f"{runs[0].path}: no stage evaluated {benchmark!r}")
    chain = []
    for label, stage_name, side in [("base", names[0], "before"), *((n, n, "after") for n in names)]:
        values = [
            (_stage(run, stage_name).evals.get(side, {}).get(benchmark) or {}).get("pass@1") for run in runs
        ]
        found = [v for v in values if isinstance(v, int | float)]
        if len(found) < len(values):
            raise ValueError(f"a run has no {side} {benchmark!r} figure for {stage_name}")
        chain.append(f"{_mean_sd(found)} ({label})")
    changes = ", ".join(_in_se(_stage(run, names[-1]), benchmark) for run in runs)
    return (
        f"{benchmark} pass@1 (mean ± sd over {len(runs)} seeds) {' -> '.join(chain)}; "
        f"{names[-1]}'s change per seed, in SE: {changes}"
    )


def versus_table(first: list[RunData], second: list[RunData], benchmark: str = "heldout") -> str:
    """Two ways to the same kind of model, seed by seed (`first[i]` against `second[i]`): each
    run's final model's pass@1 (SE), its training (optimizer steps, seconds of the train step,
    trained.json), and the difference in standard errors of the difference; a last row gives the
    means ± sd. Distillation against RL on the same student is the case it was made for."""
    if len(first) != len(second):
        raise ValueError(
            f"a results:versus block pairs runs seed by seed: {len(first)} against {len(second)}"
        )
    a_name, b_name = _series(first), _series(second)
    head = f"| pair | {a_name} pass@1 (SE) | {a_name} training | {b_name} pass@1 (SE) | {b_name} training | difference (in SE) |"
    rows = [head, "|---|---|---|---|---|---|"]
    a_values, b_values = [], []
    for a_run, b_run in zip(first, second, strict=True):
        (a, a_train), (b, b_train) = _final(a_run, benchmark), _final(b_run, benchmark)
        a_values.append(a["pass@1"])
        b_values.append(b["pass@1"])
        se = ((a.get("pass@1_se") or 0.0) ** 2 + (b.get("pass@1_se") or 0.0) ** 2) ** 0.5
        diff = a["pass@1"] - b["pass@1"]
        in_se = f"{diff:+.3f} ({diff / se:+.1f})" if se else f"{diff:+.3f} (no spread)"
        rows.append(
            f"| {a_run.name} / {b_run.name} | {_number(a, 'pass@1')} ({_number(a, 'pass@1_se')}) | {a_train} "
            f"| {_number(b, 'pass@1')} ({_number(b, 'pass@1_se')}) | {b_train} | {in_se} |"
        )
    rows.append(f"| mean ± sd | {_mean_sd(a_values)} | | {_mean_sd(b_values)} | | |")
    return "\n".join(rows)


def _series(runs: list[RunData]) -> str:
    """The runs' shared name without the seed suffix (`distill-s42` -> `distill`)."""
    return re.sub(r"-s\d+$", "", runs[0].name)


def _final(run: RunData, benchmark: str) -> tuple[dict, str]:
    """The last evaluated stage's 'after' figures, and its training as "N steps, S s"."""
    for stage in reversed(run.stages):
        after = stage.evals.get("after", {}).get(benchmark)
        if after is not None:
            trained_path = run.path / stage.dir_name / "trained.json"
            trained = json.loads(trained_path.read_text(encoding="utf-8")) if trained_path.is_file() else {}
            steps = trained.get("metrics", {}).get("train/final_step", "-")
            seconds = trained.get("wall_time_s")
            return after, f"{steps} steps, {seconds:.0f} s" if isinstance(
                seconds, int | float
            ) else f"{steps} steps"
    raise ValueError(f"{run.path}: no stage evaluated {benchmark!r}")


def _change(stage: StageData, benchmark: str) -> tuple[float, float | None] | None:
    """The stage's pass@1 change and that change in standard errors of the change
    (sqrt(SE_before^2 + SE_after^2); None without spread); None without both figures."""
    before, after = (stage.evals.get(side, {}).get(benchmark) or {} for side in ("before", "after"))
    a, b = before.get("pass@1"), after.get("pass@1")
    se = ((before.get("pass@1_se") or 0.0) ** 2 + (after.get("pass@1_se") or 0.0) ** 2) ** 0.5
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return None
    return b - a, ((b - a) / se if se else None)


def _change_in_se(stage: StageData, benchmark: str) -> str:
    change = _change(stage, benchmark)
    if change is None:
        return "-"
    diff, in_se = change
    return f"{diff:+.3f} ({'no spread' if in_se is None else f'{in_se:+.1f}'})"


def _in_se(stage: StageData, benchmark: str) -> str:
    """Only the change in SE ("+2.3"; "no spread"; "-")."""
    change = _change(stage, benchmark)
    if change is None:
        return "-"
    return "no spread" if change[1] is None else f"{change[1]:+.1f}"


CJK = re.compile(r"[\u4e00-\u9fff]")


def kinds_table(
    runs: list[RunData],
    benchmark: str = "general",
    before: str = "rejection_sampling",
    after: str = "all_scenario_rl",
) -> str:
    """Per kind of request (the id's last part, `toy-general-heldout-3-colour`) and language (the
    prompt's script), pass@1 after stage `before` -> after stage `after` on each run, and the
    change in standard errors of the change (SE over the kind's requests): whether RL against a
    judge raised the benchmark by gaming some kinds at the cost of others. Its last row is the
    language consistency of the answers."""
    head = "| kind | language | " + " | ".join(run.name for run in runs) + " |"
    rows = [head, "|" + "---|" * (len(runs) + 2)]
    tables = [(_by_kind(run, before, benchmark), _by_kind(run, after, benchmark)) for run in runs]
    keys = sorted({key for first, second in tables for key in (*first, *second)} - {("all", "consistency")})
    for kind, language in keys:
        cells = [
            _kind_change(first.get((kind, language), []), second.get((kind, language), []))
            for first, second in tables
        ]
        rows.append(f"| {kind} | {language} | " + " | ".join(cells) + " |")
    cells = [
        f"{_mean(first.get(('all', 'consistency'), []))} -> {_mean(second.get(('all', 'consistency'), []))}"
        for first, second in tables
    ]
    rows.append("| language consistency | all | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _by_kind(run: RunData, stage_name: str, benchmark: str) -> dict[tuple[str, str], list[float]]:
    """(kind, language) -> per-request pass@1 of the stage's output; ("all", "consistency") -> the
    per-request mean language consistency."""
    path = run.path / _stage(run, stage_name).dir_name / "eval" / "after" / f"{benchmark}.jsonl"
    if not path.is_file():
        raise ValueError(f"{path}: no evaluation records; rerun the stage's evaluation")
    found: dict[tuple[str, str], list[float]] = {}
    for record in read_jsonl(path):
        kind = str(record["id"]).rsplit("-", 1)[-1]
        language = "zh" if CJK.search(str(record.get("prompt", ""))) else "en"
        if isinstance(record.get("pass@1"), int | float):
            found.setdefault((kind, language), []).append(record["pass@1"])
        consistency = [v for v in record.get("language_consistency") or [] if isinstance(v, int | float)]
        if consistency:
            found.setdefault(("all", "consistency"), []).append(statistics.fmean(consistency))
    return found


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.2f}" if values else "-"


def _kind_change(first: list[float], second: list[float]) -> str:
    if not first or not second:
        return "-"
    a, b = statistics.fmean(first), statistics.fmean(second)
    se = sum(statistics.variance(v) / len(v) for v in (first, second) if len(v) > 1) ** 0.5
    shift = f"{(b - a) / se:+.1f}" if se > 0 else "no spread"
    return f"{a:.2f} -> {b:.2f} ({shift})"


def trend_table(run: RunData, stage_name: str, window: int = 3) -> str:
    """The RL curves of one stage as numbers: the mean and the spread (sd across logged steps) of
    the first and of the last `window` logged steps, for each curve the stage logged."""
    stage = _stage(run, stage_name)
    rows = [f"| curve | first {window} logged steps | last {window} logged steps |", "|---|---|---|"]
    logged = [row for row in stage.log if "step" in row and any(k.startswith("reward") for k in row)]
    steps = [row["step"] for row in logged]
    for label, keys in TRENDS:
        found = (next((row[key] for key in keys if key in row), None) for row in logged)
        values = [v for v in found if isinstance(v, int | float)]
        if len(values) >= 2 * window:
            rows.append(f"| {label} | {_mean_sd(values[:window])} | {_mean_sd(values[-window:])} |")
    if len(rows) == 2:
        raise ValueError(
            f"{run.path}/{stage.dir_name} logged fewer than {2 * window} RL steps; "
            "rerun it to the end, or lower the window"
        )
    span = f"steps {steps[0]}-{steps[window - 1]} and {steps[-window]}-{steps[-1]} of {stage.dir_name}"
    return "\n".join(rows) + f"\n\n({span}; mean ± sd over the logged steps.)"


def reflection_table(run: RunData, benchmark: str = "heldout") -> str:
    """For each model a stage evaluated (its input, then its output): the share of the benchmark's
    sampled completions with a reflective word (the default list, as the RL curves count them),
    and pass@1 among those completions and among the rest: whether reflecting is what pays."""
    counter = ReflectionCounter()
    rows = [
        "| model | completions | with a reflective word | correct with one | correct without |",
        "|---|---|---|---|---|",
    ]
    for stage in run.stages:
        for side in ("before", "after"):
            path = run.path / stage.dir_name / "eval" / side / f"{benchmark}.jsonl"
            label = f"{stage.dir_name} {'input' if side == 'before' else 'output'}"
            if not path.is_file() or (side == "before" and len(rows) > 2):
                continue  # a later stage's input is the previous stage's output: one row for it
            graded = [
                (counter.count(text) > 0, score)
                for record in read_jsonl(path)
                for text, score in zip(record["completions"], record["scores"], strict=True)
            ]
            reflecting = [score for flag, score in graded if flag]
            direct = [score for flag, score in graded if not flag]
            rows.append(
                f"| {label} | {len(graded)} | {len(reflecting) / len(graded):.3f} | "
                f"{_share(reflecting)} | {_share(direct)} |"
            )
    if len(rows) == 2:
        raise ValueError(f"{run.path}: no stage kept its {benchmark}.jsonl evaluation records")
    return "\n".join(rows)


def _share(scores: list[float]) -> str:
    return f"{statistics.fmean(scores):.3f} ({len(scores)})" if scores else "-"


def _stage(run: RunData, name: str) -> StageData:
    for stage in run.stages:
        if name in (stage.name, stage.dir_name):
            return stage
    known = ", ".join(s.name for s in run.stages)
    raise ValueError(f"{run.path} has no stage {name!r}; its stages: {known}")


def _mean_sd(values: list[float]) -> str:
    """mean ± sd; one value alone (a single seed) has no spread to show."""
    if len(values) < 2:
        return f"{values[0]:.3f}" if values else "-"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def _number(metrics: dict | None, key: str, digits: int = 3) -> str:
    value = (metrics or {}).get(key)
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def _pass1_with_spread(metrics: dict) -> str:
    text = _number(metrics, "pass@1")
    se, ci = metrics.get("pass@1_se"), metrics.get("pass@1_ci95")
    if isinstance(se, int | float):
        text += f" ({se:.3f})"
    if isinstance(ci, list) and len(ci) == 2:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


def _pass_at_k(metrics: dict, kind: str) -> str:
    """pass@k or cons@k at the largest k the evaluation reported."""
    ks = sorted(int(m.group(1)) for key in metrics if (m := re.fullmatch(rf"{kind}@(\d+)", key)))
    ks = [k for k in ks if k > 1 or kind == "cons"]
    return f"{metrics[f'{kind}@{ks[-1]}']:.3f} (k={ks[-1]})" if ks else "-"


def _final_step(stage: StageData) -> str:
    steps = [row["step"] for row in stage.log if isinstance(row.get("step"), int)]
    return str(max(steps)) if steps else "-"


# --- generated blocks in a Markdown file ------------------------------------------------------------

BLOCK = re.compile(r"<!-- results:([\w-]+) ([^>]*?) -->\n.*?<!-- /results -->", re.DOTALL)


@dataclass
class Refreshed:
    text: str
    written: list[str]  # blocks regenerated
    missing: list[str]  # run directories not found: their blocks are left as they were


def refresh_blocks(text: str, runs_root: Path, figures_dir: Path, doc_dir: Path) -> Refreshed:
    """Regenerate every `<!-- results:KIND ARGS -->` ... `<!-- /results -->` block of `text`:

    <!-- results:stages RUN -->             the stage table of runs_root/RUN
    <!-- results:trend RUN STAGE -->        the RL curves of one stage, first and last steps
    <!-- results:reflection RUN -->         reflecting completions of each evaluated model, and their pass@1
    <!-- results:figure RUN[,RUN_B] FILE --> one of the report's figures, saved in figures_dir
    <!-- results:headline RUN [BENCHMARK] -->  pass@1 of the base, then after each stage, one line
    <!-- results:seeds RUN,RUN,RUN [BENCHMARK [METRIC]] --> each model's pass@1 (or METRIC) per seed, mean ± sd
    <!-- results:headline-seeds RUN,RUN,RUN [BENCHMARK] --> the headline line, mean ± sd over seeds
    <!-- results:kinds RUN,RUN,RUN [BENCHMARK] --> per kind of request: stage 3 -> stage 4
    <!-- results:versus RUN,RUN RUN,RUN [BENCHMARK] --> two ways to a model, seed by seed
    """
    written: list[str] = []
    missing: list[str] = []

    def replace(match: re.Match) -> str:
        kind, args = match.group(1), match.group(2).split()
        names = args[0].split(",")
        needed = names + (args[1].split(",") if kind == "versus" and len(args) > 1 else [])
        absent = [name for name in needed if not (runs_root / name / "plan.json").is_file()]
        if absent:
            missing.extend(str(runs_root / name) for name in absent)
            return match.group(0)
        runs = [collect_run(runs_root / name) for name in names]
        body = _block_body(kind, runs, args[1:], figures_dir, doc_dir)
        written.append(f"{kind} {' '.join(args)}")
        return f"<!-- results:{kind} {match.group(2)} -->\n{body}\n<!-- /results -->"

    return Refreshed(BLOCK.sub(replace, text), written, sorted(set(missing)))


def _block_body(kind: str, runs: list[RunData], args: list[str], figures_dir: Path, doc_dir: Path) -> str:
    if kind == "stages":
        return stage_table(runs[0], *args[:1])
    if kind == "trend":
        if not args:
            raise ValueError("a results:trend block names its stage: <!-- results:trend RUN STAGE -->")
        return trend_table(runs[0], args[0])
    if kind == "figure":
        return _figure(runs, args, figures_dir, doc_dir)
    if kind == "reflection":
        return reflection_table(runs[0], *args[:1])
    if kind == "headline":
        return headline(runs[0], *args[:1])
    if kind == "seeds":
        return seeds_table(runs, *args[:2])
    if kind == "headline-seeds":
        return seeds_headline(runs, *args[:1])
    if kind == "kinds":
        return kinds_table(runs, *args[:1])
    if kind == "versus":
        if not args:
            raise ValueError("a results:versus block names two run lists: <!-- results:versus A,A B,B -->")
        return versus_table(
            runs, [collect_run(runs[0].path.parent / name) for name in args[0].split(",")], *args[1:2]
        )
    raise ValueError(
        f"unknown results block kind {kind!r}; use stages, trend, reflection, headline, headline-seeds, seeds, kinds, versus or figure"
    )


def _figure(runs: list[RunData], args: list[str], figures_dir: Path, doc_dir: Path) -> str:
    builders = {name: (heading, build) for name, heading, build in FIGURES}
    if not args or args[0] not in builders:
        raise ValueError(f"a results:figure block names one of the report's figures: {', '.join(builders)}")
    heading, build = builders[args[0]]
    fig = build(runs)
    if fig is None:
        raise ValueError(f"{', '.join(str(r.path) for r in runs)}: no data for {args[0]}")
    path = figures_dir / f"{'_vs_'.join(r.name for r in runs)}_{args[0]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return f"![{heading}]({os.path.relpath(path, doc_dir)})"
