"""Baselines as a gate: save, an unchanged run passes, a change fails naming the figure."""

from __future__ import annotations

import json
from pathlib import Path

from results_helpers import query, run, strategy_config


def test_baseline_save_and_gate(tmp_path: Path) -> None:
    strategy_config(tmp_path)
    assert run("run", "-q", cwd=tmp_path).code == 0
    saved = query("baseline", "save", "-o", "baseline.json", cwd=tmp_path)
    assert saved.code == 0, saved.stderr
    text = (tmp_path / "baseline.json").read_text("utf-8")
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["format"] == "harness-strategy-baseline"
    assert doc["version"] == 1
    figures = doc["phases"]["strategy"]["sma_cross"]["AAPL"]
    assert set(figures) == {"final_equity", "roi", "trades", "wins", "max_drawdown"}

    gated = 'baseline = "baseline.json"\nbaseline_tolerance = { final_equity = 0.001 }'
    strategy_config(tmp_path, extra=gated)
    same = run("run", "-q", cwd=tmp_path)
    assert same.code == 0, same.stdout + same.stderr

    strategy_config(tmp_path, fast=5, extra=gated)
    drift = run("run", cwd=tmp_path)
    assert drift.code == 1
    first = "strategy 'sma_cross' on AAPL: gate baseline.final_equity failed: value "
    assert first in drift.stdout
    assert f"baseline {figures['final_equity']:.10g} (relative tolerance 0.001)" in drift.stdout
    gates = query("events", "--type", "strategy.gate", "--json", cwd=tmp_path).stdout.splitlines()
    names = {(g["data"]["strategy"], g["data"]["gate"]) for g in map(json.loads, gates)}
    assert ("sma_cross", "baseline.trades") in names
    assert not any(s == "buy_and_hold" for s, _ in names)


def test_missing_or_foreign_baseline_is_a_config_error(tmp_path: Path) -> None:
    strategy_config(tmp_path, extra='baseline = "missing.json"')
    missing = run("run", cwd=tmp_path)
    assert missing.code == 4
    assert "phases.strategy.baseline" in missing.stderr
    assert "missing.json" in missing.stderr
    assert "no such file" in missing.stderr
    assert not (tmp_path / "runs").exists()

    (tmp_path / "missing.json").write_text('{"phases": {}}', "utf-8")
    foreign = run("run", cwd=tmp_path)
    assert foreign.code == 4
    assert "not a baseline file" in foreign.stderr
    # never written over a file harness did not make
    strategy_config(tmp_path)
    assert run("run", "-q", cwd=tmp_path).code == 0
    refused = query("baseline", "save", "-o", "missing.json", cwd=tmp_path)
    assert refused.code == 4
    assert "not overwritten" in refused.stderr
    assert (tmp_path / "missing.json").read_text("utf-8") == '{"phases": {}}'


def test_tolerances_relative_for_equity_absolute_for_the_rest() -> None:
    from harness.plugins.strategy.baseline import check

    base = {"s": {"A": {"final_equity": 1000.0, "roi": 0.10, "trades": 5}}}

    def drifts(new: dict[str, float], **tol: float) -> list[str]:
        found = check(base, {"s": {"A": new}, "other": {"A": new}}, ["s"], tol)
        return [d.figure for d in found]

    assert (
        drifts({"final_equity": 1000.9, "roi": 0.1005, "trades": 5}, final_equity=0.001, roi=0.001)
        == []
    )
    assert drifts({"final_equity": 1001.1, "roi": 0.1, "trades": 6}, final_equity=0.001) == [
        "final_equity",
        "trades",
    ]
    assert drifts({"final_equity": 1000.0, "roi": 0.1 + 1e-12, "trades": 5}) == []
    missing = check(base, {"s": {"B": {"trades": 1}}}, ["s"])
    assert [(d.symbol, d.gate()[1]) for d in missing] == [
        ("B", "not in the baseline"),
        ("A", "no backtest in this run"),
    ]
