"""The orders phase end to end, offline (no ccxt needed): real ``harness run`` subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ccxt_run import run_harness
from orders_helpers import LOOSE, SYMBOLS, offline, orders_of, phases
from test_api_run import assert_valid


def test_orders_within_the_rules_pass(tmp_path: Path) -> None:
    run = run_harness(tmp_path, phases(offline()))
    assert run.code == 0, run.stdout + run.stderr
    orders = orders_of(run)
    assert [o["symbol"] for o in orders] == list(SYMBOLS)
    for o in orders:
        assert (o["strategy"], o["side"], o["verdict"], o["source"]) == (
            "buy_and_hold",
            "buy",
            "accepted",
            "offline",
        )
        assert o["amount"] == int(o["amount"]) >= 1  # whole shares (amount_step 1)
        assert o["notional"] <= 1000.0
    section = run.summary["orders"]
    assert (section["total"], section["accepted"], section["rejected"]) == (4, 4, 0)
    assert section["phases"] == [
        {"phase": "orders", "signals": "latest", "source": "offline", "dry_run": False}
    ]
    assert [p["name"] for p in run.summary["phases"]] == ["data", "strategy", "orders"]
    assert_valid(run)


def test_a_rejected_order_fails_naming_symbol_rule_value_and_limit(tmp_path: Path) -> None:
    markets = {s: dict(LOOSE) for s in SYMBOLS}
    markets["IBM"]["min_cost"] = 5000.0
    run = run_harness(tmp_path, phases(offline(markets=markets)))
    assert run.code == 1
    [phase] = [p for p in run.summary["phases"] if p["name"] == "orders"]
    assert phase["status"] == "failed"
    message = phase["message"]
    assert message.startswith("1 of 4 orders rejected: IBM buy_and_hold buy: min_cost: notional ")
    assert "below limit 5000" in message
    [ibm] = [o for o in orders_of(run) if o["symbol"] == "IBM"]
    assert (ibm["verdict"], ibm["rule"], ibm["limit"]) == ("rejected", "min_cost", 5000.0)
    assert ibm["value"] == ibm["notional"]
    assert run.summary["orders"]["rejected"] == 1
    assert_valid(run)


def test_markets_file_fraction_sizing_and_symbol_mapping(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    rules = {f"{s}/USD": dict(LOOSE) for s in SYMBOLS}
    (tmp_path / "markets.json").write_text(json.dumps({"markets": rules}), "utf-8")
    settings = {
        "signals": "latest",
        "fraction": 0.1,
        "balance": 20000.0,
        "markets_file": "markets.json",
        "symbols": {s: f"{s}/USD" for s in SYMBOLS},
        "order_type": "market",
    }
    run = run_harness(tmp_path, phases(settings))
    assert run.code == 0, run.stdout + run.stderr
    orders = orders_of(run)
    assert {o["market"] for o in orders} == {f"{s}/USD" for s in SYMBOLS}
    assert all(o["type"] == "market" and o["notional"] <= 2000.0 for o in orders)


def test_last_bar_without_signal_builds_no_order(tmp_path: Path) -> None:
    run = run_harness(tmp_path, phases(offline(signals="last_bar")))
    assert run.code == 0, run.stdout + run.stderr
    assert orders_of(run) == []
    [phase] = [p for p in run.summary["phases"] if p["name"] == "orders"]
    assert "no signal on the last bar" in phase["message"]
    assert run.summary["orders"]["total"] == 0


def test_without_a_strategy_phase_the_phase_fails_clearly(tmp_path: Path) -> None:
    run = run_harness(tmp_path, {"orders": offline()})
    assert run.code == 1
    assert "needs a strategy phase" in run.summary["phases"][0]["message"]


def test_config_mistakes_exit_4_before_anything_runs(tmp_path: Path) -> None:
    cases = {
        "both": (offline(fraction=0.5), "phases.orders.quote_amount"),
        "no-balance": (
            {k: v for k, v in offline(fraction=0.5).items() if k != "quote_amount"},
            "phases.orders.balance",
        ),
        "test-orders": (offline(test_orders=True), "phases.orders.test_orders"),
        "bad-file": (offline(markets_file="nope.json"), "phases.orders.markets_file"),
        "no-exchange": (offline(exchange="nowhere"), "phases.orders.exchange"),
    }
    for name, (settings, key) in cases.items():
        run = run_harness(tmp_path / name, phases(settings))
        text = run.stdout + run.stderr
        assert run.code == 4, (name, text)
        assert key in text, (name, text)
        assert "Traceback" not in text


def test_the_shipped_default_runs_offline_without_ccxt(tmp_path: Path) -> None:
    # no harness.toml in tmp_path: the built-in default; ccxt made unimportable in the child
    hide = (
        "import sys; sys.modules['ccxt'] = None; "
        "from harness.cli import main; raise SystemExit(main())"
    )
    tmp_path.mkdir(exist_ok=True)
    proc = subprocess.run(
        [
            *(sys.executable, "-c", hide, "run", "--config", "builtin:demo"),
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env={**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert [p["name"] for p in summary["phases"]] == ["data", "strategy", "orders", "api"]
    section = summary["orders"]
    assert section["total"] > 0
    assert section["accepted"] == section["total"]
    assert section["phases"][0]["source"] == "offline"


def test_resume_keeps_the_orders_section(tmp_path: Path) -> None:
    # a command phase after orders fails once (no marker file yet), then passes on --resume
    flaky = {
        "plugin": "command",
        "run": [sys.executable, "-c", "import os, sys; sys.exit(0 if os.path.exists('ok') else 1)"],
    }
    first = run_harness(tmp_path, phases(offline(), flaky=flaky))
    assert first.code == 1
    assert first.summary["orders"]["accepted"] == 4
    (tmp_path / "ok").write_text("", "utf-8")
    env = {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", str(first.run_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((first.run_dir / "summary.json").read_text("utf-8"))
    assert summary["orders"]["accepted"] == 4
    assert [o["symbol"] for o in summary["orders"]["orders"]] == list(SYMBOLS)


def test_resume_after_a_failed_orders_phase_has_the_signals(tmp_path: Path) -> None:
    """strategy passed, orders failed: on --resume strategy is restored with its signals."""
    markets = {s: dict(LOOSE) for s in SYMBOLS}
    markets["IBM"]["min_cost"] = 5000.0
    first = run_harness(tmp_path, phases(offline(markets=markets)))
    assert first.code == 1
    config = tmp_path / "harness.toml"
    config.write_text(config.read_text("utf-8").replace("5000.0", "10.0"), "utf-8")
    env = {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", str(first.run_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((first.run_dir / "summary.json").read_text("utf-8"))
    rows = {p["name"]: p for p in summary["phases"]}
    assert rows["strategy"]["resumed"] is True
    assert rows["orders"]["status"] == "passed"
    assert summary["orders"]["accepted"] == 4
