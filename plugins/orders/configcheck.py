"""What the schema cannot say about an orders phase; each problem is a start-up error (exit 4).

* exactly one of ``quote_amount`` / ``fraction``; ``fraction`` needs ``balance``;
* ``markets`` and ``markets_file`` must parse as market rules (the file is read
  now, relative to the config file);
* ``exchange`` must name a ccxt entry (``exchange = "<id>"``) of
  ``[[phases.api.exchanges]]``; ``test_orders`` needs ``exchange``, on an
  exchange with a test-order endpoint (:data:`~.settings.TEST_ORDER_EXCHANGES`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from harness.plugins.orders.rules import RulesError, load_rules_file, parse_rules
from harness.plugins.orders.settings import TEST_ORDER_EXCHANGES, parse_settings

if TYPE_CHECKING:
    from harness import Config, Phase

__all__ = ["check_phase"]


def check_phase(config: Config, phase: Phase) -> None:
    """Raise ``config.error(...)`` for the first problem of ``phase``'s table."""
    s = parse_settings(phase.settings)
    key = f"phases.{phase.name}"
    if (s.quote_amount is None) == (s.fraction is None):
        given = "both" if s.quote_amount is not None else "neither"
        raise config.error(f"{key}.quote_amount", "exactly one of quote_amount or fraction", given)
    if s.fraction is not None and s.balance is None:
        raise config.error(f"{key}.balance", "balance alongside fraction", "fraction without it")
    try:
        parse_rules(s.markets, f"{key}.markets")
    except RulesError as exc:
        raise config.error(f"{key}.markets", "market rules (see README)", str(exc)) from None
    if s.markets_file is not None:
        try:
            load_rules_file(config.resolve_path(s.markets_file))
        except RulesError as exc:
            raise config.error(
                f"{key}.markets_file", "a JSON file of market rules", str(exc)
            ) from None
    if s.exchange is None:
        if s.test_orders:
            raise config.error(
                f"{key}.test_orders", "exchange set alongside test_orders", "no exchange"
            )
        return
    from harness.plugins.orders.exchange import find_exchange

    ex = find_exchange(config.phases, s.exchange)
    if ex is None or not ex.uses_ccxt:
        what = "a non-ccxt entry" if ex is not None else "no such entry"
        raise config.error(
            f"{key}.exchange",
            "the name of a [[phases.api.exchanges]] entry with exchange = <ccxt id>",
            f"{json.dumps(s.exchange)} ({what})",
        )
    if s.test_orders and ex.exchange not in TEST_ORDER_EXCHANGES:
        known = ", ".join(sorted(TEST_ORDER_EXCHANGES))
        raise config.error(
            f"{key}.test_orders",
            f"an exchange with a test-order endpoint ({known})",
            json.dumps(ex.exchange),
        )
