"""The ``[phases.orders]`` settings: their JSON Schema, the event schema, and the parsed form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ORDER_EVENT_SCHEMA",
    "PHASE_SCHEMA",
    "RULES_SCHEMA",
    "TEST_ORDER_EXCHANGES",
    "OrdersSettings",
    "parse_settings",
]

#: ccxt ids with a test-order endpoint, and the create_order params that select it.
TEST_ORDER_EXCHANGES: dict[str, dict[str, Any]] = {
    "binance": {"test": True},  # POST /api/v3/order/test
    # a string: ccxt would send the bool as "True"; Kraken documents "true"
    "kraken": {"validate": "true"},  # POST /0/private/AddOrder validate=true
}

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}

#: One market's rules (offline table, JSON file, or read from ccxt's markets).
RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "active": {"type": "boolean", "default": True, "description": "Open for trading."},
        "amount_step": {**_POSITIVE, "description": "Lot step: amounts are cut down to it."},
        "price_step": {**_POSITIVE, "description": "Tick size: prices are rounded to it."},
        "min_amount": {**_POSITIVE, "description": "Smallest amount (base currency)."},
        "max_amount": {**_POSITIVE, "description": "Largest amount (base currency)."},
        "min_price": {**_POSITIVE, "description": "Lowest limit price."},
        "max_price": {**_POSITIVE, "description": "Highest limit price."},
        "min_cost": {**_POSITIVE, "description": "Smallest notional (amount x price, quote)."},
        "max_cost": {**_POSITIVE, "description": "Largest notional (quote currency)."},
    },
}

PHASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "orders phase settings",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "signals": {
            "enum": ["last_bar", "latest"],
            "default": "last_bar",
            "description": (
                "last_bar: the signal on each symbol's last bar (what the bot would do now); "
                "latest: each strategy's most recent non-zero signal, priced at the last close "
                "(exercises the checks when the last bar has no signal)."
            ),
        },
        "strategies": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Strategy labels to take signals from (default: all).",
        },
        "symbols": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": 'Data symbol -> market symbol (AAPL = "AAPL/USD"); default: same.',
        },
        "order_type": {"enum": ["limit", "market"], "default": "limit"},
        "quote_amount": {**_POSITIVE, "description": "Order size in quote currency."},
        "fraction": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "Order size as a fraction of balance.",
        },
        "balance": {**_POSITIVE, "description": "Quote balance the fraction applies to."},
        "markets": {
            "type": "object",
            "additionalProperties": RULES_SCHEMA,
            "description": "Offline market rules, keyed by market symbol.",
        },
        "markets_file": {
            "type": "string",
            "minLength": 1,
            "description": "JSON file of offline market rules (relative to the config file).",
        },
        "exchange": {
            "type": "string",
            "minLength": 1,
            "description": (
                "Name of an [[phases.api.exchanges]] entry with a ccxt exchange: market rules "
                "and rounding come from ccxt (its credentials, sandbox, urls and ca_bundle)."
            ),
        },
        "test_orders": {
            "type": "boolean",
            "default": False,
            "description": (
                "Send each accepted order to the exchange's test-order endpoint "
                "(Binance order/test, Kraken validate). Never a real order."
            ),
        },
        "dry_run": {
            "type": "boolean",
            "default": False,
            "description": "Offline rules only, no connection (as harness run --dry-run).",
        },
    },
}

ORDER_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "orders.order event data",
    "type": "object",
    "additionalProperties": False,
    "required": ["strategy", "symbol", "side", "amount", "price", "notional", "verdict", "reason"],
    "properties": {
        "strategy": {"type": "string"},
        "symbol": {"type": "string", "description": "the data symbol"},
        "market": {"type": "string", "description": "the exchange's symbol"},
        "side": {"enum": ["buy", "sell"]},
        "type": {"enum": ["limit", "market"]},
        "amount": {"type": "number"},
        "price": {"type": "number"},
        "notional": {"type": "number"},
        "verdict": {"enum": ["accepted", "rejected", "unchecked"]},
        "rule": {"type": ["string", "null"]},
        "value": {"type": ["number", "string", "null"]},
        "limit": {"type": ["number", "string", "null"]},
        "reason": {"type": "string"},
        "source": {"type": "string", "description": "offline, or ccxt:<id>"},
        "tested": {"type": "boolean", "description": "sent to the test-order endpoint"},
        "signal_time": {"type": ["string", "null"]},
    },
}

Signals = Literal["last_bar", "latest"]
OrderType = Literal["limit", "market"]


@dataclass(frozen=True, slots=True)
class OrdersSettings:
    """One ``[phases.orders]`` table, defaults applied."""

    signals: Signals = "last_bar"
    strategies: tuple[str, ...] | None = None
    symbols: Mapping[str, str] = field(default_factory=dict)
    order_type: OrderType = "limit"
    quote_amount: float | None = None
    fraction: float | None = None
    balance: float | None = None
    markets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    markets_file: str | None = None
    exchange: str | None = None
    test_orders: bool = False
    dry_run: bool = False

    def market_of(self, symbol: str) -> str:
        """The exchange's symbol for a data symbol."""
        return self.symbols.get(symbol, symbol)

    def quote_size(self) -> float:
        """The order size in quote currency (``quote_amount`` or ``fraction x balance``)."""
        if self.quote_amount is not None:
            return self.quote_amount
        return (self.fraction or 0.0) * (self.balance or 0.0)  # configure requires both


def parse_settings(settings: Mapping[str, Any]) -> OrdersSettings:
    """The parsed table (the core validated it against :data:`PHASE_SCHEMA`)."""
    strategies = settings.get("strategies")
    return OrdersSettings(
        signals=settings.get("signals", "last_bar"),
        strategies=None if strategies is None else tuple(strategies),
        symbols=dict(settings.get("symbols", {})),
        order_type=settings.get("order_type", "limit"),
        quote_amount=settings.get("quote_amount"),
        fraction=settings.get("fraction"),
        balance=settings.get("balance"),
        markets={k: dict(v) for k, v in settings.get("markets", {}).items()},
        markets_file=settings.get("markets_file"),
        exchange=settings.get("exchange"),
        test_orders=bool(settings.get("test_orders", False)),
        dry_run=bool(settings.get("dry_run", False)),
    )
