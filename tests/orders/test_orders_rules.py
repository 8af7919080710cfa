"""The market rules of the orders phase, one rule at a time (no ccxt, no subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.plugins.orders.exchange import is_test_order
from harness.plugins.orders.rules import (
    MarketRules,
    Order,
    RulesError,
    check_order,
    load_rules_file,
    offline_rounding,
    parse_rules,
)

RULES = MarketRules(
    amount_step=0.001,
    price_step=0.01,
    min_amount=0.01,
    max_amount=100.0,
    min_price=1.0,
    max_price=100_000.0,
    min_cost=10.0,
    max_cost=50_000.0,
)


def _check(amount: float, price: float = 200.0, rules: MarketRules | None = RULES, **kw: str):
    order = Order("s", "SYM", "SYM/USD", "buy", kw.get("type", "limit"), amount, price)
    round_amount, round_price = offline_rounding(rules or MarketRules())
    return check_order(order, rules, round_amount, round_price)


def test_accepted_order_is_rounded_like_ccxt() -> None:
    check = _check(1.23456, 199.996)
    assert check.verdict == "accepted"
    assert check.amount == 1.234  # truncated to the lot step
    assert check.price == 200.0  # rounded to the tick
    assert check.notional == pytest.approx(246.8)
    assert check.rule is None


@pytest.mark.parametrize(
    ("amount", "price", "rule", "value", "limit"),
    [
        (0.0004, 200.0, "amount_precision", 0.0004, 0.001),
        (0.005, 200.0, "min_amount", 0.005, 0.01),
        (150.0, 200.0, "max_amount", 150.0, 100.0),
        (1.0, 0.5, "min_price", 0.5, 1.0),
        (0.02, 200_000.0, "max_price", 200_000.0, 100_000.0),
        (0.04, 200.0, "min_cost", 8.0, 10.0),
        (90.0, 990.0, "max_cost", 89_100.0, 50_000.0),
    ],
)
def test_each_rule_rejects_naming_value_and_limit(
    amount: float, price: float, rule: str, value: float, limit: float
) -> None:
    check = _check(amount, price)
    assert (check.verdict, check.rule) == ("rejected", rule)
    assert check.value == pytest.approx(value)
    assert check.limit == limit
    assert check.reason.startswith(f"{rule}: ")
    assert f"{limit:.12g}" in check.reason


def test_unknown_and_inactive_markets_are_rejected() -> None:
    assert _check(1.0, rules=None).rule == "market"
    assert _check(1.0, rules=MarketRules(active=False)).rule == "active"


def test_market_orders_skip_the_price_limits() -> None:
    assert _check(0.02, 200_000.0, type="limit").rule == "max_price"
    assert _check(0.02, 200_000.0, type="market").verdict == "accepted"
    assert _check(0.3, 200_000.0, type="market").rule == "max_cost"


def test_rules_table_and_file_shapes(tmp_path: Path) -> None:
    table = {"BTC/USDT": {"amount_step": 0.00001, "min_cost": 5, "active": True}}
    assert parse_rules(table, "t")["BTC/USDT"].min_cost == 5.0
    path = tmp_path / "markets.json"
    path.write_text(json.dumps({"markets": table}), "utf-8")
    assert load_rules_file(path)["BTC/USDT"].amount_step == 0.00001
    with pytest.raises(RulesError, match=r"BTC/USDT\.min_cost: expected a number > 0, got -1"):
        parse_rules({"BTC/USDT": {"min_cost": -1}}, "t")
    with pytest.raises(RulesError, match=r"BTC/USDT\.lot: unknown rule"):
        parse_rules({"BTC/USDT": {"lot": 1}}, "t")
    path.write_text("{", "utf-8")
    with pytest.raises(RulesError, match=r"markets\.json:1:2: not JSON"):
        load_rules_file(path)


@pytest.mark.parametrize(
    ("ccxt_id", "method", "url", "body", "ok"),
    [
        ("binance", "POST", "https://x/api/v3/order/test", "symbol=BTCUSDT", True),
        ("binance", "POST", "https://x/api/v3/order", "symbol=BTCUSDT", False),
        ("binance", "DELETE", "https://x/api/v3/order", None, False),
        ("binance", "GET", "https://x/api/v3/account", None, True),
        ("kraken", "POST", "https://x/0/private/AddOrder", "nonce=1&validate=true", True),
        ("kraken", "POST", "https://x/0/private/AddOrder", "nonce=1", False),
        ("kraken", "POST", "https://x/0/private/AddOrder", "nonce=1&validate=false", False),
        ("kraken", "POST", "https://x/0/private/AddOrder", "nonce=1&validate=True", False),
        ("bybit", "POST", "https://x/v5/order/create", "{}", False),
    ],
)
def test_only_test_order_requests_pass_the_guard(
    ccxt_id: str, method: str, url: str, body: str | None, ok: bool
) -> None:
    assert is_test_order(ccxt_id, method, url, body) is ok
