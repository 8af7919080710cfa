"""Benchmark the HTML run report on a run with 12 backtests of 1,000,000 bars each.

Run: ``python benchmarks/bench_report.py [--repeat K] [--no-browser]``. It writes a
synthetic finished run under ``benchmarks/.data/report_run/`` (the files the strategy
phase writes: ``summary.json``, ``strategy/equity_*.parquet``, ``trades_*.parquet``, 2,000
trades per backtest; fixed seed, kept between runs) and prints:

* generation time of the whole page (``build_report`` with the built-in plugins, as
  ``harness report`` runs it), best of K, and its CPU time (other processes load a shared
  machine; CPU time moves less); ``x bare`` is the ratio to bare reading of the same
  Parquet files (``polars.read_parquet``), measured in the same run. Target <= 2 s;
* the file size (target <= 5 MB) and, for scale, what one curve would weigh undownsampled;
* the browser load time in Debian's chromium (playwright, ``executable_path``): launch,
  ``goto`` until every chart is drawn, and the page's own drawing time (``renderMs``).

Needs polars (a dependency); the browser part needs ``playwright`` and ``chromium``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
BACKTESTS, BARS = 12, 1_000_000
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_run() -> Path:
    run_dir = DATA / "report_run"
    if (run_dir / "summary.json").is_file():
        return run_dir
    sys.path.insert(0, str(ROOT))  # the synthetic-run builder the browser tests use
    from tests.report.helpers import synthetic_run

    shutil.rmtree(run_dir, ignore_errors=True)
    return synthetic_run(run_dir, backtests=BACKTESTS, bars=BARS)


def bare_read(run_dir: Path) -> None:
    import polars as pl

    for path in sorted((run_dir / "strategy").glob("*.parquet")):
        pl.read_parquet(path)


def generate(run_dir: Path) -> tuple[str, int]:
    from harness.report.build import build_report
    from harness.report.runplugins import load_run_plugins

    pm, _ = load_run_plugins(run_dir, {})
    built = build_report(run_dir, pm)
    return built.html, len(built.sections)


def best(fn: object, repeat: int) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of the fastest of ``repeat`` calls (CPU: all threads)."""
    runs = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(runs)


def browser(path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser: skipped (pip install playwright)")
        return
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        print("browser: skipped (apt-get install chromium)")
        return
    with sync_playwright() as p:
        t0 = time.perf_counter()
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        launch = time.perf_counter() - t0
        loads, renders = [], []
        for _ in range(3):
            page = b.new_page(viewport={"width": 1280, "height": 900})
            t0 = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_function("document.body.dataset.chartsReady !== undefined")
            loads.append(time.perf_counter() - t0)
            renders.append(page.evaluate("window.harnessReport.renderMs") / 1000)
            charts = page.evaluate("window.harnessReport.charts")
            page.close()
        b.close()
    print(
        f"browser: launch {launch:.2f} s; load until every chart is drawn {min(loads):.2f} s "
        f"(best of 3); drawing {charts} charts {min(renders):.3f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    run_dir = make_run()
    print(
        f"run: {BACKTESTS} backtests x {BARS:,} bars ({run_dir}, {time.perf_counter() - t0:.1f} s)"
    )
    bare, bare_cpu = best(lambda: bare_read(run_dir), args.repeat)
    html, sections = generate(run_dir)
    gen, gen_cpu = best(lambda: generate(run_dir), args.repeat)
    out = run_dir / "report.html"
    out.write_text(html, "utf-8")
    size = len(html.encode())
    print(f"bare read of the Parquet files: {bare:.3f} s (CPU {bare_cpu:.3f} s)")
    print(
        f"report generation: {gen:.3f} s (CPU {gen_cpu:.3f} s; x bare {gen / bare:.1f}); "
        f"target <= 2 s: {'ok' if gen <= 2 else 'MISSED'}"
    )
    print(
        f"file size: {size / 1e6:.2f} MB, {sections} sections; target <= 5 MB: "
        f"{'ok' if size <= 5e6 else 'MISSED'}"
    )
    import numpy as np
    import orjson

    full = orjson.dumps(
        [
            np.arange(BARS, dtype=np.float64) * 60 + 1.6e9,
            np.random.default_rng(1).normal(1e4, 10, BARS).astype(np.float32),
        ],
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
    print(
        f"for scale: one undownsampled 1M-point curve as JSON is {len(full) / 1e6:.1f} MB "
        f"({2 * BACKTESTS} curves: {2 * BACKTESTS * len(full) / 1e6:.0f} MB)"
    )
    if not args.no_browser:
        browser(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
