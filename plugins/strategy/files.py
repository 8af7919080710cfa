"""Equity curves, trade lists and sweep tables written under ``<run_dir>/strategy/``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from harness import Bars
    from harness.plugins.strategy.engine import BacktestResult
    from harness.plugins.strategy.sweep import SweepRow

__all__ = [
    "FORMATS",
    "BackgroundWriter",
    "WriteFailed",
    "backtest_paths",
    "save_backtest",
    "save_sweep",
    "write_backtest",
]


def _slug(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") or "x" for p in parts)


#: the formats of equity curves and trade lists
FORMATS = ("parquet", "csv")


def _write(path: Path, columns: dict[str, Any]) -> None:
    """Write ``columns`` (Parquet or CSV, by suffix) through a temporary file.

    Never half a file: readers see the old file or the new one. Parquet is
    zstd-compressed; CSV timestamps are ISO 8601 UTC with a ``Z``.
    """
    import polars as pl

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame = pl.DataFrame(columns)
    if path.suffix == ".parquet":
        frame.write_parquet(tmp, compression="zstd")
    else:
        naive = {
            n: frame[n].dt.replace_time_zone(None)
            for n, t in frame.schema.items()
            if isinstance(t, pl.Datetime)
        }
        frame.with_columns(**naive).write_csv(tmp, datetime_format="%Y-%m-%dT%H:%M:%S%.fZ")
    tmp.replace(path)


def _times(ts: np.ndarray[Any, Any]) -> Any:
    """Nanoseconds since the epoch as a UTC datetime column."""
    import polars as pl

    return pl.Series(np.asarray(ts, dtype=np.int64)).cast(pl.Datetime("ns", "UTC"))


def backtest_paths(folder: Path, label: str, symbol: str, fmt: str) -> dict[str, Path]:
    """``{"equity": folder/equity_<label>_<symbol>.<fmt>, "trades": ...trades_...}``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown file format {fmt!r} (known: {', '.join(FORMATS)})")
    stem = _slug(label, symbol)
    return {kind: folder / f"{kind}_{stem}.{fmt}" for kind in ("equity", "trades")}


def write_backtest(paths: Mapping[str, Path], bars: Bars, result: BacktestResult) -> None:
    """Write the equity curve and the trade list to ``paths`` (:func:`backtest_paths`).

    The equity curve has one row per bar (``timestamp``, ``equity``,
    ``position``); the trade list one row per closed trade.
    """
    _write(
        paths["equity"],
        {"timestamp": _times(bars.timestamp), "equity": result.equity, "position": result.position},
    )
    tr = result.trades
    _write(
        paths["trades"],
        {
            "entry_time": _times(bars.timestamp[tr.entry_bar]),
            "exit_time": _times(bars.timestamp[tr.exit_bar]),
            "entry_bar": tr.entry_bar,
            "exit_bar": tr.exit_bar,
            "size": tr.size,
            "entry_price": tr.entry_price,
            "exit_price": tr.exit_price,
            "commission": tr.commission,
            "pnl": tr.pnl,
            "return": tr.returns,
        },
    )


def save_backtest(
    folder: Path, label: str, bars: Bars, result: BacktestResult, fmt: str = "parquet"
) -> dict[str, str]:
    """Write ``equity_<label>_<symbol>.<fmt>`` and ``trades_<label>_<symbol>.<fmt>`` now.

    :param fmt: ``"parquet"`` or ``"csv"``.
    :returns: ``{"equity": path, "trades": path}``, relative to ``folder.parent``
        (the run directory).
    """
    paths = backtest_paths(folder, label, bars.symbol, fmt)
    write_backtest(paths, bars, result)
    return {kind: str(path.relative_to(folder.parent)) for kind, path in paths.items()}


class WriteFailed(Exception):
    """A background write failed; the message names the error (and the file, if it says)."""


class BackgroundWriter:
    """Writes files on one background thread while the phase computes.

    At most one write is in flight: :meth:`submit` first waits for the previous
    one (so memory stays bounded) and raises :class:`WriteFailed` if it failed. :meth:`close` waits
    for the last one. polars releases the GIL while it writes, so a write
    overlaps the next computation on another core.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="strategy-files")
        self._pending = self._pool.submit(fn, *args)

    def wait(self) -> None:
        """Wait for the write in flight.

        :raises WriteFailed: the write raised (the original error is its cause).
        """
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            except Exception as exc:
                raise WriteFailed(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Wait for the last write (raising its error) and stop the thread."""
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_sweep(folder: Path, label: str, symbol: str, rows: Sequence[SweepRow]) -> str:
    """Write ``sweep_<label>_<symbol>.csv``: one row per parameter set.

    Always CSV: a sweep table has one row per parameter set, small and meant to
    be read (or opened in a spreadsheet) as is.
    """
    path = folder / f"sweep_{_slug(label, symbol)}.csv"
    param_keys = list(dict.fromkeys(k for r in rows for k in r.params))
    metric_keys = list(dict.fromkeys(k for r in rows for k in (r.metrics or {})))
    columns: dict[str, list[Any]] = {}
    for k in param_keys:
        columns[k] = [str(r.params.get(k, "")) for r in rows]
    for k in metric_keys:
        columns[k] = [float((r.metrics or {}).get(k, float("nan"))) for r in rows]
    columns["error"] = [r.error or "" for r in rows]
    _write(path, columns)
    return str(path.relative_to(folder.parent))
