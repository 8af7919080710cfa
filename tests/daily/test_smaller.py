"""Issue 12, item 9: the smaller items, each through the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from daily_helpers import harness, write


def _csv(days: list[dt.date]) -> str:
    rows = [f"{d.isoformat()},10,11,9,10,1000" for d in days]
    return "date,open,high,low,close,volume\n" + "\n".join(rows) + "\n"


def test_a_gap_failure_names_the_gap_that_broke_the_threshold(tmp_path: Path) -> None:
    start = dt.date(2024, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range(60)]
    small = {5, 10, 15, 20}  # four one-day gaps first (more than the 3 examples shown)
    kept = [d for i, d in enumerate(days) if i not in small and not 40 <= i < 46]
    write(tmp_path / "X.csv", _csv(kept))
    write(
        tmp_path / "harness.toml",
        '[phases.data]\npaths = ["X.csv"]\ninterval = "1d"\n'
        "[phases.data.checks.gaps]\nmax_missing_bars = 3\n",
    )
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("FAILED data - "))
    assert "largest 6 missing bars before row" in line
    assert "at 2024-02-16T00:00:00Z" in line  # the bar after the 6-day hole


def test_a_dry_run_api_phase_is_skipped_not_passed(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        '[phases.api]\ndry_run = true\n[[phases.api.exchanges]]\nname = "x"\n'
        'base_url = "https://api.example.com"\n',
    )
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "latest" / "summary.json").read_text("utf-8"))
    (phase,) = summary["phases"]
    assert phase["status"] == "skipped"
    assert "dry run, exchange not contacted" in phase["message"]
    assert "1 checks" not in phase["message"]


def test_autoload_off_skips_an_entry_point_plugins_phase_like_p_no(tmp_path: Path) -> None:
    from importlib import metadata

    names = [ep.name for ep in metadata.entry_points(group="harness")]
    if not names:
        import pytest

        pytest.skip("no entry-point plugin installed (examples/harness-example-plugin)")
    write(
        tmp_path / "harness.toml",
        f'[phases.ep]\nplugin = "{names[0]}"\n\n[phases.c]\nplugin = "command"\nrun = ["true"]\n',
    )
    off = harness("run", "-q", cwd=tmp_path)  # clean_env: HARNESS_DISABLE_PLUGIN_AUTOLOAD=1
    blocked = harness("run", "-q", "-p", f"no:{names[0]}", cwd=tmp_path)
    for result in (off, blocked):
        assert result.code == 0, result.output
        assert "1 skipped, 1 passed" in result.stdout


def test_the_step_summary_counts_only_retried_attempts(tmp_path: Path) -> None:
    fail = '["python3", "-c", "import sys; sys.exit(1)"]'
    write(
        tmp_path / "harness.toml",
        f'[phases.flaky]\nplugin = "command"\nrun = {fail}\nretryable = true\n'
        "[phases.flaky.retry]\nmax_retries = 1\nbase_delay = 0.01\n",
    )
    summary = tmp_path / "summary.md"
    result = harness(
        "run", "-q", cwd=tmp_path, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary)
    )
    assert result.code == 1, result.output
    text = summary.read_text("utf-8")
    assert "<summary>1 retried attempt, 1 attempt given up</summary>" in text
