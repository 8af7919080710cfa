"""Small helpers shared by the data plugin tests: write tiny OHLCV files, load them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.plugins.data.phase import DataReport, load_and_check
from harness.plugins.data.settings import DataSettings

HEADER = "timestamp,open,high,low,close,volume\n"


def good_rows(n: int = 12, start_day: int = 1) -> list[str]:
    """``n`` clean daily bars starting 2024-01-<start_day> (24/7 calendar)."""
    rows = []
    for i in range(n):
        price = 100.0 + i
        rows.append(f"2024-01-{start_day + i:02d},{price},{price + 2},{price - 1},{price + 1},1000")
    return rows


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def load(paths: list[Path], **settings: Any) -> DataReport:
    raw: dict[str, Any] = {"paths": [str(p) for p in paths], "interval": "1d", **settings}
    return load_and_check(DataSettings.from_mapping(raw))


def checks(
    settings: Mapping[str, Mapping[str, Any]] | None = None, **severity: str
) -> dict[str, Any]:
    """A ``checks`` table: ``checks(min_rows="off")``."""
    out: dict[str, Any] = {k: dict(v) for k, v in (settings or {}).items()}
    for name, sev in severity.items():
        out.setdefault(name, {})["severity"] = sev
    return out


def failed_checks(report: DataReport) -> dict[str, list[int]]:
    """check -> first offending row numbers, for the failed error checks."""
    return {
        finding.check: [int(frame.rows[p]) for p in finding.positions[:5]]
        for frame, finding in report.errors
    }
