"""The orders phase with ccxt: market rules from the exchange, test orders, never a real one.

The sample's four stocks are mapped onto the fakes' markets (``symbols``), so the
orders are the bot's next orders on BTC/USDT and ETH/USDT (Binance) or BTC/USD
(Kraken), priced at the stocks' last close.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ccxt_fakes import BinanceFake, KrakenFake
from ccxt_run import api_phase, binance_entry, kraken_entry, run_harness
from orders_helpers import SYMBOLS, orders_of, phases
from test_api_run import assert_valid

pytest.importorskip("ccxt", reason="the ccxt extra is not installed: pip install -e '.[ccxt]'")

BINANCE_MAP = {"AAPL": "BTC/USDT", "GOOG": "ETH/USDT", "IBM": "BTC/USDT", "MSFT": "ETH/USDT"}


@pytest.fixture
def binance() -> Iterator[BinanceFake]:
    fake = BinanceFake().start()
    yield fake
    fake.close()


def _orders(exchange: str, mapping: dict[str, str], **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "signals": "latest",
        "quote_amount": 100.0,
        "exchange": exchange,
        "symbols": mapping,
    }
    settings.update(overrides)
    return settings


def _config(fake: BinanceFake, **overrides: Any) -> dict[str, Any]:
    """Orders on the binance fake; the api phase after it checks the same entry (dry run)."""
    return phases(
        _orders("binance", BINANCE_MAP, **overrides),
        api=api_phase(binance_entry(fake), dry_run=True),
    )


def test_test_orders_are_accepted_and_no_real_order_is_sent(
    tmp_path: Path, binance: BinanceFake
) -> None:
    run = run_harness(tmp_path, _config(binance, test_orders=True))
    assert run.code == 0, run.stdout + run.stderr
    orders = orders_of(run)
    assert len(orders) == 4
    for o in orders:
        assert (o["verdict"], o["source"], o["tested"]) == ("accepted", "ccxt:binance", True)
        assert "test order accepted" in o["reason"]
    # rounded by ccxt to the exchange's step (0.00001 BTC, 0.0001 ETH) and tick (0.01)
    sent = binance.test_orders
    assert [p["symbol"] for p in sent] == ["BTCUSDT", "ETHUSDT", "BTCUSDT", "ETHUSDT"]
    assert all(p["type"] == "LIMIT" and p["side"] == "BUY" for p in sent)
    assert binance.count("/api/v3/order/test", "POST") == 4
    assert binance.real_orders == []
    assert binance.count("/api/v3/order", "POST") == 0
    assert run.summary["orders"]["tested"] == 4
    assert_valid(run)


def test_exchange_rules_reject_before_anything_is_sent(
    tmp_path: Path, binance: BinanceFake
) -> None:
    run = run_harness(tmp_path, _config(binance, quote_amount=2.0, test_orders=True))
    assert run.code == 1
    orders = orders_of(run)
    assert {(o["verdict"], o["rule"], o["limit"]) for o in orders} == {
        ("rejected", "min_cost", 5.0)  # the NOTIONAL filter, read through load_markets
    }
    [phase] = [p for p in run.summary["phases"] if p["name"] == "orders"]
    assert phase["message"].startswith("4 of 4 orders rejected: AAPL buy_and_hold buy (BTC/USDT):")
    assert "min_cost: notional" in phase["message"]
    assert "below limit 5" in phase["message"]
    assert binance.count("/api/v3/order/test") == 0


def test_a_filter_only_the_exchange_knows_rejects_the_test_order(
    tmp_path: Path, binance: BinanceFake
) -> None:
    binance.hidden_filter = "PERCENT_PRICE_BY_SIDE"
    run = run_harness(tmp_path, _config(binance, test_orders=True))
    assert run.code == 1
    first = orders_of(run)[0]
    assert (first["verdict"], first["rule"], first["tested"]) == ("rejected", "exchange", True)
    assert "PERCENT_PRICE_BY_SIDE" in first["reason"]
    assert "InvalidOrder" in first["reason"]  # the ccxt class is named
    assert binance.real_orders == []


def test_dry_run_checks_offline_rules_and_sends_nothing(
    tmp_path: Path, binance: BinanceFake
) -> None:
    rules = {"price_step": 0.01, "amount_step": 0.00001, "min_cost": 5.0}
    markets = {"BTC/USDT": rules, "ETH/USDT": rules}
    run = run_harness(tmp_path, _config(binance, test_orders=True, markets=markets), "--dry-run")
    assert run.code == 0, run.stdout + run.stderr
    assert {(o["verdict"], o["source"], o["tested"]) for o in orders_of(run)} == {
        ("accepted", "offline", False)
    }
    assert binance.requests == 0


def test_kraken_validate_endpoint(tmp_path: Path) -> None:
    fake = KrakenFake().start()
    try:
        mapping = dict.fromkeys(SYMBOLS, "BTC/USD")
        config = phases(
            _orders("kraken", mapping, test_orders=True),
            api=api_phase(kraken_entry(fake), dry_run=True),
        )
        run = run_harness(tmp_path, config)
        assert run.code == 0, run.stdout + run.stderr
        assert len(fake.test_orders) == 4
        assert all(p["validate"] == "true" and p["pair"] == "XXBTZUSD" for p in fake.test_orders)
        assert fake.real_orders == []
    finally:
        fake.close()
