"""The built-in strategies.

A strategy is a function ``fn(bars, **params) -> signal`` where ``bars`` is a
:class:`~harness.Bars` and ``signal`` an integer array of
the same length with -1 (sell), 0 (nothing) or +1 (buy) per bar. ``signal[t]``
may use data up to and including bar ``t`` only (the look-ahead gate checks it).
Invalid parameters raise :class:`~.params.ParamError` (a :class:`ValueError`); the
rules live in :mod:`.params`, where ``configure`` checks them at start-up too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.plugins.strategy.indicators import sma
from harness.plugins.strategy.params import BUILTIN_RULES, positive_int

if TYPE_CHECKING:
    import numpy.typing as npt

    from harness import Bars

__all__ = [
    "BUILTIN_STRATEGIES",
    "StrategyFn",
    "buy_and_hold",
    "crossings",
    "momentum",
    "sma",
    "sma_cross",
]

StrategyFn = Callable[..., Any]


def crossings(diff: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """+1 where ``diff`` turns strictly positive from strictly negative, -1 the reverse.

    A cross at ``t`` is ``diff[t-1] < 0 < diff[t]`` (or ``>``): a zero or a NaN on
    either side is no cross, as backtesting.py's ``crossover``.
    """
    sig = np.zeros(len(diff), dtype=np.int8)
    if len(diff) > 1:
        prev, cur = diff[:-1], diff[1:]
        with np.errstate(invalid="ignore"):
            sig[1:][(prev < 0) & (cur > 0)] = 1
            sig[1:][(prev > 0) & (cur < 0)] = -1
    return sig


def sma_cross(bars: Bars, *, fast: int = 10, slow: int = 20) -> npt.NDArray[np.int8]:
    """Buy when SMA(fast) crosses above SMA(slow), sell when it crosses below.

    The averages are :func:`~.indicators.sma`, bit for bit pandas' rolling mean, so
    where they are equal in real arithmetic the cross is decided as in backtesting.py.
    """
    BUILTIN_RULES["sma_cross"].check({"fast": fast, "slow": slow}, ("fast", "slow"))
    fast, slow = int(fast), int(slow)
    close = np.asarray(bars.close, dtype=np.float64)
    return crossings(sma(close, fast) - sma(close, slow))


def momentum(bars: Bars, *, lookback: int = 20) -> npt.NDArray[np.int8]:
    """Buy when ``close - close[t - lookback]`` turns positive, sell when it turns negative."""
    lookback = positive_int("lookback", lookback)
    close = np.asarray(bars.close, dtype=np.float64)
    diff = np.full(len(close), np.nan)
    diff[lookback:] = close[lookback:] - close[:-lookback]
    return crossings(diff)


def buy_and_hold(bars: Bars) -> npt.NDArray[np.int8]:
    """Buy once, on bar 1 (the first bar backtesting.py's ``next()`` sees), and hold.

    It fills at the open of bar 2, as ``if not self.position: self.buy()`` does in
    backtesting.py.
    """
    sig = np.zeros(len(bars.close), dtype=np.int8)
    if len(sig) > 1:
        sig[1] = 1
    return sig


BUILTIN_STRATEGIES: dict[str, StrategyFn] = {
    "sma_cross": sma_cross,
    "momentum": momentum,
    "buy_and_hold": buy_and_hold,
}
