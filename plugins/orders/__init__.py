"""The built-in ``orders`` plugin: would the exchange accept the bot's next orders?

The phase takes the strategies' signals (the strategy phase's public artifact
``"strategy.signals"``), builds the orders the bot would place now (one per
non-zero signal, ``quote_amount`` or ``fraction`` x ``balance`` at the last
close), rounds them to the market's precision and checks them against its
rules: minimum and maximum amount, price and cost (notional). The rules come
from the exchange through ccxt (``exchange`` names a ccxt entry of
``[[phases.api.exchanges]]``) or, offline, from the ``[phases.orders.markets]``
table or a ``markets_file``. With ``test_orders = true`` each accepted order is
also sent to the exchange's test-order endpoint (Binance ``order/test``, Kraken
``validate``); no setting places a real order. ``--dry-run`` (or
``dry_run = true``) checks against the offline rules only.

Every order is an ``orders.order`` event; a rejected order fails the phase naming
symbol, rule, value and limit; the summary gets an ``orders`` section.

Example (offline)::

    [phases.orders]
    quote_amount = 1000.0
    [phases.orders.markets]
    AAPL = { price_step = 0.01, amount_step = 1, min_amount = 1, min_cost = 10 }

Module-level imports stay light: the phase's modules (and ccxt) load when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Config, Phase, PhaseContext, PhaseResult, Session

__all__ = [
    "configure",
    "event_schemas",
    "phase_resume",
    "phase_run",
    "phase_schema",
    "summarize",
]

PLUGIN = "orders"


@hookimpl
def phase_schema() -> Mapping[str, Any]:
    from harness.plugins.orders.settings import PHASE_SCHEMA

    return PHASE_SCHEMA


@hookimpl
def event_schemas() -> Mapping[str, Mapping[str, Any]]:
    from harness.plugins.orders.settings import ORDER_EVENT_SCHEMA

    return {"orders.order": ORDER_EVENT_SCHEMA}


@hookimpl
def configure(config: Config) -> None:
    """Reject, at start-up (exit 4), what the schema cannot: see :mod:`.configcheck`."""
    from harness.plugins.orders.configcheck import check_phase

    for phase in config.phases:
        if phase.plugin == PLUGIN:
            check_phase(config, phase)


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    from harness.plugins.orders.phase import run_phase

    return run_phase(phase.name, phase.settings, ctx)


@hookimpl
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    """Reload the report of an orders phase that passed in an earlier session."""
    import json

    from harness.plugins.orders.phase import REPORT_ARTIFACT, report_path

    path = report_path(ctx.run_dir, phase.name)
    if path.is_file():
        ctx.artifacts.put(REPORT_ARTIFACT + phase.name, json.loads(path.read_text("utf-8")))


@hookimpl
def summarize(session: Session) -> Mapping[str, Any] | None:
    """The ``orders`` section: every order of every orders phase, and the counts."""
    from harness.plugins.orders.phase import REPORT_ARTIFACT

    artifacts = session.artifacts
    names: list[str] = artifacts.keys()  # Artifacts is not iterable
    reports = [artifacts.get(k, dict) for k in names if k.startswith(REPORT_ARTIFACT)]
    if not reports:
        return None
    rows = [row for report in reports for row in report["orders"]]
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("accepted", "rejected")}
    return {
        "orders": {
            "total": len(rows),
            **counts,
            "unchecked": sum(1 for r in rows if r["verdict"] == "unchecked"),
            "tested": sum(1 for r in rows if r["tested"]),
            "phases": [
                {k: report[k] for k in ("phase", "signals", "source", "dry_run")}
                for report in reports
            ],
            "orders": rows,
        }
    }
