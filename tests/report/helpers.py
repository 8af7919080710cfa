"""Runs to make reports of: a real small run (with a third-party phase) and a synthetic one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

HARNESS = [sys.executable, "-m", "harness"]
SECRET = "tok-SECRET-0123456789abcdef"
HOSTILE = '<script>alert("pwned")</script>'

#: a third-party phase: fails once (hostile text and a secret in the error), then passes;
#: adds its own report section (a table with hostile text and a chart)
PLUGIN = textwrap.dedent(
    f"""
    import time

    from harness import PhaseResult, RetryableError, hookimpl

    ATTEMPTS = []


    @hookimpl
    def phase_run(phase, ctx):
        if phase.plugin != "myphase":
            return None
        ctx.add_secret({SECRET!r})
        ATTEMPTS.append(1)
        if len(ATTEMPTS) == 1:
            raise RetryableError({"flaky " + HOSTILE + " key " + SECRET!r})
        for n in range(8):  # a few heartbeats carry these live metrics
            ctx.metrics["widgets"] = n
            ctx.metrics["equity"] = 1000.0 + n
            time.sleep(0.05)
        return PhaseResult.passed("my phase ok", metrics={{"widgets": 7}})


    @hookimpl
    def report_sections(run_dir, summary, events):
        return [
            {{
                "title": "My phase",
                "blocks": [
                    {{"type": "table", "columns": ["what", "value"],
                      "rows": [["widgets", 7], ["hostile", "<img src=x onerror=alert(1)>"]]}},
                    {{"type": "chart", "title": "my series", "x_kind": "number",
                      "series": [{{"label": "y", "x": [1, 2, 3], "y": [3.0, 1.0, 2.0]}}]}},
                ],
            }},
            {{"title": "Broken", "blocks": [{{"type": "html", "html": "<b>raw</b>"}}]}},
        ]
    """
)

CONFIG = textwrap.dedent(
    """
    [harness]
    heartbeat_interval = 0.1
    plugins = ["./myphase.py"]

    [plugins.retry]
    max_retries = 2
    base_delay = 0.01

    [plugins.report]
    enabled = true
    path = "plugin-report.html"

    [phases.data]
    interval = "1d"
    calendar = "weekdays"

    [phases.strategy]
    initial_cash = 10000.0

    [[phases.strategy.strategies]]
    name = "sma_cross"
    params = { fast = 10, slow = 30 }
    gates = { min_trades = 5, max_drawdown = 0.9 }
    sweep = { fast = [5, 10], slow = [30, 50] }

    [phases.api]
    dry_run = true

    [[phases.api.exchanges]]
    name = "example"
    base_url = "https://api.example.com"
    health_path = "/v1/ping"
    time_path = "/v1/time"

    [phases.mine]
    plugin = "myphase"
    """
)


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    out["HARNESS_NO_SLEEP"] = "1"
    out["NO_COLOR"] = "1"
    return out


def real_run(folder: Path) -> Path:
    """A real run (data, strategy, api, a third-party phase with one retry) in ``folder``."""
    (folder / "myphase.py").write_text(PLUGIN, "utf-8")
    (folder / "harness.toml").write_text(CONFIG, "utf-8")
    run_dir = folder / "runs" / "first"
    from harness import RunOptions, run

    old = dict(os.environ)
    os.environ.update(env())
    try:
        outcome = run(RunOptions(output_dir=run_dir, cwd=folder, verbosity=-2))
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert outcome.exit_code == 0, outcome.summary
    return run_dir


def harness_report(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``harness report ...`` as a subprocess."""
    return subprocess.run(
        [*HARNESS, "report", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def synthetic_run(
    run_dir: Path, backtests: int = 1, bars: int = 1_000_000, trades: int = 2000
) -> Path:
    """A finished strategy run written directly: ``backtests`` curves of ``bars`` bars each.

    The shape is what the strategy phase writes (``summary.json`` ``strategy`` section,
    ``strategy/equity_*.parquet`` and ``trades_*.parquet``), so the report reads it as a
    real run; only the figures are random.
    """
    import polars as pl

    rng = np.random.default_rng(7)
    folder = run_dir / "strategy"
    folder.mkdir(parents=True)
    start = np.datetime64("2020-01-01T00:00:00", "ns").astype(np.int64)
    ts = start + np.arange(bars, dtype=np.int64) * 60_000_000_000
    stamps = pl.Series(ts).cast(pl.Datetime("ns", "UTC"))
    rows: list[dict[str, Any]] = []
    labels = ["sma_cross", "momentum", "buy_and_hold"]
    symbols = [f"SYM{i}" for i in range(max(1, -(-backtests // len(labels))))]
    made = 0
    for symbol in symbols:
        for label in labels:
            if made == backtests:
                break
            made += 1
            equity = 10000.0 * np.exp(np.cumsum(rng.normal(0, 5e-4, bars)))
            pl.DataFrame(
                {"timestamp": stamps, "equity": equity, "position": np.zeros(bars, np.int8)}
            ).write_parquet(folder / f"equity_{label}_{symbol}.parquet")
            entry = np.sort(rng.choice(bars - 10, trades, replace=False))
            exit_ = entry + 5
            pnl = equity[exit_] - equity[entry]
            pl.DataFrame({"entry_bar": entry, "exit_bar": exit_, "pnl": pnl}).write_parquet(
                folder / f"trades_{label}_{symbol}.parquet"
            )
            peak = np.maximum.accumulate(equity)
            figures = {
                "initial_equity": 10000.0,
                "final_equity": float(equity[-1]),
                "pnl": float(equity[-1] - 10000.0),
                "roi": float(equity[-1] / 10000.0 - 1),
                "trades": trades,
                "wins": int((pnl > 0).sum()),
                "losses": int((pnl <= 0).sum()),
                "win_rate": float((pnl > 0).mean()),
                "max_drawdown": float(1 - (equity / peak).min()),
                "sharpe": 0.5,
                "exposure": 0.5,
                "buy_hold_return": 0.1,
                "bars": bars,
                "files": {
                    "equity": f"strategy/equity_{label}_{symbol}.parquet",
                    "trades": f"strategy/trades_{label}_{symbol}.parquet",
                },
            }
            row = next((r for r in rows if r["strategy"] == label), None)
            if row is None:
                row = {"strategy": label, "name": label, "params": {}, "symbols": {}}
                rows.append(row)
            row["symbols"][symbol] = figures
    summary = {
        "v": 1,
        "run_id": "20260101T000000Z-synthe",
        "sessions": ["s1"],
        "status": "success",
        "exit_code": 0,
        "runtime_s": 1.0,
        "config": {"path": "<synthetic>", "source": "file", "hash": "sha256:0"},
        "phases": [
            {
                "name": "strategy",
                "plugin": "strategy",
                "status": "passed",
                "attempts": 1,
                "duration_s": 1.0,
                "metrics": {},
            }
        ],
        "strategy": {"strategies": rows, "sweeps": [], "gate_failures": []},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary), "utf-8")
    base = {
        "v": 1,
        "run_id": summary["run_id"],
        "session_id": "s1",
        "level": "info",
        "metrics": {},
        "data": {},
    }
    events = [
        {
            **base,
            "seq": 1,
            "timestamp": "2026-01-01T00:00:00.000Z",
            "type": "session_start",
            "phase": None,
            "message": "start",
        },
        {
            **base,
            "seq": 2,
            "timestamp": "2026-01-01T00:00:00.100Z",
            "type": "phase_start",
            "phase": "strategy",
            "message": "strategy: started",
        },
        {
            **base,
            "seq": 3,
            "timestamp": "2026-01-01T00:00:01.100Z",
            "type": "phase_end",
            "phase": "strategy",
            "message": "strategy: passed",
            "data": {"status": "passed"},
        },
        {
            **base,
            "seq": 4,
            "timestamp": "2026-01-01T00:00:01.200Z",
            "type": "session_end",
            "phase": None,
            "message": "success",
            "data": {"status": "success"},
        },
    ]
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), "utf-8")
    return run_dir
