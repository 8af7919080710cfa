"""Headerless CSV (exchange dumps such as Binance klines): columns by position."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.plugins.data.loader import LoadError

from .helpers import load

HOUR_MS = 3_600_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def kline_rows(n: int = 12) -> list[str]:
    """Binance kline layout: open time (ms), o, h, l, c, volume, close time, ... (12 fields)."""
    rows = []
    for i in range(n):
        t = START_MS + i * HOUR_MS
        price = 42000.0 + i
        # repeated values on purpose: polars renames duplicated header names
        rows.append(
            f"{t},{price},{price + 5},{price - 5},{price},12.5,{t + HOUR_MS - 1},"
            f"525000.0,100,6.0,252000.0,0"
        )
    return rows


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("header", ["auto", False])
def test_headerless_klines_load_by_position(tmp_path: Path, header: object) -> None:
    path = write(tmp_path / "BTCUSDT-1h-2024-01.csv", kline_rows())
    report = load([path], interval="1h", header=header)
    assert not report.errors, report.errors
    bars = report.market().bars["BTCUSDT-1h-2024-01"]
    assert len(bars) == 12
    assert bars.timestamp[0] == START_MS * 1_000_000  # epoch ms recognised, in UTC ns
    assert bars.close[3] == 42003.0
    assert bars.volume[0] == 12.5


def test_headerless_careful_path_same_columns(tmp_path: Path) -> None:
    rows = kline_rows()
    rows[4] = rows[4].replace(",12.5,", ",,", 1)  # an empty volume cell: the careful path
    report = load([write(tmp_path / "k.csv", rows)], interval="1h")
    [(frame, finding)] = report.errors  # the empty cell: finite, row 5
    assert (finding.check, frame.row(int(finding.positions[0]))) == ("finite", 5)
    assert frame.timestamp[1] == (START_MS + HOUR_MS) * 1_000_000
    assert frame.values["close"][0] == 42000.0


def test_headerless_ragged_row_is_named(tmp_path: Path) -> None:
    rows = kline_rows()
    rows[2] = ",".join(rows[2].split(",")[:5])
    with pytest.raises(LoadError, match=r"k\.csv: row 3: 5 fields, the first row has 12"):
        load([write(tmp_path / "k.csv", rows)], interval="1h")


def test_headerless_columns_can_be_mapped(tmp_path: Path) -> None:
    rows = [",".join([r.split(",")[0], *r.split(",")[1:6][::-1]]) for r in kline_rows()]
    path = write(tmp_path / "rev.csv", rows)  # t, volume, close, low, high, open
    report = load(
        [path],
        interval="1h",
        columns={
            "volume": "column_2",
            "close": "column_3",
            "low": "column_4",
            "high": "column_5",
            "open": "column_6",
        },
    )
    assert not report.errors, report.errors
    assert report.market().bars["rev"].volume[0] == 12.5
