"""`r1pipe report RUN_DIR [RUN_B]`: the paper's figures and a stage table as one HTML page.

    write_report([Path("runs/x")])                     # -> runs/x/report/index.html
    write_report([Path("runs/x"), Path("runs/y")])     # -> runs/x/report/compare_y/index.html

The page is self-contained (images embedded as base64, inline CSS, no script); the PNGs are also
written next to it for slides and issues. It works on a partial run: a plot without data yet is
left out (the page says "no data yet") and a running stage shows what it has logged so far.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path

from matplotlib.figure import Figure

from r1pipe.report.collect import ReportError, RunData, collect_run
from r1pipe.report.page import render_page
from r1pipe.report.plots import FIGURES, OPTIONAL_FIGURES
from r1pipe.run.rundir import atomic_write_bytes, atomic_write_text

__all__ = ["ReportError", "write_report"]

log = logging.getLogger(__name__)


def write_report(run_dirs: list[Path], out_dir: Path | None = None) -> Path:
    """Write the report of one run, or the comparison of two; returns the path of index.html."""
    if not 1 <= len(run_dirs) <= 2:
        raise ReportError(
            f"report takes one run directory or two to compare, got {len(run_dirs)}; "
            "give RUN_DIR, or RUN_DIR RUN_B"
        )
    runs = _distinct_names([collect_run(Path(d)) for d in run_dirs])
    out = Path(out_dir) if out_dir is not None else default_out_dir(runs)
    figures = [(name, heading, _write_png(build(runs), out / name)) for name, heading, build in FIGURES]
    figures = [f for f in figures if f[2] is not None or f[0] not in OPTIONAL_FIGURES]
    index = out / "index.html"
    atomic_write_text(index, render_page(runs, figures))
    log.info(
        "report: %s (%d of %d figures have data)", index, sum(f[2] is not None for f in figures), len(figures)
    )
    return index


def _distinct_names(runs: list[RunData]) -> list[RunData]:
    """Series are labelled by run name: two runs called the same (a/x, b/x) get their parent too."""
    if len(runs) == 2 and runs[0].name == runs[1].name:
        return [dataclasses.replace(r, name=f"{r.path.resolve().parent.name}/{r.name}") for r in runs]
    return runs


def default_out_dir(runs: list[RunData]) -> Path:
    base = runs[0].path / "report"
    return base / f"compare_{runs[1].name.replace('/', '_')}" if len(runs) > 1 else base


def _write_png(fig: Figure | None, path: Path) -> bytes | None:
    """The PNG's bytes (also written to `path`), or None without data; a PNG left from an earlier
    report whose data has since gone (a stage redone) is removed rather than shown stale."""
    if fig is None:
        path.unlink(missing_ok=True)
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    png = buffer.getvalue()
    atomic_write_bytes(path, png)
    return png
