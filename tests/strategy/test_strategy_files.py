"""Equity curves and trade lists on disk, and the background writer."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from strategy_bars import random_bars

from harness import Bars
from harness.plugins.strategy.engine import BacktestResult, backtest
from harness.plugins.strategy.files import (
    BackgroundWriter,
    WriteFailed,
    backtest_paths,
    save_backtest,
)
from harness.plugins.strategy.strategies import sma_cross


def _result() -> tuple[Bars, BacktestResult]:
    bars = random_bars(400, seed=8)
    result = backtest(bars.open, bars.close, sma_cross(bars, fast=5, slow=20), commission=0.001)
    return bars, result


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_both_formats_hold_the_same_figures(tmp_path: Path, fmt: str) -> None:
    bars, result = _result()
    files = save_backtest(tmp_path / "strategy", "my label", bars, result, fmt)
    assert files == {
        "equity": f"strategy/equity_my-label_RND.{fmt}",
        "trades": f"strategy/trades_my-label_RND.{fmt}",
    }
    read = pl.read_parquet if fmt == "parquet" else pl.read_csv
    curve = read(tmp_path / files["equity"])
    trades = read(tmp_path / files["trades"])
    np.testing.assert_array_equal(curve["equity"].to_numpy(), result.equity)
    np.testing.assert_array_equal(trades["pnl"].to_numpy(), result.trades.pnl)
    assert trades.height == len(result.trades) > 0
    if fmt == "parquet":
        stamps = curve["timestamp"].cast(pl.Int64).to_numpy()
        np.testing.assert_array_equal(stamps, bars.timestamp)
    else:
        assert curve["timestamp"][0].endswith("Z")


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown file format 'xlsx'"):
        backtest_paths(tmp_path, "a", "B", "xlsx")


def test_the_writer_writes_on_another_thread_one_file_at_a_time(tmp_path: Path) -> None:
    threads: list[str] = []
    order: list[int] = []

    def write(i: int) -> None:
        threads.append(threading.current_thread().name)
        order.append(i)

    with BackgroundWriter() as writer:
        for i in range(5):
            writer.submit(write, i)
    assert order == [0, 1, 2, 3, 4]
    assert all(name.startswith("strategy-files") for name in threads)


def test_a_failed_write_is_raised_by_the_next_submit_or_close(tmp_path: Path) -> None:
    def fail() -> None:
        raise OSError("disk full")

    writer = BackgroundWriter()
    writer.submit(fail)
    with pytest.raises(WriteFailed, match="OSError: disk full") as info:
        writer.submit(lambda: None)
    assert isinstance(info.value.__cause__, OSError)
    writer.submit(fail)
    with pytest.raises(WriteFailed, match="disk full"):
        writer.close()
    writer.close()  # closing twice is fine
