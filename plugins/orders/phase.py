"""Run the orders phase: build the orders the bot would place now and check each one.

Signals come from the strategy phase's public artifact ``"strategy.signals"``
(a list of dicts: ``strategy``, ``symbol``, ``signal`` on the last bar, ``close``,
``last_signal``...). Each non-zero signal becomes one order of ``quote_amount``
(or ``fraction x balance``) at the last close, is rounded and checked against
the market's rules (offline, or from ccxt), and, with ``test_orders = true``,
sent to the exchange's test-order endpoint. Every order is an ``orders.order``
event; the first rejection fails the phase naming symbol, rule, value and limit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness import PhaseFailed, PhaseResult
from harness.plugins.orders.rules import (
    Check,
    MarketRules,
    Order,
    RulesError,
    check_order,
    load_rules_file,
    offline_rounding,
    parse_rules,
)
from harness.plugins.orders.settings import OrdersSettings, parse_settings

if TYPE_CHECKING:
    from harness import PhaseContext

__all__ = [
    "REPORT_ARTIFACT",
    "SIGNALS_ARTIFACT",
    "build_orders",
    "order_event",
    "report_path",
    "run_phase",
    "write_report",
]

#: The strategy phase's public artifact (see the strategy plugin's phase module).
SIGNALS_ARTIFACT = "strategy.signals"
#: Artifact key prefix of this phase's report (the phase name follows).
REPORT_ARTIFACT = "orders.report:"
NO_SIGNALS = (
    "no strategy signals: the orders phase needs a strategy phase (artifact "
    "'strategy.signals') to run before it in this session"
)
_LEVEL: dict[str, Literal["info", "warning", "error"]] = {
    "accepted": "info",
    "unchecked": "warning",
    "rejected": "error",
}


def build_orders(signals: Sequence[Mapping[str, Any]], s: OrdersSettings) -> list[Order]:
    """One order per non-zero signal (``signals`` setting), sized by the settings."""
    orders = []
    for entry in signals:
        if s.strategies is not None and entry["strategy"] not in s.strategies:
            continue
        if s.signals == "last_bar":
            sig, when = int(entry["signal"]), entry.get("time")
        else:
            sig, when = int(entry["last_signal"]), entry.get("last_signal_time")
        close = entry.get("close")
        if sig == 0 or not isinstance(close, int | float) or not close > 0:
            continue
        orders.append(
            Order(
                strategy=str(entry["strategy"]),
                symbol=str(entry["symbol"]),
                market=s.market_of(str(entry["symbol"])),
                side="buy" if sig > 0 else "sell",
                type=s.order_type,
                amount=s.quote_size() / float(close),
                price=float(close),
                signal_time=when,
            )
        )
    return orders


def order_event(check: Check, source: str, tested: bool) -> dict[str, Any]:
    """The ``data`` of an ``orders.order`` event (and one row of the summary)."""
    o = check.order
    return {
        "strategy": o.strategy,
        "symbol": o.symbol,
        "market": o.market,
        "side": o.side,
        "type": o.type,
        "amount": check.amount,
        "price": check.price,
        "notional": check.notional,
        "verdict": check.verdict,
        "rule": check.rule,
        "value": check.value,
        "limit": check.limit,
        "reason": check.reason,
        "source": source,
        "tested": tested,
        "signal_time": o.signal_time,
    }


def report_path(run_dir: Path, phase: str) -> Path:
    """``<run_dir>/orders/report_<phase>.json`` (``--resume`` reloads it)."""
    return run_dir / "orders" / f"report_{phase}.json"


def write_report(ctx: PhaseContext, phase: str, report: Mapping[str, Any]) -> None:
    """The one place this plugin writes into the run directory (atomic and redacted)."""
    ctx.write_file(report_path(ctx.run_dir, phase), json.dumps(report, allow_nan=False))


def _offline_rules(ctx: PhaseContext, s: OrdersSettings, phase: str) -> dict[str, MarketRules]:
    rules: dict[str, MarketRules] = {}
    try:
        if s.markets_file is not None:
            rules.update(load_rules_file(ctx.resolve_path(s.markets_file)))
        rules.update(parse_rules(s.markets, f"phases.{phase}.markets"))
    except RulesError as exc:
        raise PhaseFailed(str(exc)) from None
    return rules


def run_phase(
    phase: str,
    settings: Mapping[str, Any],
    ctx: PhaseContext,
    *,
    environ: Mapping[str, str] | None = None,
) -> PhaseResult:
    """Build, check (and test-send) the orders; the phase's verdict."""
    s = parse_settings(settings)
    dry_run = bool(ctx.dry_run or s.dry_run)
    if SIGNALS_ARTIFACT not in ctx.artifacts:
        raise PhaseFailed(NO_SIGNALS)
    signals: list[dict[str, Any]] = ctx.artifacts.get(SIGNALS_ARTIFACT, list)
    orders = build_orders(signals, s)
    offline = _offline_rules(ctx, s, phase)
    report: dict[str, Any] = {
        "phase": phase,
        "signals": s.signals,
        "source": "offline",
        "dry_run": dry_run,
        "orders": [],
    }
    ctx.artifacts.put(REPORT_ARTIFACT + phase, report)
    ctx.metrics.update({"orders": len(orders), "accepted": 0, "rejected": 0})
    if not orders:
        write_report(ctx, phase, report)
        pairs = len(signals)
        which = "on the last bar" if s.signals == "last_bar" else "at all"
        return PhaseResult.passed(
            f"no signal {which} in {pairs} strategy/symbol pairs: no order to check",
            metrics=dict(ctx.metrics),
        )
    remote = None
    if s.exchange is not None and not dry_run:
        remote = _connect(ctx, s)
    try:
        checks = _check_all(ctx, s, orders, offline, remote, report, dry_run)
    finally:
        if remote is not None:
            remote.close()
        write_report(ctx, phase, report)
    return _verdict(checks, report)


