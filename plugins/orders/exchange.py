"""Market rules, rounding and test orders from a real exchange, through ccxt.

The exchange is an ``[[phases.api.exchanges]]`` entry with ``exchange = "<ccxt
id>"`` (its credentials, ``sandbox``, ``urls``, ``options`` and ``ca_bundle``);
its requests go through the api plugin's transport
(:class:`~harness.plugins.api.ccxtio.CcxtSession`: harness's HTTP client, retry
policy and redaction).

Test orders go only to an endpoint that validates without placing anything
(:data:`~.settings.TEST_ORDER_EXCHANGES`: Binance ``POST /api/v3/order/test``,
Kraken ``AddOrder`` with ``validate=true``). A request guard on the transport
refuses, before it is sent, every non-GET request that is not such a test order:
no setting and no code path here places a real order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from harness import NonRetryableError
from harness.plugins.orders.rules import Check, MarketRules, Order
from harness.plugins.orders.settings import TEST_ORDER_EXCHANGES

if TYPE_CHECKING:
    from harness.plugins.api.ccxtio import CcxtSession
    from harness.plugins.api.httpio import ApiContext
    from harness.plugins.api.settings import Exchange

__all__ = ["CcxtMarkets", "find_exchange", "is_test_order"]


def find_exchange(phases: Any, name: str) -> Exchange | None:
    """The ``[[phases.api.exchanges]]`` entry called ``name`` in any api phase."""
    from harness.plugins.api.settings import parse_exchanges

    for phase in phases:
        if phase.plugin != "api":
            continue
        for ex in parse_exchanges(phase.settings):
            if ex.name == name:
                return ex
    return None


def is_test_order(ccxt_id: str, method: str, url: str, body: str | None) -> bool:
    """``True`` when a request can only validate an order, never place one."""
    if method.upper() == "GET":
        return True
    path = urlsplit(url).path
    if ccxt_id == "binance":
        return method.upper() == "POST" and path.endswith("/order/test")
    if ccxt_id == "kraken":
        params = dict(parse_qsl(body or ""))
        return path.endswith("/AddOrder") and params.get("validate") == "true"
    return False


class CcxtMarkets:
    """One exchange's markets and rounding through ccxt, and its test-order endpoint.

    Build it only when the network may be used; call :meth:`close` at the end.
    """

    def __init__(
        self, ex: Exchange, ctx: ApiContext, *, environ: Mapping[str, str] | None = None
    ) -> None:
        from harness.plugins.api.ccxtio import CcxtSession

        env = os.environ if environ is None else environ
        key = env.get(ex.key_env or "") or None
        secret = env.get(ex.secret_env or "") or None
        for value in (key, secret):
            if value:
                ctx.add_secret(value)
        ca_file = None if ex.ca_bundle is None else ctx.resolve_path(ex.ca_bundle)
        self.ex = ex
        self.has_credentials = bool(key and secret)
        self.session: CcxtSession = CcxtSession(ex, ctx, credentials=(key, secret), ca_file=ca_file)
        ccxt_id = ex.exchange or ""

        def guard(method: str, url: str, body: str | None) -> None:
            if not is_test_order(ccxt_id, method, url, body):
                path = urlsplit(url).path
                raise NonRetryableError(
                    f"refused {method} {path}: the orders phase sends test orders only"
                )

        self.session.guard = guard
        self.markets: dict[str, Any] = {}

    @property
    def source(self) -> str:
        return f"ccxt:{self.ex.exchange}"

    def close(self) -> None:
        self.session.close()

    def load(self) -> None:
        """``load_markets()`` under the retry policy (raises ``CcxtFailed``)."""
        self.markets, _ = self.session.call("markets", self.session.api.load_markets)

    def rules(self, market: str) -> MarketRules | None:
        from harness.plugins.api.ccxtchecks import market_rules

        found = self.markets.get(market)
        if found is None:
            return None
        r = market_rules(found)
        return MarketRules(
            active=r["active"],
            min_amount=r["min_amount"],
            max_amount=r["max_amount"],
            min_price=r["min_price"],
            max_price=r["max_price"],
            min_cost=r["min_cost"],
            max_cost=r["max_cost"],
        )

    def rounding(self, market: str) -> tuple[Callable[[float], float], Callable[[float], float]]:
        """ccxt's ``amount_to_precision`` / ``price_to_precision`` for ``market``.

        An amount below the market's precision (ccxt ``InvalidOrder``) is raised as
        :class:`ValueError` (the ``amount_precision`` rule).
        """
        api, ccxt = self.session.api, self.session.ccxt

        def amount(value: float) -> float:
            try:
                return float(api.amount_to_precision(market, value))
            except ccxt.InvalidOrder as exc:
                raise ValueError(" ".join(str(exc).split())) from None

        def price(value: float) -> float:
            return float(api.price_to_precision(market, value))

        return amount, price

    def test_order(self, check: Check) -> str | None:
        """Send ``check``'s order to the test endpoint; ``None`` if accepted, else why not.

        :raises CcxtFailed: a transport or policy failure (not a rejection).
        """
        from harness.plugins.api.ccxtio import CcxtFailed

        o: Order = check.order
        params = dict(TEST_ORDER_EXCHANGES[self.ex.exchange or ""])
        price = check.price if o.type == "limit" else None
        api, session = self.session.api, self.session

        def send() -> Any:
            try:
                return api.create_order(o.market, o.type, o.side, check.amount, price, params)
            except session.ccxt.BaseError:
                raise
            except (TypeError, KeyError, ValueError, AttributeError):
                # the exchange answered and ccxt's error checks passed, but ccxt cannot parse
                # a validate-only answer as an order (Kraken: no txid): it was accepted
                if session.last.ok:
                    return None
                raise

        try:
            session.call("test_order", send)
        except CcxtFailed as exc:
            if exc.ccxt_error is not None and exc.ccxt_error not in (
                "RateLimitExceeded",
                "DDoSProtection",
                "ExchangeNotAvailable",
                "OnMaintenance",
                "RequestTimeout",
                "NetworkError",
            ):
                return str(exc)
            raise
        return None
