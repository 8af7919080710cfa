"""``harness run`` as a subprocess on a tmp harness.toml with a ``[phases.data]`` table."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .helpers import HARNESS, good_rows, harness_run, run_events, run_summary, write_csv


def _run(tmp_path: Path, toml: str) -> subprocess.CompletedProcess[str]:
    return harness_run(tmp_path, toml=toml)


pytestmark = pytest.mark.skipif(not HARNESS.exists(), reason="harness CLI not installed")


def test_broken_file_fails_with_three_named_issues(tmp_path: Path) -> None:
    rows = good_rows()
    rows[2] = rows[1]
    rows[4] = "2024-01-05,104,104.5,103,105,1000"
    rows[7] = "2024-01-08,107,109,106,108,-5"
    write_csv(tmp_path / "bad.csv", rows)
    result = _run(
        tmp_path,
        '[phases.data]\npaths = ["bad.csv"]\ninterval = "1d"\n'
        '[phases.data.checks.gaps]\nseverity = "off"\n',
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert "bad.csv: duplicates: 1 row (row 3" in out
    assert "high_low: 1 row (row 5" in out
    assert "negative_volume: 1 row (row 8" in out
    issues = [e for e in run_events(tmp_path) if e["type"] == "data.issue"]
    assert [(e["data"]["check"], e["data"]["rows"], e["level"]) for e in issues] == [
        ("duplicates", [3], "error"),
        ("high_low", [5], "error"),
        ("negative_volume", [8], "error"),
    ]
    summary = run_summary(tmp_path)
    assert summary["data"]["errors"] == 3


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = _run(tmp_path, '[phases.data]\npaths = ["gone.csv"]\n')
    assert result.returncode == 1, result.stdout + result.stderr
    assert "gone.csv: no such file" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_shipped_sample_passes(tmp_path: Path) -> None:
    result = _run(tmp_path, '[phases.data]\ninterval = "1d"\ncalendar = "weekdays"\n')
    assert result.returncode == 0, result.stdout + result.stderr
    summary = run_summary(tmp_path)
    assert summary["data"]["symbols"] == ["AAPL", "GOOG", "IBM", "MSFT"]
    assert summary["data"]["errors"] == 0
    assert summary["data"]["rows"] > 2800


def test_a_clean_csv_passes(tmp_path: Path) -> None:
    write_csv(tmp_path / "BTC.csv", good_rows())
    result = _run(tmp_path, '[phases.data]\npaths = "*.csv"\ninterval = "1d"\n')
    assert result.returncode == 0, result.stdout + result.stderr