def _connect(ctx: PhaseContext, s: OrdersSettings) -> Any:
    from harness.plugins.api.ccxtio import CcxtFailed
    from harness.plugins.orders.exchange import CcxtMarkets, find_exchange

    ex = find_exchange(ctx.session.config.phases, s.exchange or "")
    if ex is None or not ex.uses_ccxt:
        raise PhaseFailed(f"exchange {s.exchange!r}: no ccxt entry in [[phases.api.exchanges]]")
    remote = CcxtMarkets(ex, ctx)
    try:
        remote.load()
    except CcxtFailed as exc:
        remote.close()
        raise PhaseFailed(f"market rules: {exc}") from None
    if s.test_orders and not remote.has_credentials:
        remote.close()
        raise PhaseFailed(
            f"test_orders: exchange {ex.name!r} has no credentials "
            f"(${ex.key_env or 'key_env'} / ${ex.secret_env or 'secret_env'} not set)"
        )
    return remote


def _check_all(
    ctx: PhaseContext,
    s: OrdersSettings,
    orders: list[Order],
    offline: dict[str, MarketRules],
    remote: Any,
    report: dict[str, Any],
    dry_run: bool,
) -> list[Check]:
    from harness.plugins.api.ccxtio import CcxtFailed

    source = "offline" if remote is None else remote.source
    report["source"] = source
    checks = []
    for order in orders:
        tested = False
        if remote is not None:
            rules = remote.rules(order.market)
            round_amount, round_price = remote.rounding(order.market)
        else:
            rules = offline.get(order.market)
            round_amount, round_price = offline_rounding(rules or MarketRules())
        if rules is None and remote is None and dry_run and s.exchange is not None:
            check = Check(
                order,
                order.amount,
                order.price,
                order.amount * order.price,
                "unchecked",
                f"dry run: no offline rules for {order.market}",
            )
        else:
            check = check_order(order, rules, round_amount, round_price)
        if check.verdict == "accepted" and remote is not None and s.test_orders:
            try:
                refused = remote.test_order(check)
            except CcxtFailed as exc:
                raise PhaseFailed(f"{_where(check)}: test order: {exc}") from None
            tested = True
            if refused is None:
                check = _with_reason(check, check.reason + "; test order accepted")
            else:
                check = Check(
                    order,
                    check.amount,
                    check.price,
                    check.notional,
                    "rejected",
                    f"test order refused: {refused}",
                    "exchange",
                    refused,
                    "accepted by the test-order endpoint",
                )
        checks.append(check)
        data = order_event(check, source, tested)
        report["orders"].append(data)
        if check.verdict in ("accepted", "rejected"):
            ctx.metrics[check.verdict] = ctx.metrics.get(check.verdict, 0) + 1
        ctx.emit(
            "orders.order",
            ctx.redact(f"{_where(check)}: {check.verdict}: {check.reason}"),
            level=_LEVEL[check.verdict],
            data=data,
        )
    return checks


def _where(check: Check) -> str:
    """``AAPL sma_cross buy`` (``-> AAPL/USD`` when the market symbol differs)."""
    market = check.order.market
    return check.label + (f" ({market})" if market != check.order.symbol else "")


def _with_reason(check: Check, reason: str) -> Check:
    return Check(
        check.order,
        check.amount,
        check.price,
        check.notional,
        check.verdict,
        reason,
        check.rule,
        check.value,
        check.limit,
    )


def _verdict(checks: list[Check], report: dict[str, Any]) -> PhaseResult:
    counts = {v: sum(1 for c in checks if c.verdict == v) for v in _LEVEL}
    metrics: dict[str, float | int] = {"orders": len(checks), **counts}
    rejected = [c for c in checks if c.verdict == "rejected"]
    if rejected:
        first = rejected[0]
        more = f" (+{len(rejected) - 1} more rejected)" if len(rejected) > 1 else ""
        raise PhaseFailed(
            f"{len(rejected)} of {len(checks)} orders rejected: {_where(first)}: "
            f"{first.reason}{more}"
        )
    unchecked = f", {counts['unchecked']} unchecked" if counts["unchecked"] else ""
    tested = sum(1 for row in report["orders"] if row["tested"])
    sent = f", {tested} accepted by the test-order endpoint" if tested else ""
    return PhaseResult.passed(
        f"{counts['accepted']} of {len(checks)} orders within the market rules "
        f"({report['source']}){unchecked}{sent}",
        metrics=metrics,
    )
