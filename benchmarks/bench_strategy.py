"""Benchmark: the strategy phase against backtesting.py, and sweeps on 1 vs 2 workers.

Run: ``.venv/bin/python benchmarks/bench_strategy.py [--bars N] [--repeat N]
[--sweep-bars N] [--no-sweep]``

1. ``sma_cross(10, 20)`` over 1,000,000 synthetic minute bars (seed 42),
   ``cash = 1,000,000``, no commission:

   * **engine**: signal + backtest + metrics, in this process;
   * **phase**: a real in-process ``harness.run`` whose first phase hands the
     same bars to the strategy phase as the ``"data.market"`` artifact (so no CSV
     parsing is timed); the strategy phase's ``duration_s`` from
     ``summary.json``: signal, check, backtest, metrics, gates, the look-ahead
     check, the equity curve and trade list files, events and report. Default
     settings (Parquet files), then ``curves_format = "csv"``;
   * **backtesting.py** (``exclusive_orders=True``, ``trade_on_close=False``) on
     the same bars, **run once** (it takes seconds).

   The machine is shared: the fast side (engine, phase) is the **best of
   ``--repeat`` runs**, so that another process's burst does not count against
   it; backtesting.py gets one run, which only load can slow down (in its
   favour for the ratio: none). Both must agree on trades and final equity.
2. A 100-combination ``sma_cross`` sweep on 1 worker (in-process), on a pool of
   1 worker (the pool's own overhead) and on a pool of 2 (start-up included);
   the results must be identical. Each runs once. Before it, a probe measures
   how many cores are free (work done by 2 busy processes / by 1): with other
   processes on the 2 cores, a pool of 2 cannot beat 1 worker by more than that.

Prints times and ratios; needs the ``bench`` extra (backtesting, pandas).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import harness
from harness import MARKET_ARTIFACT, Bars, MarketData
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


def engine(bars: Bars, repeat: int) -> tuple[float, Any]:
    """Best time of signal + backtest + metrics."""
    best = float("inf")
    metrics = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        signal = sma_cross(bars, fast=10, slow=20)
        result = backtest(bars.open, bars.close, signal, cash=CASH)
        metrics = compute_metrics(result, bars.close, per_year=PER_YEAR)
        best = min(best, time.perf_counter() - t0)
    return best, metrics


def _bars_plugin(bars: Bars) -> types.SimpleNamespace:
    """A plugin object whose ``bench_bars`` phase publishes ``bars`` as market data."""

    @harness.hookimpl
    def phase_run(phase: Any, ctx: Any) -> Any:
        if phase.plugin != "bench_bars":
            return None
        ctx.artifacts.put(MARKET_ARTIFACT, MarketData({bars.symbol: bars}, "1m", 60.0))
        return harness.PhaseResult.passed(f"{len(bars):,} bars")

    return types.SimpleNamespace(phase_run=phase_run)


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


def phase(bars: Bars, repeat: int, extra: str = "") -> tuple[float, dict[str, Any]]:
    """Best ``duration_s`` of the strategy phase over ``repeat`` in-process runs."""
    best = float("inf")
    summary: dict[str, Any] = {}
    plugin = _bars_plugin(bars)
    for _ in range(repeat):
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
            best = min(best, float(strategy["duration_s"]))
    return best, summary


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fast side (best)")
    parser.add_argument("--sweep-bars", type=int, default=1_000_000)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()

    bars = synthetic_bars(args.bars)
    t_engine, metrics = engine(bars, args.repeat)
    print(
        f"bars: {args.bars:,}  sma_cross(10, 20)  trades {metrics.trades:,}  "
        f"final equity {metrics.final_equity:,.2f}"
    )
    print(f"engine (signal + backtest + metrics), best of {args.repeat}:     {t_engine:7.3f} s")
    t_phase, summary = phase(bars, args.repeat)
    print(f"strategy phase, harness.run, parquet files, best of {args.repeat}: {t_phase:7.3f} s")
    t_csv, _ = phase(bars, args.repeat, 'curves_format = "csv"')
    print(f"strategy phase, harness.run, csv files, best of {args.repeat}:     {t_csv:7.3f} s")
    t_ref, stats = reference(bars)
    print(f"backtesting.py Backtest.run, one run:                  {t_ref:7.3f} s")
    equity = summary["capital"]["current"]
    same = (
        stats["# Trades"] == metrics.trades == summary["trades"]["total"]
        and abs(stats["Equity Final [$]"] / metrics.final_equity - 1) < 1e-6
        and abs(equity / metrics.final_equity - 1) < 1e-12
    )
    print(
        f"same trades and final equity: {same} "
        f"(backtesting.py: {stats['# Trades']:,} trades, {stats['Equity Final [$]']:,.2f})"
    )
    print(f"ratio backtesting.py / engine:                {t_ref / t_engine:7.1f}x")
    print(f"ratio backtesting.py / phase (parquet):       {t_ref / t_phase:7.1f}x  (target >= 40x)")
    print(f"ratio backtesting.py / phase (csv):           {t_ref / t_csv:7.1f}x")

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
