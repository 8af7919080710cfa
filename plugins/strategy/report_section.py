"""The strategy phase's part of the HTML run report (``report_sections``).

Per strategy and symbol: the equity curve with trade markers and its drawdown
(read from the Parquet/CSV files the phase wrote, downsampled for drawing by the
report), the metrics table (exact figures from ``summary.json``), every gate with
its value and threshold, and each sweep as a heatmap (two parameters) or a table.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import hookimpl

__all__ = ["report_sections"]

#: gate -> (metric, passes(value, threshold)); the threshold gates of ``gates.py``
GATE_METRICS: dict[str, tuple[str, str]] = {
    "min_trades": ("trades", ">="),
    "max_drawdown": ("max_drawdown", "<="),
    "min_sharpe": ("sharpe", ">="),
    "min_roi": ("roi", ">="),
}
METRIC_COLUMNS = (
    "final_equity",
    "pnl",
    "roi",
    "trades",
    "wins",
    "losses",
    "win_rate",
    "max_drawdown",
    "sharpe",
    "exposure",
    "buy_hold_return",
    "bars",
)


def _read(path: Path, columns: Sequence[str]) -> Any:
    """A polars frame of ``columns`` from a Parquet or CSV file the phase wrote."""
    import polars as pl

    if path.suffix == ".parquet":
        return pl.read_parquet(path, columns=list(columns))
    return pl.read_csv(path, columns=list(columns), try_parse_dates=True)


def _seconds(column: Any) -> Any:
    import numpy as np

    return column.dt.epoch("ns").to_numpy().astype(np.float64) / 1e9


def curve_blocks(run_dir: Path, label: str, symbol: str, files: Mapping[str, str]) -> list[Any]:
    """The equity chart (with entries and exits) and the drawdown chart of one backtest."""
    import numpy as np

    equity_file = run_dir / files.get("equity", "")
    if not files.get("equity") or not equity_file.is_file():
        return [{"type": "text", "text": f"{label} {symbol}: no equity curve saved."}]
    frame = _read(equity_file, ["timestamp", "equity"])
    x = _seconds(frame["timestamp"])
    equity = frame["equity"].to_numpy().astype(np.float64)
    peak = np.fmax.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, equity / peak - 1.0, np.nan)
    series: list[dict[str, Any]] = [{"label": "equity", "x": x, "y": equity}]
    trades_file = run_dir / files.get("trades", "")
    if files.get("trades") and trades_file.is_file():
        trades = _read(trades_file, ["entry_bar", "exit_bar", "pnl"])
        n = len(equity)
        entry = np.clip(trades["entry_bar"].to_numpy(), 0, max(n - 1, 0))
        exit_ = np.clip(trades["exit_bar"].to_numpy(), 0, max(n - 1, 0))
        win = trades["pnl"].to_numpy() > 0
        if n:
            series += [
                {"label": "entry", "x": x[entry], "y": equity[entry], "kind": "points"},
                {
                    "label": "exit, win",
                    "x": x[exit_[win]],
                    "y": equity[exit_[win]],
                    "kind": "points",
                },
                {
                    "label": "exit, loss",
                    "x": x[exit_[~win]],
                    "y": equity[exit_[~win]],
                    "kind": "points",
                },
            ]
    sync = f"equity-{label}-{symbol}"
    return [
        {
            "type": "chart",
            "title": f"{label} {symbol}: equity",
            "x_kind": "time",
            "sync": sync,
            "group": sync,
            "height": 240,
            "series": series,
        },
        {
            "type": "chart",
            "title": f"{label} {symbol}: drawdown",
            "x_kind": "time",
            "sync": sync,
            "group": sync,
            "height": 120,
            "series": [{"label": "drawdown", "x": x, "y": drawdown, "downsample": "minmax"}],
        },
    ]


def _configured_gates(run_dir: Path) -> dict[str, Mapping[str, Any]]:
    """``{label: gates}`` from the run's saved ``config.toml``."""
    path = run_dir / "config.toml"
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    out: dict[str, Mapping[str, Any]] = {}
    for table in (document.get("phases") or {}).values():
        if not isinstance(table, Mapping) or table.get("plugin", "strategy") != "strategy":
            continue
        for entry in table.get("strategies") or []:
            if isinstance(entry, Mapping) and "name" in entry:
                out[str(entry.get("label", entry["name"]))] = dict(entry.get("gates") or {})
    return out


