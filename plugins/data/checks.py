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
#: Rows per block where a check needs float temporaries (they then stay ~1 MiB).
_BLOCK = 1 << 17


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
    out: IntArray = weeks * 5 * _DAY_NS + np.minimum(dow, 5) * _DAY_NS + np.where(weekday, rem, 0)
    return out


class _View:
    """A frame and the arrays several checks share, each computed once, on first use."""

    __slots__ = ("_delta", "_idx", "_ts", "frame", "short")

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self._idx: IntArray | None = None
        self._ts: IntArray | None = None
        self._delta: IntArray | None = None
        #: indices into ``delta`` of steps shorter than the interval (see _short_steps)
        self.short: IntArray | None = None

    def _valid(self) -> None:
        import numpy as np

        frame = self.frame
        if frame.ts_ok.all():
            self._ts = frame.timestamp
        else:
            self._idx = np.flatnonzero(frame.ts_ok).astype(np.int64)
            self._ts = frame.timestamp[self._idx]

    @property
    def ts(self) -> IntArray:
        """The timestamps that parsed, in file order."""
        if self._ts is None:
            self._valid()
        assert self._ts is not None
        return self._ts

    def positions(self, j: IntArray) -> IntArray:
        """Indices ``j`` into :attr:`ts` as positions in the frame."""
        if self._ts is None:
            self._valid()
        return j if self._idx is None else self._idx[j]

    @property
    def delta(self) -> IntArray:
        """``ts[i] - ts[i - 1]`` for i >= 1."""
        import numpy as np

        if self._delta is None:
            self._delta = np.diff(self.ts)
        return self._delta

    def release(self) -> None:
        """Drop the shared arrays (the checks after the time checks do not use them)."""
        self._delta = None
        self._ts = None
        self._idx = None
        self.short = None

    def after(self, mask: npt.NDArray[np.bool_]) -> IntArray:
        """Frame positions of the rows whose ``delta`` (to the row before) is in ``mask``."""
        import numpy as np

        return self.positions(np.flatnonzero(mask).astype(np.int64) + 1)


def _runs(positions: IntArray) -> tuple[IntArray, IntArray]:
    """Starts and lengths of the runs of consecutive integers in sorted ``positions``.

    Works on the (usually few) positions where a condition holds, not on the whole mask.
    """
    import numpy as np

    if len(positions) == 0:
        return _empty(), _empty()
    breaks = np.flatnonzero(np.diff(positions) != 1)
    first = np.concatenate(([0], breaks + 1))
    last = np.concatenate((breaks, [len(positions) - 1]))
    return positions[first], (last - first + 1).astype(np.int64)


def _empty() -> IntArray:
    import numpy as np

    return np.empty(0, dtype=np.int64)


def _parse_mask(frame: Frame) -> npt.NDArray[np.bool_] | None:
    import numpy as np

    cols = [pos for col, pos in frame.parse_errors.items() if col != "timestamp"]
    if not cols:
        return None
    mask = np.zeros(len(frame), dtype=bool)
    for pos in cols:
        mask[pos] = True
    return mask


# Each check returns (positions, count, detail, failed-or-None); None means count > max_count.
CheckResult = tuple["IntArray", int, dict[str, Any], "bool | None"]


