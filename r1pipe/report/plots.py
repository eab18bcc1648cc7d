"""The report's figures, after the DeepSeek-R1 paper's: one function per figure.

Each takes the collected data of one or two runs and returns a `Figure`, or None when no run has
data for it yet. Figures are built with `matplotlib.figure.Figure` directly (no pyplot): no global
state, no display needed, safe to call from any thread or a headless server.

Layout: line figures have one subplot per stage (steps restart at 0 in every stage, and the loss
of cold start and of later SFT differ by an order of magnitude); in a comparison both runs share
each subplot, told apart by line style (solid: first run, dashed: second) and named in the legend.
Bar figures put the runs' bars side by side in each group.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from r1pipe.report.collect import RunData, StageData, reward_components, series

Series = dict[str, tuple[list[float], list[float]]]  # label -> (steps, values)

RUN_STYLES = ("-", "--")
RUN_COLORS = ("tab:blue", "tab:orange")
COLORS = (  # matplotlib's tab10, named so a component keeps its colour across subplots
    *("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"),
    *("tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan"),
)
TOTAL = "total"  # the weighted sum of the reward components, TRL's `reward`
PANEL_W, PANEL_H, MAX_COLS = 6.4, 4.2, 3  # inches per subplot; at 100 dpi at least 640x420 px
DPI = 100
LOG_RANGE = 30  # a loss spanning more than this factor is drawn on a log scale


# ---- line figures over training steps ---------------------------------------------------------


def loss_figure(runs: list[RunData]) -> Figure | None:
    """(a) Training loss of every SFT stage."""
    fig = _line_figure(
        runs, lambda s: {} if s.is_rl else _keys(s, {"loss": "loss"}), "SFT training loss", "loss"
    )
    for ax in fig.axes if fig else []:
        low, high = ax.dataLim.intervaly
        if low > 0 and high / low > LOG_RANGE:
            ax.set_yscale("log")  # the first steps' loss would flatten the rest of the curve
    return fig


def rewards_figure(runs: list[RunData]) -> Figure | None:
    """(b) Every reward component, and the weighted total the policy maximises, per RL stage."""

    def pick(stage: StageData) -> Series:
        return _keys(stage, {TOTAL: "reward", **reward_components(stage.log)}) if stage.is_rl else {}

    return _line_figure(runs, pick, "RL rewards (mean per step)", "reward")


def accuracy_figure(runs: list[RunData]) -> Figure | None:
    """(c) Accuracy rewards (names ending in `accuracy`) of every RL stage."""

    def pick(stage: StageData) -> Series:
        keys = {n: k for n, k in reward_components(stage.log).items() if n.endswith("accuracy")}
        return _keys(stage, keys) if stage.is_rl else {}

    return _line_figure(runs, pick, "RL accuracy during training", "accuracy (mean reward)")


def length_figure(runs: list[RunData]) -> Figure | None:
    """(d) Mean response length: R1-Zero's length grows as it learns to think longer."""
    return _rl_metric_figure(runs, "mean length", "completions/mean_length", "Mean response length", "tokens")


def reflection_figure(runs: list[RunData]) -> Figure | None:
    """(e) Reflective words per completion ("wait", "verify"...): the paper's "aha moment"."""
    return _rl_metric_figure(
        runs,
        "reflective words",
        "rewards/reflective_words/mean",
        "Reflective-word frequency",
        "reflective words per completion",
    )


# Trainer/engine mismatch, per step: what tells a broken weight sync from a policy that changed.
MISMATCH_KEYS = {
    "sync probe: max |log-prob gap|": "vllm/sync_logprob_max_diff",  # r1pipe's probe (vLLM rollouts)
    "rollouts: mean log-prob gap": "sampling/sampling_logp_difference/mean",  # TRL, vLLM rollouts
    "importance ratio (mean)": "sampling/importance_sampling_ratio/mean",  # TRL, vLLM rollouts
    "clipped share": "clip_ratio/region_mean",  # TRL: tokens whose ratio left the clip range
}
SYMLOG_FLOOR = 1e-6  # gaps of fp32 engines sit at ~1e-6..1e-5; below this the axis is linear


