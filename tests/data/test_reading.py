"""The CSV fast path (blocks parsed straight into numpy) against the careful path, and the
inputs that send a file from one to the other; bars closer than the interval."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from harness.plugins.data.loader import BLOCK_BYTES
from harness.plugins.data.phase import failure_message

from .helpers import HEADER, checks, failed_checks, good_rows, load, write_csv


def _minute_rows(n: int) -> list[str]:
    """``n`` one-minute bars, prices varying in length (lines of unequal width)."""
    start = np.datetime64("2024-01-01T00:00:00", "s")
    rows = []
    for i in range(n):
        ts = str(start + np.timedelta64(i, "m")) + "Z"
        price = 100 + (i % 997) / 7
        rows.append(f"{ts},{price:.4f},{price + 1:.3f},{price - 1:.2f},{price + 0.5:.5f},{i % 50}")
    return rows


@pytest.fixture(scope="module")
def big_rows() -> list[str]:
    rows = _minute_rows(160_000)  # about 9 MiB: several blocks of the fast path
    assert sum(len(r) + 1 for r in rows) > 4 * BLOCK_BYTES
    return rows


Arrays = dict[str, npt.NDArray[Any]]


def _arrays(tmp_path: Path, name: str, text: str, opener: str = "plain") -> Arrays:
    path = tmp_path / name
    if opener == "gzip":
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    report = load([path], interval="1m", checks=checks(zero_volume_runs="off"))
    assert report.errors == [], failure_message(report)
    bars = next(iter(report.bars.values()))
    return {k: getattr(bars, k) for k in ("timestamp", "open", "high", "low", "close", "volume")}


def _same(a: Arrays, b: Arrays) -> None:
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_fast_path_over_several_blocks_matches_the_careful_path(
    tmp_path: Path, big_rows: list[str]
) -> None:
    text = HEADER + "\n".join(big_rows) + "\n"
    fast = _arrays(tmp_path, "fast.csv", text)
    assert len(fast["timestamp"]) == len(big_rows)
    assert np.all(np.diff(fast["timestamp"]) == 60 * 10**9)
    # a quote in the data sends the file to the careful path (polars' whole-file reader),
    # which must read the same numbers
    quoted_last = big_rows[-1].split(",")
    quoted_last[1] = f'"{quoted_last[1]}"'
    careful_text = HEADER + "\n".join([*big_rows[:-1], ",".join(quoted_last)]) + "\n"
    _same(fast, _arrays(tmp_path, "careful.csv", careful_text))
    _same(fast, _arrays(tmp_path, "fast.csv.gz", text, opener="gzip"))
    _same(fast, _arrays(tmp_path, "crlf.csv", text.replace("\n", "\r\n")))
    _same(fast, _arrays(tmp_path, "no_final_newline.csv", text.rstrip("\n")))


def test_bad_cells_in_a_late_block_name_their_rows(tmp_path: Path, big_rows: list[str]) -> None:
    # the fast path has stored earlier groups of blocks when it meets these: it leaves them
    # to the careful path, which names the rows
    rows = list(big_rows)
    last = len(rows)
    for i, col, bad in ((last - 1, 4, "oops"), (last - 3, 0, "not a time")):
        fields = rows[i].split(",")
        fields[col] = bad
        rows[i] = ",".join(fields)
    path = tmp_path / "late.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    report = load([path], interval="1m", checks=checks(zero_volume_runs="off", gaps="off"))
    assert failed_checks(report) == {"parse": [last - 2, last]}


def test_padded_values_are_accepted(tmp_path: Path) -> None:
    rows = [" " + r.replace(",", " , ") + " " for r in good_rows()]
    report = load([write_csv(tmp_path / "x.csv", rows)])
    assert report.findings == []
    clean = load([write_csv(tmp_path / "y.csv", good_rows())])
    np.testing.assert_array_equal(report.bars["x"].timestamp, clean.bars["y"].timestamp)
    np.testing.assert_array_equal(report.bars["x"].close, clean.bars["y"].close)


def test_padded_epoch_timestamps_are_accepted(tmp_path: Path) -> None:
    base = 1_704_067_200
    rows = [f"  {base + i * 86400} ,1,2,0.5,{1 + i / 100},10" for i in range(12)]
    report = load([write_csv(tmp_path / "x.csv", rows)])
    assert report.findings == []
    assert report.bars["x"].timestamp[0] == base * 10**9


def test_blank_line_and_parse_error_leave_the_fast_path_with_row_numbers(
    tmp_path: Path,
) -> None:
    rows = good_rows(14)
    rows[9] = "2024-01-10,109,111,108,oops,1000"
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(gaps="off"))
    assert failed_checks(report) == {"parse": [10]}


def _iso_rows() -> list[str]:
    rows = [r.replace(",", "T00:00:00Z,", 1) for r in good_rows()]
    rows.insert(5, "2024-01-05T12:00:00Z,104,106,103,105,1000")  # row 6: half a day later
    return rows


def test_bars_closer_than_the_interval(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", _iso_rows())
    report = load([path])
    # the bar in between is half a day after the one before, and the next half a day after it
    assert failed_checks(report) == {"too_close": [6, 7]}
    (_frame, finding), *_ = report.errors
    assert finding.detail == {"smallest_step_s": 43200.0}
    assert "x.csv: too_close: 2 rows (row 6 at 2024-01-05T12:00:00Z, row 7" in failure_message(
        report
    )
    # a tolerance of more than half the interval lets it pass
    report = load([path], checks={"too_close": {"tolerance": 0.6}})
    assert report.errors == []


def test_too_close_ignores_order_and_duplicates_and_weekends(tmp_path: Path) -> None:
    rows = good_rows()
    rows[3] = rows[2]  # a duplicate: `duplicates`, not `too_close`
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(gaps="off"))
    assert failed_checks(report) == {"duplicates": [4]}
    # Friday -> Monday is 3 days by the clock: never too close, whatever the calendar
    days = (4, 5, 8, 9, 10, 11, 12, 15, 16, 17, 18)
    rows = [f"2024-01-{d:02d},10,11,9,{10 + d / 100},100" for d in days]
    report = load([write_csv(tmp_path / "w.csv", rows)], calendar="weekdays")
    assert report.findings == []


def test_too_close_needs_an_interval(tmp_path: Path) -> None:
    report = load([write_csv(tmp_path / "x.csv", _iso_rows())], interval=None)
    assert report.errors == []


def test_other_delimiter_and_extra_columns(tmp_path: Path) -> None:
    rows = [f"x{i};" + r.replace(",", ";") + ";note" for i, r in enumerate(good_rows())]
    path = write_csv(tmp_path / "x.csv", rows, header="id;Date;Open;High;Low;Close;Volume;memo\n")
    report = load([path], delimiter=";")
    assert report.findings == []
    clean = load([write_csv(tmp_path / "y.csv", good_rows())])
    np.testing.assert_array_equal(report.bars["x"].timestamp, clean.bars["y"].timestamp)
    np.testing.assert_array_equal(report.bars["x"].volume, clean.bars["y"].volume)
