"""Market data handed between phases: the ``"data.market"`` artifact (public API).

A data phase puts a :class:`MarketData` under :data:`MARKET_ARTIFACT`; later
phases read it with::

    from harness import MARKET_ARTIFACT, MarketData
    market = ctx.artifacts.get(MARKET_ARTIFACT, MarketData)
    for symbol, bars in market.bars.items():
        bars.close  # numpy float64 array

A third-party data plugin produces the same type under the same key (importing
only :mod:`harness`), and the built-in strategy phase works unchanged.

Several data sources (``[phases.yahoo]`` and ``[phases.binance]``, both data
phases): each data phase puts its own market data under
``f"{MARKET_ARTIFACT}.{phase.name}"`` (``"data.market.yahoo"``), and
:data:`MARKET_ARTIFACT` itself stays the merged view of every data phase so far
(in config order; ``interval``/``interval_s`` are ``None`` once two sources are
merged). A symbol two sources loaded stays with the first in the merged view and
the later data phase says so in its message; it is never silently overwritten.
A strategy phase reads ``data = ["yahoo", "binance"]`` (default: every data
phase before it; a plugin that puts only ``"data.market"`` is read as one
source), each symbol keeping its own source's interval and calendar, and fails
naming both phases when a symbol comes from two of its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MARKET_ARTIFACT", "Bars", "MarketData"]

MARKET_ARTIFACT = "data.market"


@dataclass(frozen=True, slots=True)
class Bars:
    """OHLCV bars of one symbol, sorted by time, validated by the data phase.

    ``timestamp`` is ``int64`` nanoseconds since the Unix epoch, UTC; the price
    and volume columns are ``float64`` arrays of the same length.
    """

    symbol: str
    source: str
    timestamp: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.timestamp)


@dataclass(frozen=True, slots=True)
class MarketData:
    """All symbols the data phase loaded.

    :param bars: symbol -> :class:`Bars`, in the order the files were read.
    :param interval: the configured bar interval (``"1d"``, ``"1h"``...), or ``None``.
    :param interval_s: the same in seconds (Sharpe annualisation uses it).
    :param calendar: ``"24/7"`` or ``"weekdays"``.
    """

    bars: Mapping[str, Bars]
    interval: str | None
    interval_s: float | None
    calendar: str = "24/7"
