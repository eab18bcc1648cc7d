"""The report as a person sees it: headless Chromium opens index.html of a synthetic finished run
offline and takes a screenshot, which must show the page with its embedded figures drawn."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from r1pipe.report import write_report

pytestmark = pytest.mark.integration

WIDTH, HEIGHT = 1280, 2400
TAB_BLUE = (31, 119, 180)  # matplotlib's first colour: found only where a figure was drawn


def _make_run(root: Path) -> Path:
    # The synthetic run builder lives with the unit tests of the report; test dirs are not packages.
    path = Path(__file__).parents[1] / "unit" / "test_report.py"
    spec = importlib.util.spec_from_file_location("report_unit_tests", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_run(root)


def _screenshot(page: Path, shot: Path, profile: Path) -> None:
    # Offline and quiet: no network services, no first-run UI, a throwaway profile.
    cmd = [
        shutil.which("chromium") or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={shot}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert shot.exists(), f"chromium wrote no screenshot (rc {proc.returncode}):\n{proc.stderr[-2000:]}"


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs the chromium browser on PATH (apt install chromium)"
)
def test_chromium_renders_the_report_with_its_figures(tmp_path: Path) -> None:
    page = write_report([_make_run(tmp_path / "run")])
    shot = tmp_path / "shot.png"
    _screenshot(page, shot, tmp_path / "profile")
    with Image.open(shot) as img:
        assert img.size == (WIDTH, HEIGHT)
        rgb = img.convert("RGB")
    colors = rgb.getcolors(maxcolors=1 << 22)
    assert colors is not None and len(colors) > 50, "the screenshot is (almost) one colour"
    non_white = sum(n for n, c in colors if sum(c) < 3 * 240)
    assert non_white / (WIDTH * HEIGHT) > 0.03, "the page is almost blank"
    blue = sum(n for n, c in colors if all(abs(a - b) <= 12 for a, b in zip(c, TAB_BLUE, strict=True)))
    assert blue > 500, "no figure drawn: the embedded PNGs did not render"
