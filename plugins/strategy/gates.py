"""Gates: the checks a strategy's backtest must pass, and the look-ahead check."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from harness import Bars
    from harness.plugins.strategy.metrics import Metrics

__all__ = [
    "GateFailure",
    "check_gates",
    "check_signal",
    "cut_points",
    "first_lookahead",
]


@dataclass(frozen=True, slots=True)
class GateFailure:
    """One gate a backtest did not pass."""

    strategy: str
    symbol: str
    gate: str
    value: float | int | str
    threshold: float | int | str

    @property
    def message(self) -> str:
        return (
            f"strategy {self.strategy!r} on {self.symbol}: gate {self.gate} failed: "
            f"value {_fmt(self.value)}, threshold {_fmt(self.threshold)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fmt(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


#: gate name -> (metric, passes(value, threshold), how the threshold reads)
_THRESHOLD_GATES: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "min_trades": ("trades", lambda v, t: v >= t),
    "max_drawdown": ("max_drawdown", lambda v, t: v <= t),
    "min_sharpe": ("sharpe", lambda v, t: v >= t),
    "min_roi": ("roi", lambda v, t: v >= t),
}


def check_gates(
    strategy: str,
    symbol: str,
    metrics: Metrics,
    equity: npt.NDArray[np.float64],
    gates: Mapping[str, Any],
) -> list[GateFailure]:
    """The threshold gates set in ``gates`` plus the always-on finite-equity gate."""
    failures: list[GateFailure] = []
    bad = np.flatnonzero(~np.isfinite(equity))
    if len(bad):
        failures.append(
            GateFailure(
                strategy, symbol, "finite_equity", f"non-finite at bar {int(bad[0])}", "finite"
            )
        )
    for gate, (metric, passes) in _THRESHOLD_GATES.items():
        threshold = gates.get(gate)
        if threshold is None:
            continue
        value = getattr(metrics, metric)
        if not passes(value, threshold):
            failures.append(GateFailure(strategy, symbol, gate, value, threshold))
    return failures


def check_signal(signal: Any, n: int) -> npt.NDArray[np.int8]:
    """``signal`` as an int8 array of -1/0/+1 of length ``n``; ValueError otherwise.

    An int8 array comes back as is (no copy).
    """
    arr = np.asarray(signal)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"returned a signal of shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"returned a signal of dtype {arr.dtype}, expected numbers")
    if arr.dtype.kind in "biu" and (n == 0 or (arr.min() >= -1 and arr.max() <= 1)):
        return arr.astype(np.int8, copy=False)
    ok = np.isin(arr, (-1, 0, 1))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"returned {arr[i].item()!r} at bar {i}; signals must be -1, 0 or +1")
    return arr.astype(np.int8)


def cut_points(n: int, cuts: int, max_bars: int | None = None) -> list[int]:
    """The prefix lengths of the look-ahead check, without duplicates.

    With ``n <= max_bars`` (or no limit): ``cuts`` lengths spread evenly over
    ``(0, n)``. Longer data: ``cuts`` lengths spread evenly over ``(0, max_bars]``,
    so the check recomputes at most ``cuts * max_bars`` bars whatever ``n`` is.
    """
    if max_bars is not None and n > max_bars:
        points = {round(max_bars * k / cuts) for k in range(1, cuts + 1)}
    else:
        points = {round(n * k / (cuts + 1)) for k in range(1, cuts + 1)}
    return sorted(p for p in points if 1 < p < n)


def _prefix(bars: Bars, stop: int) -> Bars:
    """The first ``stop`` bars (views, no copies)."""
    return dataclasses.replace(
        bars,
        timestamp=bars.timestamp[:stop],
        open=bars.open[:stop],
        high=bars.high[:stop],
        low=bars.low[:stop],
        close=bars.close[:stop],
        volume=bars.volume[:stop],
    )


def first_lookahead(
    fn: Callable[..., Any],
    bars: Bars,
    params: Mapping[str, Any],
    full_signal: npt.NDArray[np.int8],
    cuts: int,
    max_bars: int | None = None,
) -> tuple[int, int] | None:
    """Find a bar whose signal changes when later data is removed.

    For each cut ``c`` of :func:`cut_points`, the signal computed on ``bars[:c]``
    must equal ``full_signal[:c]``. Returns ``(bar, cut)`` for the earliest
    differing bar (over all cuts), or ``None`` when every prefix agrees.
    """
    found: tuple[int, int] | None = None
    for cut in cut_points(len(bars), cuts, max_bars):
        part = check_signal(fn(_prefix(bars, cut), **params), cut)
        diff = np.flatnonzero(part != full_signal[:cut])
        if len(diff) and (found is None or int(diff[0]) < found[0]):
            found = (int(diff[0]), cut)
    return found
