"""``harness run --resume`` rebuilds ``data.market``; transient read errors are retried.

Both through ``harness run`` in a subprocess, with local plugins written into the tmp dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import HARNESS, good_rows, harness_run, run_events, run_summary, write_csv

pytestmark = pytest.mark.skipif(not HARNESS.exists(), reason="harness CLI not installed")

# A later phase that reads the artifact, records what it saw, and fails the first time.
FLAKY = '''
"""Reads data.market; fails while the flag file is absent (and creates it)."""
from pathlib import Path

from harness import PhaseResult, hookimpl
from harness import MARKET_ARTIFACT, MarketData


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "flaky":
        return None
    market = ctx.artifacts.get(MARKET_ARTIFACT, MarketData)
    seen = {s: len(b) for s, b in market.bars.items()}
    with ctx.resolve_path("seen.txt").open("a") as out:
        out.write(f"{sorted(seen.items())} {market.interval} {market.calendar}\\n")
    flag = ctx.resolve_path("flag")
    if not flag.exists():
        flag.write_text("failed once")
        return PhaseResult.failed("first attempt fails on purpose")
    return PhaseResult.passed("read data.market")
'''

RESUME_TOML = """
[harness]
plugins = ["./flaky.py"]
[phases.data]
paths = ["prices/*.csv"]
interval = "1d"
[phases.later]
plugin = "flaky"
"""


def test_resume_rebuilds_market_without_rerunning_data(tmp_path: Path) -> None:
    (tmp_path / "flaky.py").write_text(FLAKY, encoding="utf-8")
    (tmp_path / "prices").mkdir()
    write_csv(tmp_path / "prices" / "AAA.csv", good_rows(12))
    write_csv(tmp_path / "prices" / "BBB.csv", good_rows(15))

    first = harness_run(tmp_path, toml=RESUME_TOML)
    assert first.returncode == 1, first.stdout + first.stderr
    before = run_events(tmp_path)
    # new rows after the data phase passed: the resumed run must read the files again
    write_csv(tmp_path / "prices" / "AAA.csv", good_rows(14))

    second = harness_run(tmp_path, "--resume")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    new = run_events(tmp_path)[len(before) :]
    starts = [e["phase"] for e in new if e["type"] == "phase_start"]
    assert starts == ["later"]  # the data phase did not run again
    loaded = [e for e in new if e["type"] == "data.loaded"]
    assert len(loaded) == 1
    assert loaded[0]["phase"] == "data"
    assert loaded[0]["data"] == {"files": 2, "symbols": ["AAA", "BBB"], "resumed": True}
    assert (tmp_path / "seen.txt").read_text().splitlines() == [
        "[('AAA', 12), ('BBB', 15)] 1d 24/7",
        "[('AAA', 14), ('BBB', 15)] 1d 24/7",  # rebuilt by phase_resume from the files
    ]
    summary = run_summary(tmp_path)
    rows = {p["name"]: p for p in summary["phases"]}
    assert rows["data"]["status"] == "passed"
    assert rows["data"]["resumed"] is True
    assert rows["later"]["status"] == "passed"
    assert summary["data"]["rows"] == 29
    assert summary["data"]["symbols"] == ["AAA", "BBB"]


# Replaces the broken file by a good one when the harness asks what to do after a failure
# (as a sync job replacing a file would), then leaves the decision to the retry plugin.
HEALER = '''
"""on_error: record the failure, point the data file at the good copy, decide nothing."""
import os
from pathlib import Path

from harness import hookimpl


@hookimpl(tryfirst=True)
def on_error(phase, ctx, call):
    with ctx.resolve_path("errors.txt").open("a") as out:
        out.write(f"{call.operation} {type(call.excinfo).__name__}: {call.excinfo}\\n")
    link = ctx.resolve_path("X.csv")
    tmp = ctx.resolve_path("X.csv.new")
    os.symlink("good.csv", tmp)
    os.replace(tmp, link)
    return None
'''

RETRY_TOML = """
[harness]
plugins = {plugins}
[plugins.retry]
max_retries = 2
base_delay = 0.01
max_delay = 0.02
[phases.data]
paths = ["X.csv"]
interval = "1d"
"""


def _broken_file(tmp_path: Path) -> None:
    """``X.csv`` -> ``/proc/self/mem``: a regular file whose read fails with a real EIO."""
    write_csv(tmp_path / "good.csv", good_rows())
    os.symlink("/proc/self/mem", tmp_path / "X.csv")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_transient_read_error_is_retried(tmp_path: Path) -> None:
    _broken_file(tmp_path)
    (tmp_path / "healer.py").write_text(HEALER, encoding="utf-8")
    result = harness_run(tmp_path, toml=RETRY_TOML.format(plugins='["./healer.py"]'))
    assert result.returncode == 0, result.stdout + result.stderr
    errors = (tmp_path / "errors.txt").read_text().splitlines()
    assert errors == ["read X.csv RetryableError: X.csv: Input/output error"]
    retries = [e for e in run_events(tmp_path) if e["type"] == "retry"]
    assert [(e["phase"], e["data"]["operation"], e["data"]["attempt"]) for e in retries] == [
        ("data", "read X.csv", 1)
    ]
    summary = run_summary(tmp_path)
    assert summary["data"]["symbols"] == ["X"]
    assert summary["data"]["rows"] == 12


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_read_error_that_persists_fails_in_one_line(tmp_path: Path) -> None:
    _broken_file(tmp_path)
    result = harness_run(tmp_path, toml=RETRY_TOML.format(plugins="[]"))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert "X.csv: cannot read: Input/output error" in out
    retries = [e for e in run_events(tmp_path) if e["type"] == "retry"]
    assert len(retries) == 2  # max_retries