def mismatch_figure(runs: list[RunData]) -> Figure | None:
    """(h) The trainer against the rollout engine, per RL stage, beside the rewards: the sync
    probe's largest per-token log-prob gap, the rollouts' mean gap and importance ratio (vLLM
    rollouts), and the share of clipped tokens (any rollouts). A broken weight sync shows as gaps
    jumping by orders of magnitude and the ratio leaving 1, where otherwise it passes for a
    change in the rewards (verl#7904: a broken sync looked like language mixing). Symlog scale:
    gaps of 1e-5 and a ratio of 1 on one axis."""
    fig = _line_figure(
        runs,
        lambda s: _keys(s, MISMATCH_KEYS) if s.is_rl else {},
        "Trainer vs rollout engine (symlog scale)",
        "gap, ratio, share",
    )
    for ax in fig.axes if fig else []:
        ax.set_yscale("symlog", linthresh=SYMLOG_FLOOR)
        ax.set_ylim(bottom=0)  # gaps, ratios and shares are never negative
        if fig and not fig.legends and ax.get_visible():  # one series: name it (the title does not)
            ax.legend(loc="upper right", fontsize="small", frameon=False)
    return fig


def _rl_metric_figure(runs: list[RunData], label: str, key: str, title: str, ylabel: str) -> Figure | None:
    """One logged key of every RL stage over steps."""
    return _line_figure(runs, lambda s: _keys(s, {label: key}) if s.is_rl else {}, title, ylabel)


def _keys(stage: StageData, keys: dict[str, str]) -> Series:
    found = {label: series(stage.log, key) for label, key in keys.items()}
    return {label: xy for label, xy in found.items() if xy[0]}


def _line_figure(
    runs: list[RunData], pick: Callable[[StageData], Series], title: str, ylabel: str
) -> Figure | None:
    """One subplot per stage that has data in any run; `pick` chooses a stage's series."""
    panels: dict[str, list[tuple[int, Series]]] = {}
    for i, run in enumerate(runs):
        for stage in run.stages:
            if found := pick(stage):
                panels.setdefault(stage.name, []).append((i, found))
    if not panels:
        return None
    fig, axes = _grid(len(panels), title)
    colors = _series_colors(panels)
    for ax, (stage_name, by_run) in zip(axes, panels.items(), strict=True):
        _draw_lines(ax, runs, by_run, colors)
        ax.set(title=stage_name, xlabel="step", ylabel=ylabel)
        ax.grid(alpha=0.3)
    _legend(fig)
    return fig


def _series_colors(panels: dict[str, list[tuple[int, Series]]]) -> dict[str, str] | None:
    """One colour per series name across all subplots (a component keeps its colour from stage 2
    to stage 4), the total in black; None when there is one series: colour then tells runs apart."""
    labels = sorted({label for by_run in panels.values() for _, found in by_run for label in found})
    if len(labels) == 1:
        return None
    named = [label for label in labels if label != TOTAL]
    return {TOTAL: "black"} | {label: COLORS[i % len(COLORS)] for i, label in enumerate(named)}


def _draw_lines(
    ax: Axes, runs: list[RunData], by_run: list[tuple[int, Series]], colors: dict[str, str] | None
) -> None:
    for run_index, found in by_run:
        for label, (steps, values) in found.items():
            color = colors[label] if colors else RUN_COLORS[run_index]
            name = f"{runs[run_index].name}: {label}" if len(runs) > 1 else label
            marker = "o" if len(steps) < 3 else None  # a lone point of a just-started stage stays visible
            # The total on top: a single routed component (stage 4) equals it step for step.
            width, z = (2.2, 3) if label == TOTAL else (1.5, 2)
            style = RUN_STYLES[run_index]
            ax.plot(
                steps, values, color=color, linestyle=style, marker=marker, label=name, lw=width, zorder=z
            )


# ---- bar figures ------------------------------------------------------------------------------


def pass1_figure(runs: list[RunData]) -> Figure | None:
    """(f) pass@1 of each stage's model, with its standard error, one subplot per benchmark."""
    return _eval_figure(runs, "pass@1", "pass@1 by stage (base = before the first stage)")


