"""End to end: ``harness run`` with the data phase and the strategy phase."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from harness.plugins.strategy.phase import NO_DATA

HARNESS = Path(sys.executable).with_name("harness")

BASE = """
[harness]
heartbeat_interval = 0.2

[phases.data]

[phases.strategy]
initial_cash = 10000.0
commission = 0.001
"""

STRATEGIES = """
[[phases.strategy.strategies]]
name = "sma_cross"
params = { fast = 10, slow = 30 }
gates = { min_trades = {min_trades}, max_drawdown = 0.6 }
sweep = { fast = [5, 10, 20], slow = [30, 50] }

[[phases.strategy.strategies]]
name = "momentum"
params = { lookback = 20 }
gates = { min_trades = 1 }

[[phases.strategy.strategies]]
name = "buy_and_hold"
gates = { max_drawdown = 0.9 }
"""


def run(tmp_path: Path, config: str, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    (tmp_path / "harness.toml").write_text(textwrap.dedent(config))
    out = tmp_path / "out"
    env = {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run(
        [str(HARNESS), "run", "--output-dir", str(out), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return proc, out


def events(out: Path, type_: str) -> list[dict[str, Any]]:
    lines = (out / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == type_]


def test_backtests_the_sample_and_fills_the_summary(tmp_path: Path) -> None:
    proc, out = run(tmp_path, BASE + STRATEGIES.replace("{min_trades}", "1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    results = events(out, "strategy.result")
    assert len(results) == 12  # 3 strategies x 4 symbols
    finals = [e["data"]["metrics"]["final_equity"] for e in results]
    trades = [e["data"]["metrics"]["trades"] for e in results]
    wins = [e["data"]["metrics"]["wins"] for e in results]
    assert summary["capital"]["initial"] == 12 * 10_000
    assert summary["capital"]["current"] == pytest.approx(sum(finals))
    assert summary["capital"]["roi"] == pytest.approx(sum(finals) / 120_000 - 1)
    assert summary["trades"] == {
        "total": sum(trades),
        "wins": sum(wins),
        "losses": sum(trades) - sum(wins),
    }
    assert summary["trades"]["total"] > 0
    table = {row["strategy"]: row for row in summary["strategy"]["strategies"]}
    assert set(table) == {"sma_cross", "momentum", "buy_and_hold"}
    assert set(table["momentum"]["symbols"]) == {"AAPL", "GOOG", "IBM", "MSFT"}
    for row in table.values():
        for figures in row["symbols"].values():
            for name in ("equity", "trades"):
                assert (out / figures["files"][name]).is_file()
    sweeps = summary["strategy"]["sweeps"]
    assert [s["symbol"] for s in sweeps] == ["AAPL", "GOOG", "IBM", "MSFT"]
    assert all(len(s["table"]) == 6 and s["best"] is not None for s in sweeps)
    assert len(events(out, "strategy.sweep")) == 4
    # the files are Parquet by default and agree with the summary
    aapl = table["sma_cross"]["symbols"]["AAPL"]
    assert aapl["files"]["equity"] == "strategy/equity_sma_cross_AAPL.parquet"
    trades = pl.read_parquet(out / aapl["files"]["trades"])
    assert trades.height == aapl["trades"]
    assert (trades["pnl"] > 0).sum() == aapl["wins"]
    curve = pl.read_parquet(out / aapl["files"]["equity"])
    assert curve.columns == ["timestamp", "equity", "position"]
    assert curve.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert curve.height == aapl["bars"]
    assert curve["equity"][-1] == pytest.approx(aapl["final_equity"])
    # sweep tables are CSV
    assert sweeps[0]["file"].endswith(".csv")
    assert pl.read_csv(out / sweeps[0]["file"]).height == 6


def test_curves_format_csv_writes_csv_with_iso_times(tmp_path: Path) -> None:
    config = """
    [phases.data]
    [phases.strategy]
    curves_format = "csv"
    strategies = [{ name = "sma_cross", symbols = ["IBM"] }]
    """
    proc, out = run(tmp_path, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = events(out, "strategy.result")
    files = result["data"]["files"]
    assert files == {
        "equity": "strategy/equity_sma_cross_IBM.csv",
        "trades": "strategy/trades_sma_cross_IBM.csv",
    }
    lines = (out / files["trades"]).read_text().splitlines()
    assert lines[0].startswith("entry_time,exit_time,entry_bar,")
    assert len(lines) - 1 == result["data"]["metrics"]["trades"]
    first = (out / files["equity"]).read_text().splitlines()[1]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z,", first), first
    assert not list((out / "strategy").glob("*.tmp"))


SLOW_PLUGIN = '''
import time

import numpy as np
from harness import hookimpl


def slow_flip(bars, *, pause=0.0):
    """Alternates long and short every 5 bars, slowly (heartbeats tick meanwhile)."""
    time.sleep(pause)
    sig = np.zeros(len(bars), dtype=np.int8)
    sig[::10] = 1
    sig[5::10] = -1
    return sig


@hookimpl
def strategy_functions():
    return {"slow_flip": slow_flip}
'''


def test_heartbeats_carry_the_live_figures(tmp_path: Path) -> None:
    (tmp_path / "slow_strats.py").write_text(SLOW_PLUGIN)
    config = """
    [harness]
    plugins = ["./slow_strats.py"]
    heartbeat_interval = 0.05

    [phases.data]

    [phases.strategy]
    strategies = [
        { name = "slow_flip", params = { pause = 0.1 }, gates = { look_ahead = false } },
    ]
    """
    proc, out = run(tmp_path, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    beats = [e for e in events(out, "heartbeat") if e["phase"] == "strategy"]
    # a heartbeat may tick while the phase still imports its modules (no figures yet);
    # from the first one with figures on, every heartbeat carries them
    start = next(i for i, b in enumerate(beats) if b["metrics"])
    assert all(not b["metrics"] for b in beats[:start]), beats
    beats = beats[start:]
    assert len(beats) >= 3, beats
    for beat in beats:
        assert {"equity", "pnl", "trades", "wins", "losses"} <= set(beat["metrics"]), beat
    # the figures move as the backtests finish (4 symbols, one after the other)
    summary = json.loads((out / "summary.json").read_text())
    first, last = beats[0]["metrics"], beats[-1]["metrics"]
    assert first["equity"] == summary["capital"]["initial"] == 4 * 10_000
    assert first["trades"] == 0
    done = [b["metrics"] for b in beats if b["metrics"]["trades"] > 0]
    assert done, "no heartbeat saw a finished backtest"
    assert last["trades"] <= summary["trades"]["total"]
    assert all(b["wins"] + b["losses"] == b["trades"] for b in done)
    assert any(b["pnl"] != 0 for b in done)


def test_a_gate_above_what_a_strategy_reaches_fails_the_run(tmp_path: Path) -> None:
    proc, out = run(tmp_path, BASE + STRATEGIES.replace("{min_trades}", "1000"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    phase = next(p for p in summary["phases"] if p["name"] == "strategy")
    assert phase["status"] == "failed"
    text = phase["message"] or phase["error"]
    assert "strategy 'sma_cross' on AAPL: gate min_trades failed" in text
    assert "threshold 1000" in text
    assert "strategy 'sma_cross' on AAPL: gate min_trades failed" in proc.stdout + proc.stderr
    gates = events(out, "strategy.gate")
    assert {e["data"]["symbol"] for e in gates} == {"AAPL", "GOOG", "IBM", "MSFT"}
    assert all(e["data"]["gate"] == "min_trades" for e in gates)
    # the figures are still reported
    assert summary["trades"]["total"] > 0


def test_without_market_data_the_phase_says_what_is_missing(tmp_path: Path) -> None:
    proc, _out = run(tmp_path, "[phases.strategy]\n")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert NO_DATA in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_an_unknown_setting_is_a_config_error(tmp_path: Path) -> None:
    proc, _ = run(tmp_path, BASE + "comission = 0.1\n")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "comission" in proc.stdout + proc.stderr


PLUGIN = '''
import numpy as np
from harness import hookimpl


def every_n(bars, *, n=10):
    """Alternate long and short every n bars."""
    sig = np.zeros(len(bars), dtype=np.int8)
    sig[::n] = 1
    sig[n // 2 :: n] = -1
    return sig


def tomorrow(bars):
    """Peeks at the next close: the look-ahead gate must catch it."""
    nxt = np.append(bars.close[1:], bars.close[-1])
    return np.sign(nxt - bars.close).astype(np.int8)


@hookimpl
def strategy_functions():
    return {"every_n": every_n, "tomorrow": tomorrow}
'''


def test_a_third_party_strategy_plugin_with_a_parallel_sweep(tmp_path: Path) -> None:
    (tmp_path / "my_strats.py").write_text(PLUGIN)
    config = """
    [harness]
    plugins = ["./my_strats.py"]

    [phases.data]

    [phases.strategy]
    workers = 2
    sweep_metric = "roi"

    [[phases.strategy.strategies]]
    name = "every_n"
    params = { n = 10 }
    symbols = ["IBM"]
    gates = { min_trades = 50 }
    sweep = { n = [4, 6, 8, 10, 12] }
    """
    proc, out = run(tmp_path, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    (row,) = summary["strategy"]["strategies"]
    assert row["name"] == "every_n"
    assert list(row["symbols"]) == ["IBM"]
    (sweep,) = summary["strategy"]["sweeps"]
    assert [r["params"]["n"] for r in sweep["table"]] == [4, 6, 8, 10, 12]
    rois = [r["metrics"]["roi"] for r in sweep["table"]]
    assert sweep["best"]["metrics"]["roi"] == max(rois)


def test_look_ahead_gate_names_the_bar(tmp_path: Path) -> None:
    (tmp_path / "my_strats.py").write_text(PLUGIN)
    config = """
    [harness]
    plugins = ["./my_strats.py"]

    [phases.data]

    [phases.strategy]
    strategies = [{ name = "tomorrow", symbols = ["MSFT"] }]
    """
    proc, out = run(tmp_path, config)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (gate,) = events(out, "strategy.gate")
    assert gate["data"]["gate"] == "look_ahead"
    assert gate["data"]["value"].startswith("signal differs at bar ")
    # the bar's time in RFC 3339 UTC, as every other timestamp
    assert re.fullmatch(
        r"signal differs at bar \d+ \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", gate["data"]["value"]
    ), gate["data"]["value"]
    assert "strategy 'tomorrow' on MSFT: gate look_ahead failed" in proc.stdout + proc.stderr


def test_lookahead_bars_bounds_the_cuts(tmp_path: Path) -> None:
    (tmp_path / "my_strats.py").write_text(PLUGIN)
    config = """
    [harness]
    plugins = ["./my_strats.py"]

    [phases.data]

    [phases.strategy]
    lookahead_cuts = 2
    lookahead_bars = 60
    strategies = [{ name = "tomorrow", symbols = ["MSFT"] }]
    """
    proc, out = run(tmp_path, config)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (gate,) = events(out, "strategy.gate")
    # cuts at 30 and 60 bars only: the first one finds bar 29
    assert gate["data"]["value"].startswith("signal differs at bar 29 ")
    assert gate["data"]["threshold"] == "same signal with the data cut at bar 30"


def test_resume_keeps_the_figures_of_a_strategy_phase_that_passed(tmp_path: Path) -> None:
    config = """
    [phases.data]
    [phases.strategy]
    [phases.after]
    plugin = "command"
    run = ["false"]
    """
    proc, out = run(tmp_path, config)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    first = json.loads((out / "summary.json").read_text())
    proc, _ = run(tmp_path, config, "--resume", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    second = json.loads((out / "summary.json").read_text())
    phase = next(p for p in second["phases"] if p["name"] == "strategy")
    assert phase["resumed"] is True
    assert second["capital"] == first["capital"]
    assert second["trades"] == first["trades"]
    assert second["strategy"]["strategies"] == first["strategy"]["strategies"]
