"""Issue 12, item 1: several data sources; a strategy phase selects its inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daily_helpers import harness, write

SAMPLE = Path(__file__).resolve().parents[2] / "plugins" / "data" / "sample"


def _config(yahoo: list[str], binance: list[str], data: str = "") -> str:
    def paths(names: list[str]) -> str:
        return json.dumps([str(SAMPLE / f"{n}.csv") for n in names])

    return (
        f'[phases.yahoo]\nplugin = "data"\ninterval = "1d"\ncalendar = "weekdays"\n'
        f"paths = {paths(yahoo)}\n\n"
        f'[phases.binance]\nplugin = "data"\ninterval = "1d"\ncalendar = "weekdays"\n'
        f"paths = {paths(binance)}\n\n"
        f"[phases.strategy]\n{data}\n"
        '[[phases.strategy.strategies]]\nname = "buy_and_hold"\n'
    )


def _events(folder: Path, type_: str) -> list[dict[str, Any]]:
    lines = (folder / "runs" / "latest" / "events.jsonl").read_text("utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == type_]


def test_every_data_phase_before_feeds_the_strategy(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", _config(["AAPL", "GOOG"], ["IBM"]))
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    symbols = sorted(e["data"]["symbol"] for e in _events(tmp_path, "strategy.result"))
    assert symbols == ["AAPL", "GOOG", "IBM"]


def test_a_strategy_phase_selects_its_sources(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", _config(["AAPL", "GOOG"], ["IBM"], 'data = ["binance"]'))
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    assert [e["data"]["symbol"] for e in _events(tmp_path, "strategy.result")] == ["IBM"]


def test_the_same_symbol_from_two_sources_is_an_error_naming_both(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", _config(["AAPL", "GOOG"], ["AAPL", "IBM"]))
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 1, result.output
    short = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert short == [
        "FAILED strategy - symbol 'AAPL' comes from two data phases, 'yahoo' and 'binance': "
        "choose one with phases.strategy.data = [...]"
    ]
    binance = next(e for e in _events(tmp_path, "phase_end") if e["phase"] == "binance")
    assert "AAPL is also loaded by data phase 'yahoo'" in binance["message"]
    # choosing one source resolves it
    write(tmp_path / "harness.toml", _config(["AAPL", "GOOG"], ["AAPL", "IBM"], 'data = ["yahoo"]'))
    assert harness("run", "-q", cwd=tmp_path).code == 0


def test_an_unknown_source_names_what_there_is(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", _config(["AAPL"], ["IBM"], 'data = ["yahooo"]'))
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 1, result.output
    assert "phases.strategy.data: data phase 'yahooo' has put no market data" in result.stdout
    assert "binance, yahoo" in result.stdout
