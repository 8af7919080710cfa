"""Each check on tiny hand-made files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.plugins.data.checks import weekday_time
from harness.plugins.data.phase import failure_message, issue_data

from .helpers import checks, failed_checks, good_rows, load, write_csv


def test_clean_file_passes_and_builds_bars(tmp_path: Path) -> None:
    report = load([write_csv(tmp_path / "BTC.csv", good_rows())])
    assert report.findings == []
    bars = report.bars["BTC"]
    assert len(bars) == 12
    assert bars.timestamp.dtype == np.int64
    assert bars.timestamp[0] == np.datetime64("2024-01-01", "ns").astype(np.int64)
    assert bars.close[0] == 101.0
    assert report.market().interval_s == 86400.0


def test_duplicate_high_below_close_negative_volume_are_three_named_issues(
    tmp_path: Path,
) -> None:
    rows = good_rows()
    rows[2] = rows[1]  # row 3 repeats row 2's timestamp
    rows[4] = "2024-01-05,104,104.5,103,105,1000"  # row 5: high < close
    rows[7] = "2024-01-08,107,109,106,108,-5"  # row 8: negative volume
    path = write_csv(tmp_path / "bad.csv", rows)
    report = load([path], checks=checks(gaps="off"))
    assert failed_checks(report) == {
        "duplicates": [3],
        "high_low": [5],
        "negative_volume": [8],
    }
    assert report.bars == {}
    message = failure_message(report)
    assert "\n" not in message
    for part in (
        "bad.csv: duplicates: 1 row (row 3 at 2024-01-02T00:00:00Z)",
        "high_low: 1 row (row 5 at 2024-01-05T00:00:00Z)",
        "negative_volume: 1 row (row 8 at 2024-01-08T00:00:00Z)",
    ):
        assert part in message
    frame, finding = report.errors[0]
    data = issue_data(frame, finding, 5)
    assert data["check"] == "duplicates"
    assert data["rows"] == [3]
    assert data["timestamps"] == ["2024-01-02T00:00:00Z"]


def test_order(tmp_path: Path) -> None:
    rows = good_rows()
    rows[5], rows[6] = rows[6], rows[5]
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(gaps="off"))
    assert failed_checks(report) == {"order": [7]}


def test_warning_severity_passes_and_sorts(tmp_path: Path) -> None:
    rows = good_rows()
    rows[5], rows[6] = rows[6], rows[5]
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(order="warning"))
    assert report.errors == []
    assert [f.check for _, f in report.warnings] == ["order"]
    assert np.all(np.diff(report.bars["x"].timestamp) > 0)


def test_off_severity_skips_the_check(tmp_path: Path) -> None:
    rows = good_rows()
    rows[7] = "2024-01-08,107,109,106,108,-5"
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(negative_volume="off"))
    assert report.findings == []


def test_gaps_count_and_largest(tmp_path: Path) -> None:
    rows = good_rows(20)
    del rows[10:15]  # 5 missing days after row 10
    del rows[3]  # 1 missing day
    report = load([write_csv(tmp_path / "x.csv", rows)])
    ((_frame, finding),) = report.findings
    assert finding.check == "gaps"
    assert finding.failed
    assert finding.count == 2
    assert finding.detail["largest_missing_bars"] == 5
    assert failed_checks(report) == {"gaps": [4, 10]}


def test_gaps_tolerated_below_thresholds(tmp_path: Path) -> None:
    rows = good_rows(20)
    del rows[10:12]
    report = load(
        [write_csv(tmp_path / "x.csv", rows)],
        checks={"gaps": {"max_missing_bars": 2, "max_missing_fraction": 0.2}},
    )
    ((_frame, finding),) = report.findings
    assert not finding.failed
    assert report.errors == []


def test_weekday_calendar_skips_weekends(tmp_path: Path) -> None:
    # 2024-01-05 is a Friday, 2024-01-08 a Monday
    days = (2, 3, 4, 5, 8, 9, 10, 11, 12, 15, 16)
    rows = [f"2024-01-{d:02d},10,11,9,{10 + d / 100},100" for d in days]
    report = load([write_csv(tmp_path / "x.csv", rows)], calendar="weekdays")
    assert report.findings == []
    report = load([write_csv(tmp_path / "y.csv", rows)], calendar="24/7")
    assert failed_checks(report) == {"gaps": [5, 10]}


def test_weekday_time_friday_to_monday_is_one_day() -> None:
    fri, mon = np.array(["2024-01-05", "2024-01-08"], dtype="datetime64[ns]").astype(np.int64)
    wt = weekday_time(np.array([fri, mon]))
    assert wt[1] - wt[0] == 86_400 * 10**9


def test_calendar_flags_weekend_bars(tmp_path: Path) -> None:
    rows = [f"2024-01-{d:02d},10,11,9,{10 + d / 100},100" for d in range(1, 13)]
    report = load(
        [write_csv(tmp_path / "x.csv", rows)],
        calendar="weekdays",
        checks=checks(calendar="error", gaps="off"),
    )
    assert failed_checks(report) == {"calendar": [6, 7]}


def test_finite_counts_empty_nan_and_inf(tmp_path: Path) -> None:
    rows = good_rows()
    rows[1] = "2024-01-02,101,103,100,,1000"
    rows[2] = "2024-01-03,NaN,104,101,103,1000"
    rows[3] = "2024-01-04,103,inf,102,104,1000"
    report = load([write_csv(tmp_path / "x.csv", rows)])
    assert failed_checks(report) == {"finite": [2, 3, 4]}


def test_non_positive_prices(tmp_path: Path) -> None:
    rows = good_rows()
    rows[4] = "2024-01-05,0,106,-1,105,1000"
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(high_low="off"))
    assert failed_checks(report) == {"non_positive_prices": [5]}


def test_low_above_open_is_high_low(tmp_path: Path) -> None:
    rows = good_rows()
    rows[4] = "2024-01-05,104,106,104.5,105,1000"
    report = load([write_csv(tmp_path / "x.csv", rows)])
    assert failed_checks(report) == {"high_low": [5]}


def test_zero_volume_runs_and_stale_prices(tmp_path: Path) -> None:
    rows = good_rows(20)
    for i in range(3, 9):
        rows[i] = f"2024-01-{i + 1:02d},50,51,49,50,0"
    report = load(
        [write_csv(tmp_path / "x.csv", rows)],
        checks={
            "zero_volume_runs": {"severity": "error", "max_run": 5},
            "stale_prices": {"severity": "error", "max_run": 5},
            "outlier_returns": {"severity": "off"},
        },
    )
    assert failed_checks(report) == {"zero_volume_runs": [4], "stale_prices": [4]}


def test_outlier_returns(tmp_path: Path) -> None:
    rows = good_rows()
    rows[6] = "2024-01-07,106,300,105,250,1000"
    report = load(
        [write_csv(tmp_path / "x.csv", rows)],
        checks={"outlier_returns": {"severity": "error", "max_abs_return": 0.5}},
    )
    assert failed_checks(report) == {"outlier_returns": [7, 8]}


def test_min_rows(tmp_path: Path) -> None:
    report = load([write_csv(tmp_path / "x.csv", good_rows(3))])
    assert [f.check for _, f in report.errors] == ["min_rows"]
    assert "x.csv: min_rows: 1 file too short: 3 rows < 10" in failure_message(report)


def test_parse_error_names_row(tmp_path: Path) -> None:
    rows = good_rows()
    rows[3] = "2024-01-04,103,abc,102,104,1000"
    rows[5] = "not a date,105,107,104,106,1000"
    report = load([write_csv(tmp_path / "x.csv", rows)], checks=checks(gaps="off"))
    assert failed_checks(report) == {"parse": [4, 6]}


def test_required_columns(tmp_path: Path) -> None:
    rows = [r.rsplit(",", 1)[0] for r in good_rows()]
    path = write_csv(tmp_path / "x.csv", rows, header="timestamp,open,high,low,close\n")
    report = load([path])
    assert "x.csv: required_columns: 1 missing column: volume" in failure_message(report)
    report = load([path], checks={"required_columns": {"required": ["timestamp", "close"]}})
    assert report.errors == []
    assert np.isnan(report.bars["x"].volume).all()


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("Date,Open,High,Low,Close,Volume", "{d}"),
        ("time,o,h,l,c,v", "{d}T00:00:00Z"),
        ("ts,open,high,low,close,volume", "{d} 00:00:00+00:00"),
    ],
)
def test_column_aliases_and_iso_forms(tmp_path: Path, header: str, fmt: str) -> None:
    rows = [fmt.format(d=r.split(",", 1)[0]) + "," + r.split(",", 1)[1] for r in good_rows()]
    report = load([write_csv(tmp_path / "x.csv", rows, header=header + "\n")])
    assert report.findings == []
    assert report.bars["x"].timestamp[1] - report.bars["x"].timestamp[0] == 86_400 * 10**9


@pytest.mark.parametrize(("unit", "scale"), [("s", 1), ("ms", 1000)])
def test_epoch_timestamps_with_column_mapping(tmp_path: Path, unit: str, scale: int) -> None:
    base = 1_704_067_200  # 2024-01-01T00:00:00Z
    rows = [f"{(base + i * 86400) * scale},1,2,0.5,{1 + i / 100},10" for i in range(12)]
    path = write_csv(tmp_path / "x.csv", rows, header="when,o,hi,lo,last,qty\n")
    mapping = {"timestamp": "when", "high": "hi", "low": "lo", "close": "last", "volume": "qty"}
    for timestamp_unit in ("auto", unit):
        report = load([path], columns=mapping, timestamp_unit=timestamp_unit)
        assert report.findings == []
        assert report.bars["x"].timestamp[0] == base * 10**9


def test_timezone_of_naive_timestamps(tmp_path: Path) -> None:
    rows = [f"2024-01-{d:02d} 09:30:00,1,2,0.5,{1 + d / 100},10" for d in range(1, 13)]
    report = load([write_csv(tmp_path / "x.csv", rows)], timezone="America/New_York")
    assert report.findings == []
    assert report.bars["x"].timestamp[0] == np.datetime64("2024-01-01T14:30", "ns").astype(np.int64)


def test_symbol_column_gzip_and_glob(tmp_path: Path) -> None:
    import gzip

    lines = ["symbol,timestamp,open,high,low,close,volume"]
    for i, row in enumerate(good_rows()):
        lines.append("AAA," + row)
        lines.append("BBB," + (row if i != 4 else "2024-01-05,104,104.5,103,105,1000"))
    (tmp_path / "d").mkdir()
    with gzip.open(tmp_path / "d" / "both.csv.gz", "wt") as out:
        out.write("\n".join(lines) + "\n")
    report = load([tmp_path / "d" / "*.csv.gz"], symbol_column="symbol")
    assert list(report.bars) == ["AAA"]
    assert failed_checks(report) == {"high_low": [10]}  # file row 10 = BBB's 5th bar
    assert report.errors[0][0].symbol == "BBB"


def test_parquet(tmp_path: Path) -> None:
    import polars as pl

    df = pl.read_csv(write_csv(tmp_path / "x.csv", good_rows()), try_parse_dates=True)
    df.write_parquet(tmp_path / "P.parquet")
    report = load([tmp_path / "P.parquet"])
    assert report.findings == []
    assert report.bars["P"].timestamp[0] == np.datetime64("2024-01-01", "ns").astype(np.int64)


def test_shipped_sample_passes_defaults() -> None:
    from harness.plugins.data.phase import load_and_check
    from harness.plugins.data.settings import DataSettings

    report = load_and_check(DataSettings.from_mapping({}))
    assert report.errors == []
    assert report.warnings == []
    assert sorted(report.bars) == ["AAPL", "GOOG", "IBM", "MSFT"]
    assert all(len(b) > 700 for b in report.bars.values())
    market = report.market()
    assert (market.interval, market.calendar) == ("1d", "weekdays")
