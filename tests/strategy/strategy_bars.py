"""Helpers of the strategy plugin's tests: bars from lists, random bars with a fixed seed."""

from __future__ import annotations

import numpy as np

from harness import Bars

DAY_NS = 86_400 * 10**9
START_NS = 1_600_000_000 * 10**9


def make_bars(
    close: list[float] | np.ndarray,
    open_: list[float] | np.ndarray | None = None,
    symbol: str = "TEST",
) -> Bars:
    """Bars from explicit closes (and opens; default: the closes)."""
    c = np.asarray(close, dtype=np.float64)
    o = c.copy() if open_ is None else np.asarray(open_, dtype=np.float64)
    ts = START_NS + np.arange(len(c), dtype=np.int64) * DAY_NS
    return Bars(symbol, "test", ts, o, np.maximum(o, c), np.minimum(o, c), c, np.ones(len(c)))


def random_bars(n: int, seed: int, symbol: str = "RND", vol: float = 0.01) -> Bars:
    """A geometric random walk with gapped opens; the same for the same seed."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, vol / 3, n - 1))
    high = np.maximum(open_, close) * 1.002
    low = np.minimum(open_, close) * 0.998
    ts = START_NS + np.arange(n, dtype=np.int64) * DAY_NS
    return Bars(symbol, "test", ts, open_, high, low, close, np.full(n, 1000.0))
