"""The report's HTML: one self-contained page (inline CSS, images as base64 data URIs, no script),
so it can be mailed, attached to an issue or opened from a cluster's shared disk as one file.
Every piece of text from the run goes through `html.escape`."""

from __future__ import annotations

import base64
import json
import time
from html import escape

from r1pipe.report.collect import RunData, StageData

SAMPLE_CHARS = 1500  # a logged completion can be long; the page shows its beginning

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin-bottom: 1em; }
th, td { border: 1px solid #ddd; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.complete { color: #1a7f37; font-weight: 600; }
td.failed { color: #c62828; font-weight: 600; }
td.running { color: #b26a00; font-weight: 600; }
td.pending { color: #888; }
td.complete, td.failed, td.running, td.pending { white-space: nowrap; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.nodata { color: #888; font-style: italic; }
pre { background: #f7f7f7; padding: 0.6em; white-space: pre-wrap; word-break: break-word;
      font-size: 0.85em; border: 1px solid #eee; }
"""


def render_page(runs: list[RunData], figures: list[tuple[str, str, bytes | None]]) -> str:
    """`figures`: (file name, section title, PNG bytes or None when there is no data yet)."""
    title = " vs ".join(run.name for run in runs)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>r1pipe report: {escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>r1pipe report: {escape(title)}</h1>",
        f'<p class="sub">{_run_paths(runs)} &middot; generated {escape(time.strftime("%Y-%m-%d %H:%M:%S"))}</p>',
        "<h2>Stages</h2>",
        stage_table(runs),
        *(_figure_section(name, heading, png) for name, heading, png in figures),
        _samples_section(runs),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _run_paths(runs: list[RunData]) -> str:
    return " &middot; ".join(f"{escape(run.name)}: <code>{escape(str(run.path))}</code>" for run in runs)


def stage_table(runs: list[RunData]) -> str:
    compare = len(runs) > 1
    head = (["run"] if compare else []) + ["stage", "status", "wall time", "eval", "key metrics", "outputs"]
    rows = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for run in runs:
        for stage in run.stages:
            cells = ([f"<td>{escape(run.name)}</td>"] if compare else []) + [
                f"<td>{escape(stage.dir_name)}</td>",
                f'<td class="{_status_class(stage.status)}">{escape(stage.status)}</td>',
                f"<td>{escape(stage.wall)}</td>",
                f"<td>{_eval_summary(stage)}</td>",
                f"<td>{escape(stage.key_metrics)}</td>",
                f"<td>{_outputs(stage)}</td>",
            ]
            rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _status_class(status: str) -> str:
    for word, css in (
        ("complete", "complete"),
        ("failed", "failed"),
        ("interrupted", "failed"),
        ("running", "running"),
    ):
        if status.startswith(word):
            return css
    return "pending"


def _eval_summary(stage: StageData) -> str:
    """pass@1 before -> after per benchmark, with its standard error when the eval reports one."""
    benches = sorted({b for side in stage.evals.values() for b in side})
    lines = []
    for bench in benches:
        values = [_pass1(stage.evals.get(side, {}).get(bench)) for side in ("before", "after")]
        lines.append(escape(f"{bench} pass@1: {values[0]} → {values[1]}"))
    return "<br>".join(lines) or "-"


def _pass1(metrics: dict | None) -> str:
    if not metrics or not isinstance(metrics.get("pass@1"), int | float):
        return "?"
    se = metrics.get("pass@1_se")
    return f"{metrics['pass@1']:.3f}" + (f" ± {se:.3f}" if isinstance(se, int | float) else "")


def _outputs(stage: StageData) -> str:
    if not stage.outputs:
        return "-"
    return "<br>".join(f"{escape(k)}: <code>{escape(str(v))}</code>" for k, v in stage.outputs.items())


def _figure_section(name: str, heading: str, png: bytes | None) -> str:
    if png is None:
        body = '<p class="nodata">no data yet</p>'
    else:
        data = base64.b64encode(png).decode("ascii")
        body = f'<img src="data:image/png;base64,{data}" alt="{escape(heading)}" title="{escape(name)}">'
    return f'<h2 id="{escape(name.removesuffix(".png"))}">{escape(heading)}</h2>\n{body}'


def _samples_section(runs: list[RunData]) -> str:
    """The last logged completions of each RL stage: what the numbers above look like as text."""
    parts = ["<h2>Last logged samples (RL stages)</h2>"]
    for run in runs:
        for stage in run.stages:
            for sample in stage.samples:
                label = f"{run.name} / {stage.dir_name}" if len(runs) > 1 else stage.dir_name
                parts.append(f"<h3>{escape(label)}, step {escape(str(sample.get('step', '?')))}</h3>")
                parts.append(f"<pre>{escape(_sample_text(sample))}</pre>")
    if len(parts) == 1:
        parts.append('<p class="nodata">no data yet</p>')
    return "\n".join(parts)


def _sample_text(sample: dict) -> str:
    prompt = sample.get("prompt", "")
    if isinstance(prompt, list):  # chat messages: the user's turn is the prompt
        prompt = "\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
    completion = sample.get("completion", "")
    if not isinstance(completion, str):
        completion = json.dumps(completion, ensure_ascii=False)
    answer = f"\n\n[reference answer: {sample['answer']}]" if "answer" in sample else ""
    text = f"PROMPT: {prompt}\n\nCOMPLETION: {completion}{answer}"
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + " [...]"
