"""Equity curves, trade lists and sweep tables written under ``<run_dir>/strategy/``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from harness.plugins.data.market import Bars
    from harness.plugins.strategy.engine import BacktestResult
    from harness.plugins.strategy.sweep import SweepRow

__all__ = ["save_backtest", "save_sweep"]


def _slug(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") or "x" for p in parts)


def _write(path: Path, columns: dict[str, Any]) -> None:
    """Write ``columns`` as CSV through a temporary file (never half a file)."""
    import polars as pl

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pl.DataFrame(columns).write_csv(tmp, datetime_format="%Y-%m-%dT%H:%M:%S%.fZ")
    tmp.replace(path)


def _times(ts: np.ndarray[Any, Any]) -> Any:
    import polars as pl

    # naive UTC: formatting skips the time-zone conversion (written with a "Z")
    return pl.Series(np.asarray(ts, dtype=np.int64)).cast(pl.Datetime("ns"))


def save_backtest(folder: Path, label: str, bars: Bars, result: BacktestResult) -> dict[str, str]:
    """Write ``equity_<label>_<symbol>.csv`` and ``trades_<label>_<symbol>.csv``.

    :returns: ``{"equity": path, "trades": path}``, relative to the run directory.
    """
    stem = _slug(label, bars.symbol)
    equity_path = folder / f"equity_{stem}.csv"
    trades_path = folder / f"trades_{stem}.csv"
    _write(
        equity_path,
        {"timestamp": _times(bars.timestamp), "equity": result.equity, "position": result.position},
    )
    tr = result.trades
    _write(
        trades_path,
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
    root = folder.parent
    return {
        "equity": str(equity_path.relative_to(root)),
        "trades": str(trades_path.relative_to(root)),
    }


def save_sweep(folder: Path, label: str, symbol: str, rows: Sequence[SweepRow]) -> str:
    """Write ``sweep_<label>_<symbol>.csv``: one row per parameter set."""
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
