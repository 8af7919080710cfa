"""Benchmark: the strategy phase against backtesting.py, and sweeps on 1 vs 2 workers.

Run: ``.venv/bin/python benchmarks/bench_strategy.py [--bars N] [--repeat N]
[--ref-repeat N] [--only {raw,rounded}] [--sweep-bars N] [--no-sweep]``

1. ``sma_cross(10, 20)`` over 1,000,000 synthetic minute bars (seed 42),
   ``cash = 1,000,000``, no commission, on two data sets: the random walk as
   generated (``raw``), and the same prices **rounded to 4 decimals** (``rounded``),
   as real quotes are: there the two moving averages are exactly equal in real
   arithmetic on a few bars (ties, decided by the last bit of each float), so this
   is the case that shows the averages are pandas' bit for bit. For each:

   * **engine**: signal + backtest + metrics, in this process;
   * **phase**: a real in-process ``harness.run`` whose first phase hands the
     same bars to the strategy phase as the ``"data.market"`` artifact (so no CSV
     parsing is timed); the strategy phase's ``duration_s`` from
     ``summary.json``: signal, check, backtest, metrics, gates, the look-ahead
     check, the equity curve and trade list files, events and report. Default
     settings (Parquet files), then ``curves_format = "csv"``;
   * **backtesting.py** ``Backtest.run`` (``exclusive_orders=True``,
     ``trade_on_close=False``, averages from ``pandas.Series.rolling(n).mean()``)
     on the same bars.

   The machine is shared: every side is the **best of its runs**, the runs
   **interleaved** (engine, phase, phase with CSV files, backtesting.py, then
   again), so that load hits all alike: ``--repeat`` runs of the fast side,
   ``--ref-repeat`` of backtesting.py (default 5 each; backtesting.py takes
   seconds a run). Both must agree on trades and final equity: the script prints
   both and exits 1 when they differ.
2. A 100-combination ``sma_cross`` sweep on 1 worker (in-process), on a pool of
   1 worker (the pool's own overhead) and on a pool of 2 (start-up included);
   the results must be identical. Each runs once. Before it, a probe measures
   how many cores are free (work done by 2 busy processes / by 1): with other
   processes on the 2 cores, a pool of 2 cannot beat 1 worker by more than that.

Prints times and ratios; needs the ``bench`` extra (backtesting, pandas).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import harness
from harness import MARKET_ARTIFACT, Bars, MarketData
from harness.plugins.strategy.engine import backtest
from harness.plugins.strategy.indicators import sma
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
PER_YEAR = 365 * 24 * 60
CASH = 1_000_000.0


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


def rounded(bars: Bars, decimals: int = 4) -> Bars:
    """``bars`` with prices rounded to ``decimals`` (as quotes are): ties appear."""

    def r(a: Any) -> Any:
        return np.round(a, decimals)

    return Bars(
        bars.symbol,
        bars.source,
        bars.timestamp,
        r(bars.open),
        r(bars.high),
        r(bars.low),
        r(bars.close),
        bars.volume,
    )


def engine(bars: Bars) -> tuple[float, Any]:
    """Time of signal + backtest + metrics, in this process."""
    t0 = time.perf_counter()
    signal = sma_cross(bars, fast=10, slow=20)
    result = backtest(bars.open, bars.close, signal, cash=CASH)
    metrics = compute_metrics(result, bars.close, per_year=PER_YEAR)
    return time.perf_counter() - t0, metrics


class _BarsPlugin:
    """A plugin object whose ``bench_bars`` phase publishes ``bars`` as market data."""

    def __init__(self, bars: Bars) -> None:
        self.bars = bars

    @harness.hookimpl
    def phase_run(self, phase: Any, ctx: Any) -> Any:
        if phase.plugin != "bench_bars":
            return None
        bars = self.bars
        ctx.artifacts.put(MARKET_ARTIFACT, MarketData({bars.symbol: bars}, "1m", 60.0))
        return harness.PhaseResult.passed(f"{len(bars):,} bars")


CONFIG = """
[harness]
heartbeat_interval = 1.0

[phases.bars]
plugin = "bench_bars"

[phases.strategy]
initial_cash = {cash}
{extra}
strategies = [{{ name = "sma_cross", params = {{ fast = 10, slow = 20 }} }}]
"""


def phase(bars: Bars, extra: str = "") -> tuple[float, dict[str, Any]]:
    """``duration_s`` of the strategy phase in one in-process ``harness.run``."""
    plugin = _BarsPlugin(bars)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "harness.toml").write_text(CONFIG.format(cash=CASH, extra=extra))
        outcome = harness.run(
            config=root / "harness.toml",
            output_dir=root / "out",
            cwd=root,
            verbosity=-2,
            autoload=False,
            objects=[("bench_bars", plugin)],
        )
    if outcome.exit_code != 0:
        raise SystemExit(f"harness.run exited {outcome.exit_code}: {outcome.summary}")
    summary = outcome.summary
    (strategy,) = (p for p in summary["phases"] if p["name"] == "strategy")
    return float(strategy["duration_s"]), summary


def reference(bars: Bars) -> tuple[float, Any]:
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
    bt = Backtest(df, SmaCross, cash=CASH, exclusive_orders=True, trade_on_close=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        stats = bt.run()
        return time.perf_counter() - t0, stats


def _busy(seconds: float) -> int:
    """CPU-bound numpy work for about ``seconds`` on an idle core; returns the rounds done."""
    x = np.random.default_rng(0).normal(size=200_000)
    k = np.ones(20)
    rounds = 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        np.convolve(x, k, "valid")
        rounds += 1
    return rounds


def free_cores() -> float:
    """Cores this process can get now: work done by 2 busy processes / by 1 (1.0 to 2.0)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_busy, [0.05, 0.05]))  # start both workers
        one = pool.submit(_busy, 1.0).result()
        two = sum(pool.map(_busy, [1.0, 1.0]))
    return two / one


