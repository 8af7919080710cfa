"""The report in a real headless browser: Debian's chromium driven by playwright.

Skipped when playwright (``pip install -e '.[browser]'``) or the chromium binary
(``apt-get install chromium``) is missing; playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import harness_report, real_run, synthetic_run

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = os.environ.get("HARNESS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_report(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """The page, loaded with every chart drawn, and the JS errors and console.error lines."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda m: problems.append(f"console.error: {m.text}") if m.type == "error" else None,
    )
    page.on(
        "request",
        lambda r: (
            problems.append(f"request: {r.url}")
            if not r.url.startswith(("file:", "data:"))
            else None
        ),
    )
    page.goto(path.as_uri())
    page.wait_for_function("document.body.dataset.chartsReady !== undefined", timeout=60_000)
    return page, problems


def test_real_run_report_loads_without_errors(browser: Any, tmp_path: Path) -> None:
    run_dir = real_run(tmp_path)
    proc = harness_report(str(run_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page, problems = open_report(browser, run_dir / "report.html")
    assert problems == []
    for section in (
        "run",
        "timeline",
        "metrics",
        "problems",
        "data",
        "strategy",
        "api",
        "my-phase",
    ):
        assert page.locator(f"section#{section}").count() == 1, section
    charts = page.locator("div.chart").count()
    assert charts >= 4  # equity + drawdown of each backtest, the heartbeat metrics, my series
    assert page.locator("div.chart[data-rendered='1'] canvas").count() == charts
    assert page.locator(".tl-row").count() >= 4  # one timeline bar per phase
    # interactive: a drag over the first equity chart zooms its x axis
    plot = page.locator("#strategy div.chart .u-over").first
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    before = page.evaluate(
        "window.harnessReport.plots.find(u => u.root.closest('#strategy')).scales.x.max"
    )
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    after = page.evaluate(
        "window.harnessReport.plots.find(u => u.root.closest('#strategy')).scales.x.max"
    )
    assert after < before
    page.close()


def test_million_bar_curve_renders(browser: Any, tmp_path: Path) -> None:
    run_dir = synthetic_run(tmp_path / "run", backtests=1, bars=1_000_000)
    proc = harness_report(str(run_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page, problems = open_report(browser, run_dir / "report.html")
    assert problems == []
    assert page.locator("#strategy div.chart[data-rendered='1'] canvas").count() == 2
    drawn = page.evaluate("window.harnessReport.plots.map(u => u.data[0].length)")
    assert max(drawn) <= 2000 + 3 * 2000  # LTTB line points plus trade markers
    assert page.locator("#strategy td", has_text="1,000,000").count() >= 1  # exact figures
    page.close()
