"""The docs speak to users: no tracker references ("issue 17 point 3") in README or docs/, and the
README's figures are generated blocks (scripts/results.py regenerates and checks them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_do_not_speak_of_the_tracker(doc: Path):
    found = [
        f"{doc.name}:{n}: {line.strip()}"
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bissues? \d+\b|\bpoint \d+\b", line, re.IGNORECASE)
    ]
    assert not found, "say what the thing is, not which issue asked for it:\n" + "\n".join(found)


def test_the_readme_figures_come_from_the_results_script():
    """The README quotes the default pipeline's figures over three seeds, held out and general,
    as scripts/results.py writes them (`results:headline-seeds` blocks)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- results:headline-seeds (\S+)(?: (\S+))? -->\n(.*?)\n<!-- /results -->", text)
    seeds = "toy-default-s42,toy-default-s43,toy-default-s44"
    assert {(runs, bench or "heldout") for runs, bench, _ in blocks} >= {
        (seeds, "heldout"),
        (seeds, "general"),
    }
    for _, bench, line in blocks:
        assert line.startswith(f"{bench or 'heldout'} pass@1 (mean ± sd over 3 seeds) "), line