def language_figure(runs: list[RunData]) -> Figure | None:
    """(g) Language consistency: the share of answers in the prompt's language."""
    return _eval_figure(runs, "language_consistency", "Language consistency by stage")


def _eval_figure(runs: list[RunData], metric: str, title: str) -> Figure | None:
    # benchmark -> run index -> group ("base" or a stage) -> (value, standard error)
    bars: dict[str, dict[int, dict[str, tuple[float, float]]]] = {}
    for i, run in enumerate(runs):
        for bench, groups in _eval_groups(run, metric).items():
            bars.setdefault(bench, {})[i] = groups
    if not bars:
        return None
    fig, axes = _grid(len(bars), title)
    for ax, (bench, by_run) in zip(axes, sorted(bars.items()), strict=True):
        _draw_bars(ax, runs, by_run, value_format="{:.2f}")
        ax.set(title=bench, ylabel=metric, ylim=(0, 1.12))
    _legend(fig)
    return fig


def _eval_groups(run: RunData, metric: str) -> dict[str, dict[str, tuple[float, float]]]:
    """{benchmark: {group: (value, se)}}: "base" is the first evaluated stage's before (the model
    the run started from); every later stage's before is the previous stage's after, so only
    afters follow."""
    found: dict[str, dict[str, tuple[float, float]]] = {}
    for stage in run.stages:
        for side in ("before", "after"):
            for bench, metrics in stage.evals.get(side, {}).items():
                value = metrics.get(metric)
                if not isinstance(value, int | float):
                    continue
                groups = found.setdefault(bench, {})
                if side == "before" and groups:
                    continue  # not the first evaluation of this benchmark: a stage's input model
                group = stage.name if side == "after" else _before_name(run, stage)
                se = metrics.get(f"{metric}_se")
                groups[group] = (float(value), float(se) if isinstance(se, int | float) else math.nan)
    return found


def _before_name(run: RunData, stage: StageData) -> str:
    # Before the run's first stage is the base model; a benchmark first evaluated later is not.
    return "base" if stage is run.stages[0] else f"before {stage.name}"


def funnel_figure(runs: list[RunData]) -> Figure | None:
    """(h) Rejection sampling: how many samples survive each filter, up to the SFT set."""
    by_run: dict[int, dict[str, tuple[float, float]]] = {}
    for i, run in enumerate(runs):
        for stage in run.stages:
            if stage.funnel:
                by_run[i] = {str(s["step"]): (float(s.get("total", 0)), math.nan) for s in stage.funnel}
    if not by_run:
        return None
    fig, axes = _grid(1, "Rejection-sampling funnel")
    _draw_bars(axes[0], runs, by_run, value_format="{:,.0f}")
    axes[0].set(ylabel="samples")
    axes[0].margins(y=0.12)  # room for the count above the tallest bar
    _legend(fig)
    return fig


def difficulty_figure(runs: list[RunData]) -> Figure | None:
    """(i) The RL difficulty filter: how many candidate prompts the starting model solved 0, 1, ...,
    k times of k, the kept band shaded (prompts outside it would give groups without gradient)."""
    panels = [(i, stage) for i, run in enumerate(runs) for stage in run.stages if stage.difficulty]
    if not panels:
        return None
    fig, axes = _grid(len(panels), "Difficulty filter: pass counts of the candidate RL prompts")
    for ax, (i, stage) in zip(axes, panels, strict=True):
        d = stage.difficulty
        counts = d["solved_histogram"]
        k = len(counts) - 1
        low, high = d.get("band", [0.0, 1.0])
        kept = [low <= solved / k <= high for solved in range(k + 1)]
        colors = [RUN_COLORS[i] if keep else "lightgray" for keep in kept]
        bars = ax.bar(range(k + 1), counts, color=colors)
        ax.bar_label(bars, fmt="{:,.0f}", fontsize="small")
        title = stage.name if len(runs) == 1 else f"{runs[i].name}: {stage.name}"
        ax.set(
            title=f"{title}: {d.get('kept', '?')} of {d.get('candidates', '?')} kept",
            xlabel=f"samples solved, of {k}",
            ylabel="prompts",
            xticks=range(k + 1),
        )
        ax.margins(y=0.12)
    return fig


