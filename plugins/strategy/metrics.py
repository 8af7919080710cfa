"""Figures of one backtest, and totals across backtests."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from harness.plugins.strategy.engine import BacktestResult

__all__ = [
    "Metrics",
    "Totals",
    "compute_metrics",
    "max_drawdown",
    "periods_per_year",
    "sharpe",
    "totals",
]

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Metrics:
    """Per strategy and symbol. Fractions, not percentages (``roi = 0.05`` is 5 %).

    ``max_drawdown`` is positive (0.2: equity fell 20 % below its running peak);
    ``exposure`` is the fraction of bars closed with a position open;
    ``buy_hold_return`` is ``close[-1] / close[0] - 1``.
    """

    initial_equity: float
    final_equity: float
    pnl: float
    roi: float
    trades: int
    wins: int
    losses: int
    win_rate: float
    max_drawdown: float
    sharpe: float
    exposure: float
    buy_hold_return: float
    bars: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def max_drawdown(equity: npt.NDArray[np.float64]) -> float:
    """Largest fall from a running peak of the mark-to-market curve, as a fraction."""
    if len(equity) == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    if peak[0] > 0:
        # peaks never fall: all positive, one division, no mask
        with np.errstate(invalid="ignore"):
            lowest = float(np.min(np.divide(equity, peak, out=peak)))
        if math.isfinite(lowest):
            return 1.0 - lowest
        peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - equity / peak, 0.0)
    return float(np.max(dd))


def periods_per_year(interval_s: float | None, calendar: str = "24/7") -> float | None:
    """Bars per year: 365 days a year for ``24/7``, 252 for ``weekdays``."""
    if not interval_s or interval_s <= 0:
        return None
    days = 252.0 if calendar == "weekdays" else 365.0
    return days * SECONDS_PER_DAY / float(interval_s)


def sharpe(equity: npt.NDArray[np.float64], per_year: float | None) -> float:
    """Annualised Sharpe ratio of the bar-to-bar returns (risk-free rate 0).

    ``mean(r) / std(r, ddof=1) * sqrt(per_year)``; 0.0 when undefined (fewer
    than 3 bars, no variation, or unknown bar interval).
    """
    if per_year is None or len(equity) < 3:
        return 0.0
    prev = equity[:-1]
    returns = np.diff(equity)
    if prev.min() > 0:
        returns /= prev
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.where(prev > 0, returns / prev, 0.0)
    sd = float(np.std(returns, ddof=1))
    if not math.isfinite(sd) or sd <= 1e-15:
        return 0.0
    value = float(np.mean(returns)) / sd * math.sqrt(per_year)
    return value if math.isfinite(value) else 0.0


def compute_metrics(
    result: BacktestResult,
    close: npt.NDArray[np.float64],
    *,
    per_year: float | None,
) -> Metrics:
    """The :class:`Metrics` of one engine result."""
    equity = result.equity
    initial = result.initial_cash
    final = result.final_equity
    n_trades = len(result.trades)
    wins = result.trades.wins
    bh = float(close[-1] / close[0] - 1.0) if len(close) and close[0] > 0 else 0.0
    return Metrics(
        initial_equity=initial,
        final_equity=final,
        pnl=final - initial,
        roi=(final / initial - 1.0) if initial else 0.0,
        trades=n_trades,
        wins=wins,
        losses=n_trades - wins,
        win_rate=wins / n_trades if n_trades else 0.0,
        max_drawdown=max_drawdown(equity),
        sharpe=sharpe(equity, per_year),
        exposure=float(np.count_nonzero(result.position)) / len(equity) if len(equity) else 0.0,
        buy_hold_return=bh,
        bars=len(equity),
    )


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over backtests: each backtest starts with its own initial cash."""

    initial: float
    current: float
    roi: float
    trades: int
    wins: int
    losses: int

    @property
    def pnl(self) -> float:
        return self.current - self.initial


def totals(metrics: Iterable[Metrics]) -> Totals:
    """Add up initial and final equity, trades, wins and losses."""
    items = list(metrics)
    initial = sum(m.initial_equity for m in items)
    current = sum(m.final_equity for m in items)
    return Totals(
        initial=initial,
        current=current,
        roi=(current / initial - 1.0) if initial else 0.0,
        trades=sum(m.trades for m in items),
        wins=sum(m.wins for m in items),
        losses=sum(m.losses for m in items),
    )


def finite(values: Mapping[str, float | int]) -> dict[str, float | int]:
    """``values`` with non-finite numbers dropped (events reject NaN and inf)."""
    return {k: v for k, v in values.items() if math.isfinite(v)}
