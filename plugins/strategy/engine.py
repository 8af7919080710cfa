"""The backtest engine: a signal array in, an equity curve and a trade list out.

Semantics (identical to backtesting.py's ``Backtest(..., exclusive_orders=True,
trade_on_close=False)`` with orders of the default size):

* ``signal[t]`` in {-1, 0, +1} is decided with data up to and including bar ``t``
  and fills at the **open of bar t+1**; a signal on the last bar never fills;
  0 means "do nothing";
* every fill first closes the open trade (if any), then opens a new trade in the
  signal's direction at the same price, also when the direction repeats;
* size is all available cash in whole units, computed as backtesting.py computes
  its default size (``1 - sys.float_info.epsilon`` of the cash):
  ``int((cash * (1 - 2**-52)) // (open + open * (1 - 2**-52) * commission / (1 - 2**-52)))``
  with Python's float operations in that order (``//`` floors the exact quotient): so
  when the cash buys an exact whole number of units (a tie, common on rounded prices
  and round cash), one unit fewer; an order of 0 units is skipped (the previous trade
  is still closed);
* commission is ``units * price * commission``, charged on entry and on exit;
* equity is marked to market at each bar's close:
  ``cash + size * (close - entry_price)``;
* a trade still open after the last bar is not in the trade list, but its
  unrealised P&L is in the final equity; with ``finalize=True`` it is closed at
  the open of the last bar instead (what backtesting.py's ``finalize_trades=True``
  does: it re-runs the broker on the last bar) and counted;
* when equity at a close is <= 0 the open trade is closed at that close and
  equity stays 0 from there on (backtesting.py's "out of money" stop).

The trade loop is a tight loop over fills; the equity curve is vectorised.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["BacktestResult", "Trades", "backtest"]

#: backtesting.py's default order size, "all the equity": a fraction just below 1, which
#: sizing multiplies the cash by (and divides the commission by).
_FULL = 1.0 - sys.float_info.epsilon


@dataclass(frozen=True, slots=True)
class Trades:
    """Closed trades, one row per index (all arrays have the same length).

    ``size`` is signed (negative for shorts); ``pnl`` is net of both commissions.
    """

    entry_bar: npt.NDArray[np.int64]
    exit_bar: npt.NDArray[np.int64]
    size: npt.NDArray[np.float64]
    entry_price: npt.NDArray[np.float64]
    exit_price: npt.NDArray[np.float64]
    commission: npt.NDArray[np.float64]
    pnl: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.entry_bar)

    @property
    def wins(self) -> int:
        """Trades with net P&L > 0 (break-even is a loss)."""
        return int(np.count_nonzero(self.pnl > 0))

    @property
    def returns(self) -> npt.NDArray[np.float64]:
        """Net return of each trade on its entry value."""
        value = np.abs(self.size) * self.entry_price
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(value > 0, self.pnl / value, 0.0)


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """What :func:`backtest` returns.

    :param equity: mark-to-market equity at each bar's close.
    :param position: signed units held at each bar's close.
    :param trades: the closed trades.
    :param open_trade_pnl: unrealised P&L of the trade still open at the end
        (net of its entry commission), 0.0 when none is open.
    """

    initial_cash: float
    equity: npt.NDArray[np.float64]
    position: npt.NDArray[np.float64]
    trades: Trades
    open_trade_pnl: float

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else self.initial_cash


def _empty_trades() -> Trades:
    f = np.empty(0, dtype=np.float64)
    i = np.empty(0, dtype=np.int64)
    return Trades(i, i.copy(), f, f.copy(), f.copy(), f.copy(), f.copy())


def _fills(
    directions: list[int], prices: list[float], cash: float, commission: float, fractional: bool
) -> tuple[list[float], list[float], float]:
    """Size of the trade each fill opens and the cash after it; and the final cash.

    Whole units are sized as backtesting.py does, float operation for float operation
    (``Broker._process_orders``: the order size is :data:`_FULL`, the commission per unit
    is the order's commission divided by that size, ``//`` floors the exact quotient).
    """
    sizes: list[float] = []
    cashes: list[float] = []
    size = 0.0
    entry = 0.0
    cost = 1.0 + commission
    full = _FULL
    for direction, px in zip(directions, prices, strict=True):
        if size:
            cash += size * (px - entry) - (size if size > 0 else -size) * px * commission
        available = cash if cash > 0 else 0.0
        if fractional:
            units = available / (px * cost)
        else:
            units = int((available * full) // (px + full * px * commission / full))
        if units > 0:
            size = direction * units
            cash -= units * px * commission
        else:
            size = 0.0
        entry = px
        sizes.append(size)
        cashes.append(cash)
    return sizes, cashes, cash


def _fills_plain(
    directions: list[int], prices: list[float], cash: float
) -> tuple[list[float], list[float], float]:
    """:func:`_fills` without commission, in whole units: the same figures, faster.

    With ``commission == 0`` every commission term of :func:`_fills` is ``+ 0.0`` or
    ``- 0.0``, so the floats are bit for bit the same.
    """
    sizes: list[float] = []
    cashes: list[float] = []
    add_size = sizes.append
    add_cash = cashes.append
    full = _FULL
    size = 0.0
    entry = 0.0
    for direction, px in zip(directions, prices, strict=True):
        if size:
            cash += size * (px - entry)
        units = int((cash * full) // px) if cash > 0 else 0
        size = direction * units if units > 0 else 0.0
        entry = px
        add_size(size)
        add_cash(cash)
    return sizes, cashes, cash


def backtest(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    signal: npt.ArrayLike,
    *,
    cash: float = 10_000.0,
    commission: float = 0.0,
    finalize: bool = False,
    fractional: bool = False,
) -> BacktestResult:
    """Run one backtest; see the module docstring for the rules.

    :param open_: open prices, one per bar.
    :param close: close prices, one per bar.
    :param signal: -1 (sell), 0 (nothing), +1 (buy) per bar.
    :param cash: initial cash.
    :param commission: relative commission per fill (0.001 = 0.1 %).
    :param finalize: close the trade still open at the end (at the last open).
    :param fractional: size orders in fractional units instead of whole ones.
    """
    opens = np.asarray(open_, dtype=np.float64)
    closes = np.asarray(close, dtype=np.float64)
    sig = np.asarray(signal)
    n = len(closes)
    if len(opens) != n or len(sig) != n:
        raise ValueError(f"open ({len(opens)}), close ({n}) and signal ({len(sig)}) differ")
    if n == 0:
        empty = np.empty(0, dtype=np.float64)
        return BacktestResult(cash, empty, empty.copy(), _empty_trades(), 0.0)

    # Signal on bar t fills at the open of bar t + 1; the last bar's signal never fills.
    fills = np.flatnonzero(sig[:-1]) + 1
    prices = opens[fills]

    # The only sequential part: each fill's size depends on the cash left by the
    # previous one. Fill k closes the trade of fill k - 1 (if any) and opens its own.
    directions = np.sign(sig[fills - 1]).tolist()
    if commission == 0.0 and not fractional:
        sizes, cashes, cur_cash = _fills_plain(directions, prices.tolist(), float(cash))
    else:
        sizes, cashes, cur_cash = _fills(
            directions, prices.tolist(), float(cash), commission, fractional
        )
    size = sizes[-1] if sizes else 0.0
    entry = float(prices[-1]) if len(prices) else 0.0

    # Segments: before the first fill, then one per fill; cash and trade constant within.
    seg_start = np.concatenate(([0], fills))
    seg_cash = np.concatenate(([float(cash)], cashes))
    seg_size = np.concatenate(([0.0], sizes))
    seg_entry = np.concatenate(([0.0], prices))
    counts = np.diff(np.append(seg_start, n))
    position = np.repeat(seg_size, counts)
    # cash + (close * size - size * entry), in backtesting.py's order of operations
    # (in place: one new array; IEEE addition commutes, so x + cash == cash + x)
    equity = position * closes
    equity -= np.repeat(seg_size * seg_entry, counts)
    equity += np.repeat(seg_cash, counts)

    # Trade k: opened by fill k, closed by fill k + 1 at its price.
    size_arr = seg_size[1:]
    opened = np.flatnonzero(size_arr[:-1] != 0)
    entry_bar, exit_bar = fills[opened], fills[opened + 1]
    t_size, t_entry, t_exit = size_arr[opened], prices[opened], prices[opened + 1]
    last_open = len(sizes) > 0 and sizes[-1] != 0

    broke = np.flatnonzero(~(equity > 0))
    if len(broke):
        # Out of money at the close of bar b: liquidate there, nothing after counts.
        b = int(broke[0])
        keep = exit_bar <= b
        entry_bar, exit_bar = entry_bar[keep], exit_bar[keep]
        t_size, t_entry, t_exit = t_size[keep], t_entry[keep], t_exit[keep]
        k = int(np.searchsorted(seg_start, b, "right")) - 1
        if seg_size[k]:
            entry_bar = np.append(entry_bar, seg_start[k])
            exit_bar = np.append(exit_bar, b)
            t_size = np.append(t_size, seg_size[k])
            t_entry = np.append(t_entry, seg_entry[k])
            t_exit = np.append(t_exit, closes[b])
        equity[b:] = 0.0
        position[b:] = 0.0
        last_open = False
    elif finalize and last_open:
        px = float(opens[-1])
        exit_comm = abs(size) * px * commission
        equity[-1] = cur_cash + size * (px - entry) - exit_comm
        position[-1] = 0.0
        entry_bar = np.append(entry_bar, fills[-1])
        exit_bar = np.append(exit_bar, n - 1)
        t_size = np.append(t_size, size)
        t_entry = np.append(t_entry, entry)
        t_exit = np.append(t_exit, px)
        last_open = False

    comms = np.abs(t_size) * t_entry * commission + np.abs(t_size) * t_exit * commission
    trades = Trades(
        entry_bar=entry_bar.astype(np.int64),
        exit_bar=exit_bar.astype(np.int64),
        size=t_size,
        entry_price=t_entry,
        exit_price=t_exit,
        commission=comms,
        pnl=t_size * (t_exit - t_entry) - comms,
    )
    open_pnl = 0.0
    if last_open:
        open_pnl = size * (float(closes[-1]) - entry) - abs(size) * entry * commission
    return BacktestResult(float(cash), equity, position, trades, open_pnl)