def gate_rows(
    strategies: Sequence[Mapping[str, Any]],
    gates: Mapping[str, Mapping[str, Any]],
    failures: Sequence[Mapping[str, Any]],
) -> list[list[Any]]:
    """Every gate of every strategy and symbol: value, threshold, passed or failed."""
    failed = {(f.get("strategy"), f.get("symbol"), f.get("gate")): f for f in failures}
    rows: list[list[Any]] = []
    for row in strategies:
        label = row.get("strategy")
        for symbol, figures in (row.get("symbols") or {}).items():
            for gate, threshold in (gates.get(str(label)) or {}).items():
                bad = failed.get((label, symbol, gate))
                result = "failed" if bad else "passed"
                value: Any
                limit: Any
                if gate in GATE_METRICS:
                    metric, op = GATE_METRICS[gate]
                    value, limit = figures.get(metric), f"{op} {threshold}"
                elif threshold is False:  # a switch turned off (look_ahead = false)
                    value, limit, result = "off", "", "skipped"
                else:  # a check (look_ahead): what it found, against what it wants
                    value = bad.get("value") if bad else "same signals"
                    limit = bad.get("threshold") if bad else "same signals on cut data"
                rows.append(
                    [label, symbol, gate, value, limit, {"value": result, "status": result}]
                )
    for key, f in failed.items():  # gates not in the config (finite_equity, ...)
        if key[2] not in (gates.get(str(key[0])) or {}):
            rows.append(
                [
                    f.get("strategy"),
                    f.get("symbol"),
                    f.get("gate"),
                    f.get("value"),
                    f.get("threshold"),
                    {"value": "failed", "status": "failed"},
                ]
            )
    return rows


def sweep_blocks(sweep: Mapping[str, Any]) -> list[Any]:
    """A sweep as a heatmap of its metric (two parameters) or a table."""
    metric = str(sweep.get("metric", ""))
    table = [r for r in sweep.get("table") or [] if isinstance(r, Mapping)]
    title = f"sweep {sweep.get('strategy')} {sweep.get('symbol')}: {metric}"
    keys = list(dict.fromkeys(k for r in table for k in (r.get("params") or {})))
    best = (sweep.get("best") or {}).get("params")
    note = {
        "type": "text",
        "text": f"{title}: {sweep.get('combinations')} sets, "
        f"{sweep.get('errors')} errors, best {best}",
    }
    if len(keys) == 2:
        ys = list(dict.fromkeys(str(r["params"].get(keys[0])) for r in table))
        xs = list(dict.fromkeys(str(r["params"].get(keys[1])) for r in table))
        grid: list[list[float | None]] = [[None] * len(xs) for _ in ys]
        for r in table:
            value = (r.get("metrics") or {}).get(metric)
            i, j = ys.index(str(r["params"].get(keys[0]))), xs.index(str(r["params"].get(keys[1])))
            grid[i][j] = value if isinstance(value, int | float) else None
        return [
            note,
            {
                "type": "heatmap",
                "title": title,
                "y_label": keys[0],
                "x_label": keys[1],
                "x": xs,
                "y": ys,
                "values": grid,
            },
        ]
    metrics = ("roi", "trades", "max_drawdown", "sharpe")
    cols = [*keys, *dict.fromkeys((metric, *metrics)), "error"]
    rows = [
        [
            *(str((r.get("params") or {}).get(k, "")) for k in keys),
            *((r.get("metrics") or {}).get(m) for m in dict.fromkeys((metric, *metrics))),
            r.get("error") or "",
        ]
        for r in table
    ]
    return [note, {"type": "table", "title": title, "columns": cols, "rows": rows}]


@hookimpl
def report_sections(
    run_dir: Path, summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """The ``Strategy`` section, if the run has a strategy summary."""
    section = summary.get("strategy")
    if not isinstance(section, Mapping):
        return None
    strategies = [r for r in section.get("strategies") or [] if isinstance(r, Mapping)]
    blocks: list[dict[str, Any]] = []
    capital, trades = summary.get("capital") or {}, summary.get("trades") or {}
    blocks.append(
        {
            "type": "facts",
            "items": {
                "initial": capital.get("initial"),
                "final": capital.get("current"),
                "roi": capital.get("roi"),
                "trades": trades.get("total"),
                "wins": trades.get("wins"),
                "losses": trades.get("losses"),
            },
        }
    )
    rows = [
        [row.get("strategy"), symbol, *(figures.get(c) for c in METRIC_COLUMNS)]
        for row in strategies
        for symbol, figures in (row.get("symbols") or {}).items()
    ]
    blocks.append(
        {
            "type": "table",
            "title": "Metrics per strategy and symbol",
            "columns": ["strategy", "symbol", *METRIC_COLUMNS],
            "rows": rows,
        }
    )
    gates = gate_rows(strategies, _configured_gates(run_dir), section.get("gate_failures") or [])
    blocks.append(
        {
            "type": "table",
            "title": "Gates",
            "columns": ["strategy", "symbol", "gate", "value", "threshold", "result"],
            "rows": gates,
        }
    )
    for row in strategies:
        for symbol, figures in (row.get("symbols") or {}).items():
            blocks.extend(
                curve_blocks(
                    run_dir, str(row.get("strategy")), str(symbol), figures.get("files") or {}
                )
            )
    for sweep in section.get("sweeps") or []:
        if isinstance(sweep, Mapping):
            blocks.extend(sweep_blocks(sweep))
    return [{"title": "Strategy", "id": "strategy", "blocks": blocks}]
