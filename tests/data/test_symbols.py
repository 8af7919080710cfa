"""A ``symbol`` or ``ticker`` column is used as ``symbol_column`` when none is set.

Issue: a CSV with several symbols one after the other and no ``symbol_column`` used to be
read as one series, failing ``order`` at the first row of the second symbol.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import (
    HARNESS,
    HEADER,
    checks,
    failed_checks,
    good_rows,
    harness_run,
    load,
    run_summary,
)


def _days(n: int) -> list[str]:
    """``n`` clean daily bars from 2024-01-01 (any length, unlike ``good_rows``)."""
    import datetime as dt

    start = dt.date(2024, 1, 1)
    return [
        f"{start + dt.timedelta(days=i)},{100 + i},{102 + i},{99 + i},{101 + i},1000"
        for i in range(n)
    ]


def _multi(path: Path, name: str = "symbol", symbols: str = "AB", n: int = 12) -> Path:
    lines = [f"{name},{HEADER}"]
    lines += [f"{s},{row}\n" for s in symbols for row in _days(n)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["symbol", "Symbol", "TICKER", " ticker "])
def test_symbol_column_is_detected(tmp_path: Path, name: str) -> None:
    report = load([_multi(tmp_path / "all.csv", name)])
    assert report.errors == []
    assert list(report.bars) == ["A", "B"]
    assert [len(b) for b in report.bars.values()] == [12, 12]


def test_rows_stay_rows_of_the_file(tmp_path: Path) -> None:
    path = _multi(tmp_path / "all.csv")
    lines = path.read_text().splitlines(keepends=True)
    lines[12 + 3] = lines[12 + 3].replace(",1000", ",-1")  # B's 3rd bar, data row 15
    path.write_text("".join(lines))
    report = load([path])
    assert failed_checks(report) == {"negative_volume": [15]}
    assert list(report.bars) == ["A"]


def test_parquet_symbol_column_is_detected(tmp_path: Path) -> None:
    import polars as pl

    pl.read_csv(_multi(tmp_path / "all.csv", "Ticker")).write_parquet(tmp_path / "all.parquet")
    report = load([tmp_path / "all.parquet"])
    assert report.errors == []
    assert list(report.bars) == ["A", "B"]


def test_false_turns_detection_off(tmp_path: Path) -> None:
    report = load([_multi(tmp_path / "all.csv")], symbol_column=False, checks=checks(gaps="off"))
    assert list(failed_checks(report)) == ["order"]  # one series: B starts over
    assert [f.symbol for f in report.frames] == ["all"]


def test_a_set_symbol_column_wins(tmp_path: Path) -> None:
    path = tmp_path / "all.csv"
    lines = [f"symbol,name,{HEADER}"]
    lines += [f"X,{s},{row}\n" for s in "AB" for row in good_rows()]
    path.write_text("".join(lines))
    report = load([path], symbol_column="name")
    assert list(report.bars) == ["A", "B"]


def test_a_mapped_symbol_column_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    lines = ["ticker,open,high,low,close,volume\n"]  # "ticker" holds the timestamps here
    lines += [row + "\n" for row in good_rows()]
    path.write_text("".join(lines))
    report = load([path], columns={"timestamp": "ticker"})
    assert report.errors == []
    assert list(report.bars) == ["one"]


def test_headerless_files_are_one_symbol(tmp_path: Path) -> None:
    path = tmp_path / "BTC.csv"
    path.write_text("".join(row + "\n" for row in good_rows()))
    assert list(load([path], header=False).bars) == ["BTC"]


@pytest.mark.skipif(not HARNESS.exists(), reason="harness CLI not installed")
def test_run_splits_by_detected_symbol(tmp_path: Path) -> None:
    _multi(tmp_path / "prices.csv", "symbol", "XYZ", 300)
    result = harness_run(tmp_path, toml='[phases.data]\npaths = "prices.csv"\ninterval = "1d"\n')
    assert result.returncode == 0, result.stdout + result.stderr
    summary = run_summary(tmp_path)
    assert summary["data"]["symbols"] == ["X", "Y", "Z"]
    assert summary["data"]["rows"] == 900