def _draw_bars(
    ax: Axes, runs: list[RunData], by_run: dict[int, dict[str, tuple[float, float]]], value_format: str
) -> None:
    """Groups on the x axis in first-seen order, one bar per run in each, labelled with its value."""
    groups = list(dict.fromkeys(g for i in sorted(by_run) for g in by_run[i]))
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        values = by_run.get(i, {})
        xs = [g + (i - (len(runs) - 1) / 2) * width for g, name in enumerate(groups) if name in values]
        heights = [values[name][0] for name in groups if name in values]
        errors = [values[name][1] for name in groups if name in values]
        if not xs:
            continue
        has_errors = any(not math.isnan(e) for e in errors)
        bars = ax.bar(
            xs,
            heights,
            width * 0.95,
            yerr=[0.0 if math.isnan(e) else e for e in errors] if has_errors else None,
            capsize=4,
            color=RUN_COLORS[i],
            label=run.name,
        )
        for bar, height, error in zip(bars, heights, errors, strict=True):
            # Above the error bar, not on it.
            top = height + (0.0 if math.isnan(error) else error)
            ax.annotate(
                value_format.format(height),
                (bar.get_x() + bar.get_width() / 2, top),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    tilt = len(groups) > 4  # long funnel step names would run into each other
    ax.set_xticks(range(len(groups)), groups, rotation=25 if tilt else 0, ha="right" if tilt else "center")
    ax.grid(axis="y", alpha=0.3)


# ---- shared layout ----------------------------------------------------------------------------


def _grid(panels: int, title: str) -> tuple[Figure, list[Axes]]:
    cols = min(panels, MAX_COLS)
    rows = math.ceil(panels / cols)
    # constrained layout keeps titles, tick labels and the legends below the axes from overlapping
    fig = Figure(figsize=(PANEL_W * cols, PANEL_H * rows + 0.6), dpi=DPI, layout="constrained")
    fig.suptitle(title, fontsize=13)
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax in axes[panels:]:
        ax.set_visible(False)  # an unused cell of the last row
    return fig, axes[:panels]


def _legend(fig: Figure) -> None:
    """One legend for the whole figure, below it: it never hides a curve or a bar nor runs into
    tilted tick labels, and constrained layout makes room for it. Colours are per series name
    across subplots, so one entry per name is right for every subplot."""
    entries: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if len(entries) < 2:
        return  # one run, one series: the title says it all
    width_px = fig.get_figwidth() * fig.dpi
    entry_px = 6 * max(map(len, entries)) + 50  # about 6 px a character at the small font
    cols = max(1, min(len(entries), int(width_px // entry_px)))
    fig.legend(
        list(entries.values()),
        list(entries),
        loc="outside lower center",
        ncol=cols,
        fontsize="small",
        frameon=False,
    )


# (file name, section title, builder), in the page's order
FIGURES: tuple[tuple[str, str, Callable[[list[RunData]], Figure | None]], ...] = (
    ("loss.png", "Training loss (SFT stages)", loss_figure),
    ("rl_rewards.png", "RL reward components", rewards_figure),
    (
        "rl_mismatch.png",
        "Trainer vs rollout engine (weight sync, importance ratio, clipping)",
        mismatch_figure,
    ),
    ("rl_accuracy.png", "RL accuracy", accuracy_figure),
    ("rl_length.png", "Mean response length", length_figure),
    ("rl_reflection.png", "Reflective words (the aha moment)", reflection_figure),
    ("eval_pass1.png", "pass@1 by stage", pass1_figure),
    ("eval_language.png", "Language consistency by stage", language_figure),
    ("funnel.png", "Rejection-sampling funnel", funnel_figure),
    ("difficulty.png", "Difficulty filter (RL prompts)", difficulty_figure),
)
# Figures of an option a run may not use (the difficulty filter): left off the page, rather than
# shown as "no data yet", when no run has their data.
OPTIONAL_FIGURES = frozenset({"difficulty.png"})