def _required_columns(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    absent = [c for c in spec["required"] if c in view.frame.missing]
    return _empty(), len(absent), {"missing": absent}, bool(absent)


def _parse(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    errors = view.frame.parse_errors
    if not errors:
        return _empty(), 0, {}, None
    positions = np.unique(np.concatenate(list(errors.values())))
    per_col = {col: len(pos) for col, pos in errors.items()}
    return positions, len(positions), {"columns": per_col}, None


def _step_ns(settings: DataSettings) -> int | None:
    interval = settings.effective_interval
    return None if interval is None else interval_seconds(interval) * 1_000_000_000


def _short_steps(view: _View, settings: DataSettings) -> IntArray:
    """Indices into ``view.delta`` of the steps shorter than the interval (or <= 0).

    ``order``, ``duplicates`` and ``too_close`` each take their share of these: one pass
    over the timestamps for the three (``too_close``'s tolerance only narrows its share).
    """
    import numpy as np

    if view.short is None:
        step = _step_ns(settings)
        delta = view.delta
        view.short = np.flatnonzero(delta < (step or 1)).astype(np.int64)
    return view.short


def _order(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    j = _short_steps(view, settings)
    positions = view.positions(j[view.delta[j] < 0] + 1)
    return positions, len(positions), {}, None


def _duplicates(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    j = _short_steps(view, settings)
    positions = view.positions(j[view.delta[j] == 0] + 1)
    return positions, len(positions), {}, None


def _too_close(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    step = _step_ns(settings)
    if step is None:
        return _empty(), 0, {"skipped": "no interval"}, False
    limit = int(step * (1.0 - float(spec["tolerance"])))
    j = _short_steps(view, settings)
    d = view.delta[j]
    j = j[(d > 0) & (d < limit)]  # earlier or equal: `order` and `duplicates`
    positions = view.positions(j + 1)
    detail = {"smallest_step_s": int(view.delta[j].min()) / 1e9} if len(j) else {}
    return positions, len(positions), detail, None


def _gaps(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    step = _step_ns(settings)
    if step is None:
        return _empty(), 0, {"skipped": "no interval"}, False
    idx = None
    ts = view.ts
    delta = view.delta
    unsorted = bool((delta < 0).any())
    if unsorted:  # out-of-order rows are `order`'s business: measure gaps in time order
        idx = np.argsort(ts, kind="stable")
        ts = ts[idx]
    if settings.effective_calendar == "weekdays":
        ts = weekday_time(ts)
    if unsorted or ts is not view.ts:
        delta = np.diff(ts)
    # a gap: delta / step rounds to 2 or more, i.e. delta >= 1.5 steps (then only those)
    j = np.flatnonzero(delta >= (3 * step + 1) // 2)
    missing = np.rint(delta[j] / step).astype(np.int64) - 1
    after = j + 1
    if idx is not None:
        after = idx[after]
    positions = np.sort(view.positions(after.astype(np.int64)))
    missing_bars = int(missing.sum())
    largest = int(missing.max()) if len(missing) else 0
    expected = len(ts) + missing_bars
    fraction = missing_bars / expected if expected else 0.0
    failed = largest > spec["max_missing_bars"] or fraction > spec["max_missing_fraction"]
    detail: dict[str, Any] = {
        "largest_missing_bars": largest,
        "missing_bars": missing_bars,
        "missing_fraction": round(fraction, 6),
    }
    if len(missing):  # the row after the largest gap: the one that breaks max_missing_bars
        detail["largest_position"] = int(view.positions(after[[int(missing.argmax())]])[0])
    return positions, len(positions), detail, bool(failed)


def _calendar(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    if settings.effective_calendar != "weekdays":
        return _empty(), 0, {}, False
    dow = (np.floor_divide(view.ts, _DAY_NS) + 3) % 7
    positions = view.positions(np.flatnonzero(dow >= 5).astype(np.int64))
    return positions, len(positions), {}, None


def _present(frame: Frame, columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if c not in frame.missing]


def _finite(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    frame = view.frame
    bad: npt.NDArray[np.bool_] | None = None
    per_col = {}
    for col in _present(frame, (*PRICE_COLUMNS, "volume")):
        col_bad = ~np.isfinite(frame.values[col])
        if col_bad.any():
            per_col[col] = int(col_bad.sum())
            bad = col_bad if bad is None else np.logical_or(bad, col_bad, out=bad)
    if bad is None:
        return _empty(), 0, {}, None
    unparsed = _parse_mask(frame)
    if unparsed is not None:
        bad &= ~unparsed
    positions = np.flatnonzero(bad).astype(np.int64)
    return positions, len(positions), {"columns": per_col}, None


def _non_positive_prices(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    frame = view.frame
    bad = np.zeros(len(frame), dtype=bool)
    scratch = np.empty(len(frame), dtype=bool)
    for col in _present(frame, PRICE_COLUMNS):
        bad |= np.less_equal(frame.values[col], 0, out=scratch)
    positions = np.flatnonzero(bad).astype(np.int64)
    return positions, len(positions), {}, None


def _high_low(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    frame = view.frame
    if len(_present(frame, PRICE_COLUMNS)) < 4:
        return _empty(), 0, {"skipped": "needs open, high, low and close"}, False
    o, h, lo, c = (frame.values[k] for k in PRICE_COLUMNS)
    tol = float(spec["tolerance"])
    scratch = np.empty(len(frame), dtype=bool)
    # NaN compares False: a row with a NaN price is left to `finite`
    if tol == 0.0:  # boolean compares only: no float temporaries
        bad_high = np.less(h, o)
        bad_high |= np.less(h, c, out=scratch)
        bad_high |= np.less(h, lo, out=scratch)
        bad_low = np.greater(lo, o)
        bad_low |= np.greater(lo, c, out=scratch)
        bad_low |= np.greater(lo, h, out=scratch)
    else:  # one float scratch array, reused
        top = np.maximum(o, c)
        np.maximum(top, lo, out=top)
        top *= 1.0 - tol
        bad_high = h < top
        np.minimum(o, c, out=top)
        np.minimum(top, h, out=top)
        top *= 1.0 + tol
        bad_low = lo > top
        del top
    high_too_low, low_too_high = int(np.count_nonzero(bad_high)), int(np.count_nonzero(bad_low))
    bad_high |= bad_low
    positions = np.flatnonzero(bad_high).astype(np.int64)
    detail = {"high_too_low": high_too_low, "low_too_high": low_too_high}
    return positions, len(positions), detail, None


def _negative_volume(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    positions = np.flatnonzero(view.frame.values["volume"] < 0).astype(np.int64)
    return positions, len(positions), {}, None


def _long_runs(where: IntArray, max_run: int, offset: int = 0) -> tuple[IntArray, dict[str, Any]]:
    starts, lengths = _runs(where)
    lengths = lengths + offset
    long = lengths > max_run
    longest = int(lengths.max()) if len(lengths) else 0
    return starts[long], {"longest_run": longest}


def _zero_volume_runs(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    if "volume" in view.frame.missing:
        return _empty(), 0, {}, False
    zero = np.flatnonzero(view.frame.values["volume"] == 0).astype(np.int64)
    positions, detail = _long_runs(zero, int(spec["max_run"]))
    return positions, len(positions), detail, None


def _stale_prices(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    close = view.frame.values["close"]
    if "close" in view.frame.missing or len(close) < 2:
        return _empty(), 0, {}, False
    # a run of k positions where close equals the one before is k + 1 identical closes,
    # starting one row before the run
    same = np.flatnonzero(close[1:] == close[:-1]).astype(np.int64)
    positions, detail = _long_runs(same, int(spec["max_run"]), offset=1)
    return positions, len(positions), detail, None


def _outlier_returns(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    import numpy as np

    close = view.frame.values["close"]
    if "close" in view.frame.missing or len(close) < 2:
        return _empty(), 0, {}, False
    limit = float(spec["max_abs_return"])
    found: list[IntArray] = []
    largest = 0.0
    # in blocks, so that the float temporaries stay small whatever the file's length
    for start in range(0, len(close) - 1, _BLOCK):
        prev = close[start : start + _BLOCK]
        cur = close[start + 1 : start + 1 + _BLOCK]
        prev = prev[: len(cur)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ret = np.divide(cur, prev)
            ret -= 1.0
            np.abs(ret, out=ret)
        # a return from a non-positive or non-finite close is no return: those rows are
        # counted by `non_positive_prices` / `finite` (rare, so fixed up where they are)
        ret[np.flatnonzero(~((prev > 0) & (prev < np.inf)) | ~np.isfinite(ret))] = 0.0
        found.append(np.flatnonzero(ret > limit) + start + 1)
        largest = max(largest, float(ret.max()))
    positions = np.concatenate(found).astype(np.int64)
    return positions, len(positions), {"largest_abs_return": round(largest, 6)}, None


def _min_rows(view: _View, spec: CheckSpec, settings: DataSettings) -> CheckResult:
    valid = len(view.ts)
    short = valid < int(spec["min_rows"])
    return _empty(), int(short), {"rows": valid, "min_rows": int(spec["min_rows"])}, short


_CHECKS: Mapping[str, Callable[[_View, CheckSpec, DataSettings], CheckResult]] = {
    "required_columns": _required_columns,
    "parse": _parse,
    "order": _order,
    "duplicates": _duplicates,
    "too_close": _too_close,
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
    view = _View(frame)
    for name, fn in _CHECKS.items():
        spec = settings.checks[name]
        if name == "finite":  # the time checks are done: free their shared arrays
            view.release()
        if spec.severity == "off":
            continue
        positions, count, detail, failed = fn(view, spec, settings)
        if failed is None:
            failed = count > int(spec.thresholds.get("max_count", 0))
        if count or failed:
            findings.append(Finding(name, spec.severity, failed, count, positions, detail))
    return findings
