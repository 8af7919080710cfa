"""Small helpers shared by the data plugin tests: write tiny OHLCV files, load them, run
``harness run`` on them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
        finding.check: [frame.row(int(p)) for p in finding.positions[:5]]
        for frame, finding in report.errors
    }


HARNESS = Path(sys.executable).with_name("harness")


def harness_run(cwd: Path, *args: str, toml: str | None = None) -> subprocess.CompletedProcess[str]:
    """``harness run ARGS`` in ``cwd`` (writing ``harness.toml`` first when given)."""
    if toml is not None:
        (cwd / "harness.toml").write_text(toml, encoding="utf-8")
    env = {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [str(HARNESS), "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_events(cwd: Path) -> list[dict[str, Any]]:
    """The events of the latest run under ``cwd/runs``."""
    lines = (cwd / "runs" / "latest" / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def run_summary(cwd: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((cwd / "runs" / "latest" / "summary.json").read_text())
    return summary