def sweep(bars: Bars) -> dict[str, Any]:
    """Seconds for 1 worker in-process, a pool of 1 and a pool of 2 (start-up included)."""
    grid = expand_grid({"fast": list(range(2, 12)), "slow": list(range(20, 70, 5))})
    assert len(grid) == 100
    job = BacktestJob(sma_cross, bars, EngineOptions(), PER_YEAR)
    t0 = time.perf_counter()
    seq = SequentialExecutor().map(job, grid)
    out: dict[str, Any] = {"seq": time.perf_counter() - t0}
    for workers in (1, 2):
        t0 = time.perf_counter()
        with LocalPoolExecutor(workers) as pool:
            pool.start()
            out[f"start{workers}"] = time.perf_counter() - t0
            rows = pool.map(job, grid)
        out[f"pool{workers}"] = time.perf_counter() - t0
        out[f"same{workers}"] = rows == seq
    return out


def compare(label: str, bars: Bars, repeat: int, ref_repeat: int) -> bool:
    """Interleaved best-of runs of every side on ``bars``; prints; True when they agree."""
    best = {"engine": float("inf"), "parquet": float("inf"), "csv": float("inf")}
    t_ref = float("inf")
    metrics: Any = None
    summary: dict[str, Any] = {}
    stats: Any = None
    for i in range(max(repeat, ref_repeat)):
        if i < repeat:
            t, metrics = engine(bars)
            best["engine"] = min(best["engine"], t)
            t, summary = phase(bars)
            best["parquet"] = min(best["parquet"], t)
            t, _ = phase(bars, 'curves_format = "csv"')
            best["csv"] = min(best["csv"], t)
        if i < ref_repeat:
            t, stats = reference(bars)
            t_ref = min(t_ref, t)
    ties = int(np.sum(sma(bars.close, 10) == sma(bars.close, 20)))
    ref_trades, ref_equity = int(stats["# Trades"]), float(stats["Equity Final [$]"])
    same = (
        ref_trades == metrics.trades == summary["trades"]["total"]
        and abs(ref_equity / metrics.final_equity - 1) < 1e-9
        and abs(summary["capital"]["current"] / metrics.final_equity - 1) < 1e-12
    )
    print(f"== {label}: {len(bars):,} bars, sma_cross(10, 20), {ties} bars with SMA10 == SMA20")
    print(f"  harness:        {metrics.trades:,} trades, final equity {metrics.final_equity:,.4f}")
    print(f"  backtesting.py: {ref_trades:,} trades, final equity {ref_equity:,.4f}")
    print(f"  same trades and final equity: {same}")
    print(
        f"  engine (signal + backtest + metrics), best of {repeat}:       {best['engine']:7.3f} s"
    )
    print(
        f"  strategy phase, harness.run, parquet, best of {repeat}:       {best['parquet']:7.3f} s"
    )
    print(f"  strategy phase, harness.run, csv files, best of {repeat}:     {best['csv']:7.3f} s")
    print(f"  backtesting.py Backtest.run, best of {ref_repeat}:                {t_ref:7.3f} s")
    print(f"  ratio backtesting.py / engine:            {t_ref / best['engine']:7.1f}x")
    print(
        f"  ratio backtesting.py / phase (parquet):   {t_ref / best['parquet']:7.1f}x"
        "  (target >= 40x)"
    )
    print(f"  ratio backtesting.py / phase (csv):       {t_ref / best['csv']:7.1f}x")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fast side (best)")
    parser.add_argument("--ref-repeat", type=int, default=5, help="runs of backtesting.py (best)")
    parser.add_argument("--only", choices=["raw", "rounded"], help="one data set only")
    parser.add_argument("--sweep-bars", type=int, default=1_000_000)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()

    bars = synthetic_bars(args.bars)
    print(f"load before: {os.getloadavg()[0]:.2f} (1-minute load average, 2 cores)")
    agree = True
    if args.only != "rounded":
        agree &= compare("raw random walk", bars, args.repeat, args.ref_repeat)
    if args.only != "raw":
        agree &= compare("rounded to 4 decimals", rounded(bars), args.repeat, args.ref_repeat)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if not agree:
        raise SystemExit("harness and backtesting.py disagree")

    if args.no_sweep:
        return
    sweep_bars = bars if args.sweep_bars == args.bars else synthetic_bars(args.sweep_bars)
    cores = free_cores()
    r = sweep(sweep_bars)
    print(f"sweep of 100 sets on {args.sweep_bars:,} bars (pool start-up included):")
    print(f"  1 worker, in-process:   {r['seq']:7.3f} s")
    print(
        f"  pool of 1 worker:       {r['pool1']:7.3f} s (start {r['start1']:.3f} s), "
        f"identical: {r['same1']}"
    )
    print(
        f"  pool of 2 workers:      {r['pool2']:7.3f} s (start {r['start2']:.3f} s), "
        f"identical: {r['same2']}"
    )
    print(f"ratio 1 worker / 2 workers:      {r['seq'] / r['pool2']:5.2f}x")
    print(f"ratio pool of 1 / pool of 2:     {r['pool1'] / r['pool2']:5.2f}x")
    print(
        f"free cores measured just before: {cores:5.2f} "
        "(work of 2 busy processes / 1; 2.00 on an idle 2-core machine)"
    )


if __name__ == "__main__":
    main()
