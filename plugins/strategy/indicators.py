"""Indicators whose exact values decide signals: computed bit for bit as pandas does.

backtesting.py users compute their moving averages with
``pandas.Series.rolling(n).mean()``. Where two averages are equal in real arithmetic
(common on prices rounded to a tick), which one comes out larger is decided by the
last bit of each, so a crossover reproduces backtesting.py only if each average is the
very float pandas gives. :func:`sma` is that float, without pandas:

* pandas' rolling mean (``roll_mean`` in ``pandas/_libs/window/aggregations.pyx``)
  keeps one running sum over the whole series, removing the value that leaves the
  window and then adding the one that enters, each with Kahan compensation (one
  compensation term for removals, one for additions), and divides by the count. polars'
  ``rolling_mean`` (a runtime dependency, in Rust) runs that same recurrence in the
  same order with the same two terms, so its sums are pandas' sums;
* on top of it pandas applies three rules (``calc_mean``), repeated here with numpy: a
  window of identical values gives that value exactly; a window without negative
  values never gives a negative mean, nor one of only negative values a positive mean
  (0.0 instead);
* pandas reads an infinity as NaN (``_prep_values``), and a window holding a NaN gives
  NaN (``min_periods = window``).

It costs about what ``np.convolve`` does. The tests compare :func:`sma` with pandas bit
for bit (``tests/strategy``): rounded random walks with ties, constant stretches,
negative values, NaN and infinities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["sma"]


def sma(close: npt.ArrayLike, window: int) -> npt.NDArray[np.float64]:
    """Simple moving average over ``window`` bars, as pandas' ``rolling(window).mean()``.

    :param close: the values (any array-like of numbers; read as float64).
    :param window: bars per average, >= 1.
    :returns: a new float64 array of ``len(close)``: NaN for the first ``window - 1``
        bars (all NaN when the series is shorter than ``window``), then the mean of the
        last ``window`` values, bit for bit the float pandas gives (see the module doc).
        The same inputs always give the same array, so callers may cache it per window.
    :raises ValueError: ``window`` is not a positive integer.
    """
    import polars as pl

    if isinstance(window, bool) or int(window) != window or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    window = int(window)
    values = np.array(close, dtype=np.float64)  # a copy: infinities become NaN in it
    values[np.isinf(values)] = np.nan
    n = len(values)
    if window > n:
        return np.full(n, np.nan)
    if window == 1:  # every window holds one value: the value itself
        return values
    # min_samples=1: partial windows get means too, so the result has no nulls and comes
    # out of polars without a conversion (the sums are the same; the warm-up is NaN below)
    out = np.array(pl.Series(values).rolling_mean(window, min_samples=1).to_numpy())
    out[: window - 1] = np.nan
    _clamp_sign(values, window, out)
    _identical_windows(values, window, out)
    return out


def _clamp_sign(values: npt.NDArray[np.float64], window: int, out: npt.NDArray[np.float64]) -> None:
    """A window with no negative value never averages below 0, one of only negative
    values never above 0: pandas gives 0.0 there (the sum drifted across 0)."""
    if not np.signbit(values).any():  # no negative value (nor -0.0, nor a negative NaN)
        below = out < 0
        if below.any():
            out[below] = 0.0
        return
    negative = np.signbit(values) & ~np.isnan(values)
    counts = np.cumsum(negative, dtype=np.int64)
    in_window = counts.copy()
    in_window[window:] -= counts[:-window]
    out[(in_window == 0) & (out < 0)] = 0.0
    out[(in_window == window) & (out > 0)] = 0.0


def _identical_windows(
    values: npt.NDArray[np.float64], window: int, out: npt.NDArray[np.float64]
) -> None:
    """Where all ``window`` values are the same, the mean is that value exactly.

    ``same[j]`` says ``values[j + 1] == values[j]``; a run of ``same`` over ``j = a..b``
    makes ``values[a..b + 1]`` identical, so windows ending at ``a + window - 1`` to
    ``b + 1`` are all one value.
    """
    same = np.flatnonzero(values[1:] == values[:-1])
    if len(same) < window - 1:
        return
    breaks = np.flatnonzero(np.diff(same) != 1)
    first = same[np.concatenate(([0], breaks + 1))]
    last = same[np.append(breaks, len(same) - 1)]
    lo, hi = first + window - 1, last + 1
    keep = lo <= hi
    if not keep.any():
        return
    lo, hi = lo[keep], hi[keep]
    mark = np.zeros(len(values) + 1, dtype=np.int32)
    np.add.at(mark, lo, 1)
    np.add.at(mark, hi + 1, -1)
    full = np.cumsum(mark[:-1]).astype(bool)
    out[full] = values[full]
