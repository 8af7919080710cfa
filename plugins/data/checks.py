"""The data checks: pure numpy functions from a :class:`Frame` to :class:`Finding` objects.

Each check finds offending positions (indices into the frame); :func:`run_checks` applies
the check's thresholds and severity. A check set to ``off`` is not computed.

NaN rule: a row with a NaN (or empty, or infinite) price or volume is counted once, by
``finite``; the comparisons of ``high_low``, ``non_positive_prices``, ``negative_volume``
and ``outlier_returns`` do not count it again. A cell that did not parse is counted by
``parse`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.plugins.data.settings import PRICE_COLUMNS, CheckSpec, DataSettings, interval_seconds

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from harness.plugins.data.loader import Frame

    IntArray = npt.NDArray[np.int64]

__all__ = ["Finding", "run_checks", "weekday_time"]

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check found in one file (and symbol).

    :param count: offences (rows, runs or gaps, as the check counts them).
    :param positions: indices into the frame of the offending rows, in file order.
    :param failed: the thresholds are exceeded (an ``error`` check then fails the phase).
    :param detail: JSON-ready figures (largest gap, longest run, missing columns...).
    """

    check: str
    severity: str
    failed: bool
    count: int
    positions: IntArray
    detail: Mapping[str, Any] = field(default_factory=dict)


def weekday_time(ts: IntArray) -> IntArray:
    """Nanoseconds of Monday-to-Friday time (UTC) from a fixed origin to each ``ts``.

    The difference of two values is the weekday time between them, so a Friday bar
    followed by a Monday bar is one day apart.
    """
    import numpy as np

    days, rem = np.divmod(ts, _DAY_NS)
    weeks, dow = np.divmod(days + 3, 7)  # 1970-01-01 was a Thursday: dow 0 = Monday
    weekday = dow < 5
    return weeks * 5 * _DAY_NS + np.minimum(dow, 5) * _DAY_NS + np.where(weekday, rem, 0)


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
    """Start positions and lengths of the runs of True in ``mask``."""
    import numpy as np

    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return starts.astype(np.int64), (ends - starts).astype(np.int64)


def _empty() -> IntArray:
    import numpy as np

    return np.empty(0, dtype=np.int64)


def _parse_mask(frame: Frame) -> npt.NDArray[np.bool_]:
    import numpy as np

    mask = np.zeros(len(frame), dtype=bool)
    for col, pos in frame.parse_errors.items():
        if col != "timestamp":
            mask[pos] = True
    return mask


# Each check returns (positions, count, detail, failed-or-None); None means count > max_count.
CheckResult = tuple["IntArray", int, dict[str, Any], "bool | None"]


