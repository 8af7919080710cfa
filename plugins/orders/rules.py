"""Market rules and the check of one order against them.

Offline rules come from the ``[phases.orders.markets]`` table or a JSON file of
the same shape (keyed by market symbol; ``{"markets": {...}}`` is accepted too)::

    {"BTC/USDT": {"amount_step": 0.00001, "price_step": 0.01, "min_amount": 0.00001,
                  "max_amount": 9000, "min_cost": 5, "active": true}}

Offline rounding follows ccxt's: the amount is cut down to ``amount_step``
(ccxt ``TRUNCATE``), the price rounded to the nearest ``price_step`` (``ROUND``).
With ccxt the exchange's own ``amount_to_precision`` / ``price_to_precision``
round (see :mod:`.exchange`). The rules are then checked in this order; the
first that fails is the verdict: ``market`` (unknown symbol), ``active``,
``amount_precision`` (nothing left after rounding), ``min_amount``,
``max_amount``, ``min_price``, ``max_price`` (limit orders), ``min_cost``,
``max_cost`` (notional = amount x price).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = [
    "Check",
    "MarketRules",
    "Order",
    "RulesError",
    "check_order",
    "load_rules_file",
    "offline_rounding",
    "parse_rules",
]

_NUMBER_KEYS = (
    "amount_step",
    "price_step",
    "min_amount",
    "max_amount",
    "min_price",
    "max_price",
    "min_cost",
    "max_cost",
)


class RulesError(ValueError):
    """A market-rules file or table is unusable; the message names where and why."""


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What an exchange accepts on one market (``None``: no such limit)."""

    active: bool = True
    amount_step: float | None = None
    price_step: float | None = None
    min_amount: float | None = None
    max_amount: float | None = None
    min_price: float | None = None
    max_price: float | None = None
    min_cost: float | None = None
    max_cost: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"active": self.active}
        out.update({k: getattr(self, k) for k in _NUMBER_KEYS if getattr(self, k) is not None})
        return out


@dataclass(frozen=True, slots=True)
class Order:
    """An order the bot would place now, before rounding."""

    strategy: str
    symbol: str
    market: str
    side: str
    type: str
    amount: float
    price: float
    signal_time: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """An order after rounding, and its verdict.

    ``rule``, ``value`` and ``limit`` name the rule that rejected it (``None``
    when accepted).
    """

    order: Order
    amount: float
    price: float
    notional: float
    verdict: str
    reason: str
    rule: str | None = None
    value: float | str | None = None
    limit: float | str | None = None

    @property
    def label(self) -> str:
        o = self.order
        return f"{o.symbol} {o.strategy} {o.side}"


def parse_rules(raw: Mapping[str, Any], where: str) -> dict[str, MarketRules]:
    """Rules keyed by market symbol from a table or JSON object; :class:`RulesError` if bad."""
    markets = raw.get("markets", raw) if isinstance(raw, Mapping) else raw
    if not isinstance(markets, Mapping):
        raise RulesError(f"{where}: expected an object of market symbol -> rules")
    out = {}
    for symbol, rules in markets.items():
        if not isinstance(rules, Mapping):
            raise RulesError(f"{where}: {symbol}: expected an object of rules")
        unknown = sorted(set(rules) - {"active", *_NUMBER_KEYS})
        if unknown:
            known = ", ".join(("active", *_NUMBER_KEYS))
            raise RulesError(f"{where}: {symbol}.{unknown[0]}: unknown rule (known: {known})")
        values: dict[str, Any] = {}
        for key in _NUMBER_KEYS:
            value = rules.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise RulesError(f"{where}: {symbol}.{key}: expected a number > 0, got {value!r}")
            values[key] = float(value)
        active = rules.get("active", True)
        if not isinstance(active, bool):
            raise RulesError(f"{where}: {symbol}.active: expected true or false, got {active!r}")
        out[str(symbol)] = MarketRules(active=active, **values)
    return out


def load_rules_file(path: Path) -> dict[str, MarketRules]:
    """Rules from a JSON file; :class:`RulesError` naming the file when it is unusable."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise RulesError(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
    return parse_rules(raw, str(path))


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def offline_rounding(
    rules: MarketRules,
) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """``(round_amount, round_price)`` for offline rules (ccxt's TRUNCATE / ROUND on steps)."""

    def to_step(value: float, step: float | None, mode: str) -> float:
        if step is None:
            return value
        try:
            s = _dec(step)
            return float((_dec(value) / s).to_integral_value(rounding=mode) * s)
        except InvalidOperation:
            return value

    return (
        lambda amount: to_step(amount, rules.amount_step, ROUND_DOWN),
        lambda price: to_step(price, rules.price_step, ROUND_HALF_UP),
    )


def _fmt(value: float) -> str:
    return f"{value:.12g}"


def check_order(
    order: Order,
    rules: MarketRules | None,
    round_amount: Callable[[float], float],
    round_price: Callable[[float], float],
) -> Check:
    """Round ``order`` and check it against ``rules`` (``None``: the market is unknown).

    ``round_amount`` may raise :class:`ValueError` (ccxt's ``InvalidOrder`` for an
    amount below its precision, converted by the caller): that is the
    ``amount_precision`` rule.
    """

    def reject(rule: str, value: float | str, limit: float | str, text: str) -> Check:
        return Check(order, amount, price, notional, "rejected", text, rule, value, limit)

    amount, price, notional = order.amount, order.price, order.amount * order.price
    if rules is None:
        return reject(
            "market", order.market, "a listed market", f"market: {order.market} is not listed"
        )
    try:
        amount = round_amount(order.amount)
    except ValueError as exc:
        amount = 0.0
        text = f"amount_precision: amount {_fmt(order.amount)} below the precision ({exc})"
        return reject("amount_precision", order.amount, "precision", text)
    price = round_price(order.price)
    notional = amount * price
    if not rules.active:
        return reject("active", "inactive", "active", f"active: {order.market} is not active")
    if amount <= 0:
        step = rules.amount_step
        return reject(
            "amount_precision",
            order.amount,
            step if step is not None else "precision",
            f"amount_precision: amount {_fmt(order.amount)} rounds to 0 (step {_fmt(step or 0)})",
        )
    checks: list[tuple[str, float, float | None, bool]] = [
        ("min_amount", amount, rules.min_amount, True),
        ("max_amount", amount, rules.max_amount, False),
    ]
    if order.type == "limit":
        checks += [
            ("min_price", price, rules.min_price, True),
            ("max_price", price, rules.max_price, False),
        ]
    checks += [
        ("min_cost", notional, rules.min_cost, True),
        ("max_cost", notional, rules.max_cost, False),
    ]
    for rule, value, limit, is_min in checks:
        if limit is None:
            continue
        if (is_min and value < limit) or (not is_min and value > limit):
            what = "notional" if rule.endswith("cost") else rule.split("_")[1]
            relation = "below" if is_min else "above"
            text = f"{rule}: {what} {_fmt(value)} {relation} limit {_fmt(limit)}"
            return reject(rule, value, limit, text)
    return Check(
        order,
        amount,
        price,
        notional,
        "accepted",
        f"amount {_fmt(amount)} at {_fmt(price)}, notional {_fmt(notional)} within the rules",
    )
