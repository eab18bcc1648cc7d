"""Regenerate the tables and figures of docs/RESULTS.md from run directories, so the figures a
reader sees are the ones the code produced (issue 17 point 7).

    python scripts/results.py                           # docs/RESULTS.md from runs/<name>
    python scripts/results.py --runs /data/r1-runs      # the runs live elsewhere
    python scripts/results.py --check                   # exit 1 if the file would change

RESULTS.md marks each generated block with the run directory it comes from (its name under
--runs) and the kind of block (r1pipe/report/markdown.py):

    <!-- results:stages toy-default -->         the stage table (pass@1 before -> after, SE, CI, ...)
    <!-- results:trend aha reasoning_rl -->     an RL stage's curves: first and last logged steps
    <!-- results:reflection aha -->             how often each evaluated model reflects, and pays
    <!-- results:figure aha rl_reflection.png --> one of `r1pipe report`'s figures (docs/figures/)
    ...
    <!-- /results -->

The prose around the blocks is written by hand and names the command that made each run (its
run_dir is the name in the marker). A block whose run directory is missing is left as it was and
named at the end, so one new run refreshes its own blocks only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from r1pipe.pipeline.rundir import atomic_write_text
from r1pipe.report.markdown import refresh_blocks

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("doc", nargs="?", type=Path, default=ROOT / "docs" / "RESULTS.md")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where the run directories are")
    parser.add_argument(
        "--figures", type=Path, default=None, help="PNG folder (default: figures/ beside the doc)"
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if the doc is out of date"
    )
    args = parser.parse_args(argv)

    text = args.doc.read_text(encoding="utf-8")
    doc_dir = args.doc.parent
    figures = args.figures or doc_dir / "figures"
    if args.check:  # figures drawn in a scratch copy of the layout, linked by the same relative path
        scratch = Path(tempfile.mkdtemp(prefix="r1pipe-results-"))
        figures = scratch / os.path.relpath(figures, doc_dir)
        doc_dir = scratch
    result = refresh_blocks(text, args.runs, figures, doc_dir)
    for block in result.written:
        print(f"regenerated: {block}")
    for run_dir in result.missing:
        print(f"left as it was (no run directory {run_dir}; make it with the command the doc gives)")
    if args.check:
        return int(result.text != text)
    if result.text != text:
        atomic_write_text(args.doc, result.text)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
