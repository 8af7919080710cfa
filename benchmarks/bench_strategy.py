"""Benchmark: the strategy engine against backtesting.py, and sweeps on 1 vs 2 workers.

Run: ``.venv/bin/python benchmarks/bench_strategy.py [--bars N] [--sweep-bars N] [--no-cli]``

1. ``sma_cross(10, 20)`` over 1,000,000 synthetic bars (seed 42): signal + engine
   + metrics (best of 3), against backtesting.py (``exclusive_orders=True``, run
   once) on the same bars; the two must agree on trades and final equity.
2. The same backtest through ``harness run`` (data phase + strategy phase, one
   CSV of the bars): the strategy phase's own duration from ``summary.json``
   (it also runs the look-ahead check and writes the equity curve CSV).
3. A 100-combination ``sma_cross`` sweep on 1 worker (in-process) and on a
   2-process pool (pool start-up included); the results must be identical.

Prints times and ratios; needs the ``bench`` extra (backtesting, pandas).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from harness.plugins.data.market import Bars
from harness.plugins.strategy.engine import backtest
from harness.plugins.strategy.metrics import compute_metrics
from harness.plugins.strategy.strategies import sma_cross
from harness.plugins.strategy.sweep import (
    BacktestJob,
    EngineOptions,
    LocalPoolExecutor,
    SequentialExecutor,
    expand_grid,
)

SEED = 42
MINUTE_NS = 60 * 10**9
START_NS = 1_600_000_000 * 10**9


def synthetic_bars(n: int, seed: int = SEED) -> Bars:
    """A minute-bar random walk with gapped opens (fixed seed)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.0003, n - 1))
    high = np.maximum(open_, close) * 1.0005
    low = np.minimum(open_, close) * 0.9995
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    return Bars("SYN", "bench", ts, open_, high, low, close, np.full(n, 1000.0))


def ours(bars: Bars, cash: float, commission: float) -> tuple[float, Any, Any]:
    best = float("inf")
    result = metrics = None
    for _ in range(3):
        t0 = time.perf_counter()
        signal = sma_cross(bars, fast=10, slow=20)
        result = backtest(bars.open, bars.close, signal, cash=cash, commission=commission)
        metrics = compute_metrics(result, bars.close, per_year=365 * 24 * 60)
        best = min(best, time.perf_counter() - t0)
    return best, result, metrics


def reference(bars: Bars, cash: float, commission: float) -> tuple[float, Any]:
    import pandas as pd
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 10)
            self.slow = self.I(sma, self.data.Close, 20)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.sell()

    df = pd.DataFrame(
        {
            "Open": bars.open,
            "High": bars.high,
            "Low": bars.low,
            "Close": bars.close,
            "Volume": bars.volume,
        },
        index=pd.to_datetime(bars.timestamp, unit="ns"),
    )
    bt = Backtest(
        df, SmaCross, cash=cash, commission=commission, exclusive_orders=True, trade_on_close=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        stats = bt.run()
        return time.perf_counter() - t0, stats


def through_cli(bars: Bars, cash: float, commission: float, lean: bool) -> dict[str, float] | None:
    """``harness run`` on the bars; ``lean``: no look-ahead check, no files."""
    harness = Path(sys.executable).with_name("harness")
    if not harness.exists():
        return None
    import polars as pl

    extra = ", gates = { look_ahead = false }" if lean else ""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pl.DataFrame(
            {
                "timestamp": bars.timestamp // 10**9,
                "open": bars.open,
                "high": bars.high,
                "low": bars.low,
                "close": bars.close,
                "volume": bars.volume,
            }
        ).write_csv(root / "SYN.csv")
        (root / "harness.toml").write_text(
            '[phases.data]\npaths = ["SYN.csv"]\ninterval = "1m"\n\n'
            f"[phases.strategy]\ninitial_cash = {cash}\ncommission = {commission}\n"
            f"save_curves = {'false' if lean else 'true'}\n"
            f'strategies = [{{ name = "sma_cross", params = {{ fast = 10, slow = 20 }}{extra} }}]\n'
        )
        env = {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1"}
        proc = subprocess.run(
            [str(harness), "run", "-q", "--output-dir", str(root / "out")],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        summary_path = root / "out" / "summary.json"
        if not summary_path.exists():
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return None
        summary = json.loads(summary_path.read_text())
        times = {p["name"]: p["duration_s"] for p in summary["phases"]}
        times["exit_code"] = proc.returncode
        times["final_equity"] = summary.get("capital", {}).get("current", float("nan"))
        return times


def sweep(bars: Bars, commission: float) -> tuple[float, float, bool]:
    grid = expand_grid({"fast": list(range(2, 12)), "slow": list(range(20, 70, 5))})
    assert len(grid) == 100
    job = BacktestJob(sma_cross, bars, EngineOptions(commission=commission), 365 * 24 * 60)
    t0 = time.perf_counter()
    seq = SequentialExecutor().map(job, grid)
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    with LocalPoolExecutor(2) as pool:
        par = pool.map(job, grid)
    t_par = time.perf_counter() - t0
    return t_seq, t_par, seq == par


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--sweep-bars", type=int, default=1_000_000)
    parser.add_argument("--no-cli", action="store_true", help="skip the harness run part")
    args = parser.parse_args()
    cash, commission = 1_000_000.0, 0.0

    bars = synthetic_bars(args.bars)
    t_ours, _result, metrics = ours(bars, cash, commission)
    print(
        f"bars: {args.bars:,}  sma_cross(10, 20)  trades {metrics.trades:,}  "
        f"final equity {metrics.final_equity:,.2f}"
    )
    print(f"engine (signal + backtest + metrics, best of 3): {t_ours:8.3f} s")
    t_ref, stats = reference(bars, cash, commission)
    print(f"backtesting.py Backtest.run:                     {t_ref:8.3f} s")
    same = (
        stats["# Trades"] == metrics.trades
        and abs(stats["Equity Final [$]"] / metrics.final_equity - 1) < 1e-6
    )
    print(
        f"same trades and final equity: {same} "
        f"(backtesting.py: {stats['# Trades']:,} trades, {stats['Equity Final [$]']:,.2f})"
    )
    print(f"ratio backtesting.py / engine: {t_ref / t_ours:8.1f}x  (target >= 40x)")

    if not args.no_cli:
        for lean, what in [(False, "look-ahead check + CSV files"), (True, "no check, no files")]:
            times = through_cli(bars, cash, commission, lean)
            if times is None:
                print("harness run: not available")
                break
            print(
                f"harness run ({what}): strategy phase {times['strategy']:.3f} s "
                f"[data phase {times['data']:.3f} s], exit {times['exit_code']:.0f}, "
                f"equity {times['final_equity']:,.2f}"
            )
            print(f"ratio backtesting.py / strategy phase: {t_ref / times['strategy']:8.1f}x")

    sweep_bars = bars if args.sweep_bars == args.bars else synthetic_bars(args.sweep_bars)
    t_seq, t_par, identical = sweep(sweep_bars, commission)
    print(
        f"sweep of 100 sets on {args.sweep_bars:,} bars: 1 worker {t_seq:.3f} s, "
        f"2 workers {t_par:.3f} s (pool start included), identical: {identical}"
    )
    print(f"ratio 1 worker / 2 workers: {t_seq / t_par:8.2f}x")


if __name__ == "__main__":
    main()
