"""A lean data -> strategy -> orders config on the shipped sample (AAPL, GOOG, IBM, MSFT)."""

from __future__ import annotations

from typing import Any

SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")
LOOSE = {"price_step": 0.01, "amount_step": 1, "min_amount": 1, "min_cost": 10.0}


def phases(orders: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Data (shipped sample), one buy_and_hold strategy, then ``orders`` (and ``extra``)."""
    return {
        "data": {"interval": "1d", "calendar": "weekdays"},
        "strategy": {"strategies": [{"name": "buy_and_hold"}]},
        "orders": orders,
        **extra,
    }


def offline(**overrides: Any) -> dict[str, Any]:
    """Orders of 1000 quote each, latest signals, loose offline rules for the four symbols."""
    settings: dict[str, Any] = {
        "signals": "latest",
        "quote_amount": 1000.0,
        "markets": {s: dict(LOOSE) for s in SYMBOLS},
    }
    settings.update(overrides)
    return settings


def orders_of(run: Any) -> list[dict[str, Any]]:
    return [e["data"] for e in run.events if e["type"] == "orders.order"]
