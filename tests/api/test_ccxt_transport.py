"""The ccxt transport in process: error classes mapped, ccxt's retries and DEBUG log off,
and the orders guard refusing a real order before it leaves (against the Binance fake)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import FakeCtx
from ccxt_fakes import BINANCE_KEY, BINANCE_SECRET, BinanceFake
from ccxt_run import BINANCE_OPTIONS

from harness import NonRetryableError
from harness.plugins.api.settings import parse_exchanges

ccxt = pytest.importorskip("ccxt", reason="the ccxt extra is not installed")


@pytest.fixture
def binance() -> Iterator[BinanceFake]:
    fake = BinanceFake().start()
    yield fake
    fake.close()


def _entry(fake: BinanceFake) -> Any:
    [ex] = parse_exchanges(
        {
            "exchanges": [
                {
                    "name": "binance",
                    "exchange": "binance",
                    "urls": fake.api_urls(),
                    "options": BINANCE_OPTIONS,
                    "key_env": "BN_KEY",
                    "secret_env": "BN_SECRET",
                }
            ]
        }
    )
    return ex


@pytest.mark.parametrize(
    ("cls", "retried"),
    [
        ("AuthenticationError", False),
        ("PermissionDenied", False),
        ("BadRequest", False),
        ("BadSymbol", False),
        ("InvalidOrder", False),
        ("InvalidNonce", False),  # a NetworkError in ccxt's tree: checked first
        ("ExchangeError", False),
        ("RateLimitExceeded", True),
        ("DDoSProtection", True),
        ("ExchangeNotAvailable", True),
        ("OnMaintenance", True),
        ("RequestTimeout", True),
        ("NetworkError", True),
    ],
)
def test_ccxt_classes_map_to_the_retry_policy(cls: str, retried: bool) -> None:
    from harness.plugins.api.ccxtio import retry_kind

    assert retry_kind(ccxt, getattr(ccxt, cls)("x")) == (cls, retried)


def test_ccxt_retries_and_debug_log_stay_off(binance: BinanceFake) -> None:
    from harness.plugins.api.ccxtio import CcxtSession

    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.DEBUG)
    try:
        session = CcxtSession(_entry(binance), FakeCtx(), credentials=(BINANCE_KEY, BINANCE_SECRET))
        try:
            assert session.api.options["maxRetriesOnFailure"] == 0
            assert session.api.verbose is False
            assert logging.getLogger("ccxt").getEffectiveLevel() > logging.DEBUG
            result, attempts = session.call("time", session.api.fetch_time)
            assert isinstance(result, int)
            assert attempts == 1
        finally:
            session.close()
    finally:
        root.setLevel(before)


def test_the_orders_guard_refuses_a_real_order_before_it_is_sent(binance: BinanceFake) -> None:
    from harness.plugins.api.ccxtio import CcxtFailed
    from harness.plugins.orders.exchange import CcxtMarkets

    env = {"BN_KEY": BINANCE_KEY, "BN_SECRET": BINANCE_SECRET}
    markets = CcxtMarkets(_entry(binance), FakeCtx(), environ=env)
    try:
        markets.load()
        api = markets.session.api
        with pytest.raises(CcxtFailed, match=r"refused POST /api/v3/order: .* test orders only"):
            markets.session.call(
                "real", lambda: api.create_order("BTC/USDT", "limit", "buy", 0.001, 30000.0)
            )
        with pytest.raises(NonRetryableError):
            markets.session.guard("DELETE", binance.url + "/api/v3/order", None)  # type: ignore[misc]
    finally:
        markets.close()
    assert binance.count("/api/v3/order") == 0
    assert binance.real_orders == []