def _required_columns(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    absent = [c for c in spec["required"] if c in frame.missing]
    return _empty(), len(absent), {"missing": absent}, bool(absent)


def _parse(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    if not frame.parse_errors:
        return _empty(), 0, {}, None
    positions = np.unique(np.concatenate(list(frame.parse_errors.values())))
    per_col = {col: len(pos) for col, pos in frame.parse_errors.items()}
    return positions, len(positions), {"columns": per_col}, None


def _valid_ts(frame: Frame) -> tuple[IntArray, IntArray]:
    import numpy as np

    idx = np.flatnonzero(frame.ts_ok).astype(np.int64)
    return idx, frame.timestamp[idx]


def _order(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    idx, ts = _valid_ts(frame)
    positions = idx[1:][ts[1:] < ts[:-1]]
    return positions, len(positions), {}, None


def _duplicates(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    idx, ts = _valid_ts(frame)
    positions = idx[1:][ts[1:] == ts[:-1]]
    return positions, len(positions), {}, None


def _gaps(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    interval = settings.effective_interval
    if interval is None:
        return _empty(), 0, {"skipped": "no interval"}, False
    step = interval_seconds(interval) * 1_000_000_000
    idx, ts = _valid_ts(frame)
    if len(ts) > 1 and (ts[1:] < ts[:-1]).any():  # out-of-order rows are `order`'s business
        sort = np.argsort(ts, kind="stable")
        idx, ts = idx[sort], ts[sort]
    if settings.effective_calendar == "weekdays":
        ts = weekday_time(ts)
    delta = np.diff(ts)
    missing = np.rint(delta / step).astype(np.int64) - 1
    gap = (delta > 0) & (missing > 0)
    positions = np.sort(idx[1:][gap])
    missing_bars = int(missing[gap].sum())
    largest = int(missing[gap].max()) if gap.any() else 0
    expected = len(ts) + missing_bars
    fraction = missing_bars / expected if expected else 0.0
    failed = largest > spec["max_missing_bars"] or fraction > spec["max_missing_fraction"]
    detail = {
        "largest_missing_bars": largest,
        "missing_bars": missing_bars,
        "missing_fraction": round(fraction, 6),
    }
    return positions, len(positions), detail, bool(failed)


def _calendar(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    if settings.effective_calendar != "weekdays":
        return _empty(), 0, {}, False
    idx, ts = _valid_ts(frame)
    dow = (np.floor_divide(ts, _DAY_NS) + 3) % 7
    positions = idx[dow >= 5]
    return positions, len(positions), {}, None


def _present(frame: Frame, columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if c not in frame.missing]


def _finite(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    bad = np.zeros(len(frame), dtype=bool)
    per_col = {}
    for col in _present(frame, (*PRICE_COLUMNS, "volume")):
        col_bad = ~np.isfinite(frame.values[col])
        if col_bad.any():
            per_col[col] = int(col_bad.sum())
            bad |= col_bad
    bad &= ~_parse_mask(frame)
    positions = np.flatnonzero(bad).astype(np.int64)
    return positions, len(positions), {"columns": per_col} if per_col else {}, None


def _non_positive_prices(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    bad = np.zeros(len(frame), dtype=bool)
    for col in _present(frame, PRICE_COLUMNS):
        bad |= frame.values[col] <= 0
    positions = np.flatnonzero(bad).astype(np.int64)
    return positions, len(positions), {}, None


def _high_low(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    if len(_present(frame, PRICE_COLUMNS)) < 4:
        return _empty(), 0, {"skipped": "needs open, high, low and close"}, False
    v = frame.values
    tol = float(spec["tolerance"])
    top = np.maximum(np.maximum(v["open"], v["close"]), v["low"])
    bottom = np.minimum(np.minimum(v["open"], v["close"]), v["high"])
    bad_high = v["high"] < top * (1.0 - tol)
    bad_low = v["low"] > bottom * (1.0 + tol)
    positions = np.flatnonzero(bad_high | bad_low).astype(np.int64)
    detail = {"high_too_low": int(bad_high.sum()), "low_too_high": int(bad_low.sum())}
    return positions, len(positions), detail, None


def _negative_volume(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    positions = np.flatnonzero(frame.values["volume"] < 0).astype(np.int64)
    return positions, len(positions), {}, None


def _long_runs(
    mask: npt.NDArray[np.bool_], max_run: int, offset: int = 0
) -> tuple[IntArray, dict[str, Any]]:
    starts, lengths = _runs(mask)
    lengths = lengths + offset
    long = lengths > max_run
    longest = int(lengths.max()) if len(lengths) else 0
    return starts[long], {"longest_run": longest}


def _zero_volume_runs(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    if "volume" in frame.missing:
        return _empty(), 0, {}, False
    positions, detail = _long_runs(frame.values["volume"] == 0, int(spec["max_run"]))
    return positions, len(positions), detail, None


def _stale_prices(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    close = frame.values["close"]
    if "close" in frame.missing or len(close) < 2:
        return _empty(), 0, {}, False
    # a run of k True in `same` is k + 1 identical closes, starting at the run's start
    positions, detail = _long_runs(close[1:] == close[:-1], int(spec["max_run"]), offset=1)
    return positions, len(positions), detail, None


def _outlier_returns(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    close = frame.values["close"]
    if "close" in frame.missing or len(close) < 2:
        return _empty(), 0, {}, False
    prev, cur = close[:-1], close[1:]
    ok = np.isfinite(prev) & np.isfinite(cur) & (prev > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(ok, cur / np.where(ok, prev, 1.0) - 1.0, 0.0)
    bad = np.abs(ret) > float(spec["max_abs_return"])
    positions = (np.flatnonzero(bad) + 1).astype(np.int64)
    detail = {"largest_abs_return": round(float(np.abs(ret).max()), 6)} if len(ret) else {}
    return positions, len(positions), detail, None


def _min_rows(frame: Frame, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    valid = int(frame.ts_ok.sum())
    short = valid < int(spec["min_rows"])
    return _empty(), int(short), {"rows": valid, "min_rows": int(spec["min_rows"])}, short


_CHECKS: Mapping[str, Callable[[Frame, CheckSpec, DataSettings], CheckResult]] = {
    "required_columns": _required_columns,
    "parse": _parse,
    "order": _order,
    "duplicates": _duplicates,
    "gaps": _gaps,
    "calendar": _calendar,
    "finite": _finite,
    "non_positive_prices": _non_positive_prices,
    "high_low": _high_low,
    "negative_volume": _negative_volume,
    "zero_volume_runs": _zero_volume_runs,
    "stale_prices": _stale_prices,
    "outlier_returns": _outlier_returns,
    "min_rows": _min_rows,
}


def run_checks(frame: Frame, settings: DataSettings) -> list[Finding]:
    """Run every check that is not ``off``; return the ones that found something."""
    findings = []
    for name, fn in _CHECKS.items():
        spec = settings.checks[name]
        if spec.severity == "off":
            continue
        positions, count, detail, failed = fn(frame, spec, settings)
        if failed is None:
            failed = count > int(spec.thresholds.get("max_count", 0))
        if count or failed:
            findings.append(Finding(name, spec.severity, failed, count, positions, detail))
    return findings
