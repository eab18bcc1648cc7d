"""Regenerate the tables and figures of docs/RESULTS.md and the README's figures from run
directories, so the figures a reader sees are the ones the code produced.

    python scripts/results.py                           # docs/RESULTS.md and README.md from runs/<name>
    python scripts/results.py --runs /data/r1-runs      # the runs live elsewhere
    python scripts/results.py --check                   # exit 1 if a file would change

The docs mark each generated block with the run directory it comes from (its name under
--runs) and the kind of block (r1pipe/report/markdown.py):

    <!-- results:stages toy-default -->         the stage table (pass@1 before -> after, SE, CI, ...)
    <!-- results:trend aha reasoning_rl -->     an RL stage's curves: first and last logged steps
    <!-- results:reflection aha -->             how often each evaluated model reflects, and pays
    <!-- results:figure aha rl_reflection.png --> one of `r1pipe report`'s figures (docs/figures/)
    <!-- results:headline toy-default -->       pass@1 of the base, then after each stage, one line
    <!-- results:headline-seeds toy-default-s42,toy-default-s43,toy-default-s44 -->  the same, mean ± sd
    <!-- results:seeds RUN,RUN,RUN -->          each model's pass@1 per seed, mean ± sd, changes in SE
    <!-- results:kinds RUN,RUN,RUN -->          general requests by kind and language, stage 3 -> 4
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

from r1pipe.report.markdown import refresh_blocks
from r1pipe.run.rundir import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "RESULTS.md", ROOT / "README.md"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "docs", nargs="*", type=Path, default=DOCS, help="default: docs/RESULTS.md and README.md"
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where the run directories are")
    parser.add_argument(
        "--figures", type=Path, default=None, help="PNG folder (default: figures/ beside each doc)"
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a doc is out of date")
    args = parser.parse_intermixed_args(argv)
    stale = [doc for doc in args.docs if not refresh(doc, args.runs, args.figures, args.check)]
    for doc in stale:
        print(f"out of date: {doc} (run `python scripts/results.py`)")
    return int(bool(stale))


def refresh(doc: Path, runs: Path, figures: Path | None, check: bool) -> bool:
    """Regenerate the blocks of one doc (write it, or with `check` only compare); True when the
    doc was current."""
    text = doc.read_text(encoding="utf-8")
    doc_dir = doc.parent
    figures = figures or doc_dir / "figures"
    if check:  # figures drawn in a scratch copy of the layout, linked by the same relative path
        scratch = Path(tempfile.mkdtemp(prefix="r1pipe-results-"))
        figures = scratch / os.path.relpath(figures, doc_dir)
        doc_dir = scratch
    result = refresh_blocks(text, runs, figures, doc_dir)
    for block in result.written:
        print(f"{doc.name}: regenerated: {block}")
    for run_dir in result.missing:
        print(
            f"{doc.name}: left as it was (no run directory {run_dir}; make it with the command the doc gives)"
        )
    if check or result.text == text:
        return result.text == text
    atomic_write_text(doc, result.text)
    print(f"wrote {doc}")
    return True


if __name__ == "__main__":
    sys.exit(main())
