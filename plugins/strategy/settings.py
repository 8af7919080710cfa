"""The ``[phases.strategy]`` settings: JSON Schema, event schemas, typed view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EVENT_SCHEMAS", "PHASE_SCHEMA", "PhaseSettings", "StrategySpec", "parse_settings"]

_METRICS = ["sharpe", "roi", "pnl", "final_equity", "win_rate", "trades", "max_drawdown"]
_SCALAR = {"type": ["number", "string", "boolean"]}

_GATES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Thresholds the backtest of this strategy must meet on every symbol.",
    "properties": {
        "min_trades": {"type": "integer", "minimum": 0, "description": "closed trades >= this"},
        "max_drawdown": {
            "type": "number",
            "minimum": 0,
            "description": "max drawdown (fraction, 0.25 = 25 %) <= this",
        },
        "min_sharpe": {"type": "number", "description": "annualised Sharpe >= this"},
        "min_roi": {"type": "number", "description": "ROI (fraction, 0.05 = 5 %) >= this"},
        "look_ahead": {
            "type": "boolean",
            "default": True,
            "description": "signals on cut data must equal the same prefix on full data",
        },
    },
}

_ENTRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "strategy name"},
        "label": {
            "type": "string",
            "minLength": 1,
            "description": "name in reports and files (default: name); must be unique",
        },
        "params": {
            "type": "object",
            "additionalProperties": _SCALAR,
            "description": "keyword arguments of the strategy function",
        },
        "symbols": {
            "type": "array",
            "items": {"type": "string"},
            "description": "symbols to backtest (default: every symbol of the data)",
        },
        "gates": _GATES,
        "sweep": {
            "type": "object",
            "additionalProperties": {"type": "array", "minItems": 1, "items": _SCALAR},
            "description": "parameter grid: every combination is backtested",
        },
        "sweep_metric": {"enum": _METRICS, "description": "overrides the phase's sweep_metric"},
    },
}

PHASE_SCHEMA: dict[str, Any] = {
    "title": "strategy phase",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "initial_cash": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 10_000.0,
            "description": "cash each backtest starts with",
        },
        "commission": {
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 0.1,
            "default": 0.0,
            "description": "relative commission per fill, charged on entry and exit",
        },
        "finalize": {
            "type": "boolean",
            "default": False,
            "description": "close the trade still open at the end (at the last bar's open)",
        },
        "fractional": {
            "type": "boolean",
            "default": False,
            "description": "size orders in fractional units instead of whole units",
        },
        "workers": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "processes for parameter sweeps (1: in-process)",
        },
        "sweep_metric": {
            "enum": _METRICS,
            "default": "sharpe",
            "description": "metric that picks a sweep's best set (max_drawdown: smallest)",
        },
        "lookahead_cuts": {
            "type": "integer",
            "minimum": 1,
            "default": 4,
            "description": "cut points of the look-ahead check",
        },
        "lookahead_bars": {
            "type": "integer",
            "minimum": 2,
            "default": 100_000,
            "description": (
                "longest prefix the look-ahead check recomputes: the cuts are spread over "
                "the first min(bars, lookahead_bars) bars"
            ),
        },
        "save_curves": {
            "type": "boolean",
            "default": True,
            "description": "write equity curves and trade lists under <run_dir>/strategy/",
        },
        "curves_format": {
            "enum": ["parquet", "csv"],
            "default": "parquet",
            "description": "file format of equity curves and trade lists (sweep tables: CSV)",
        },
        "strategies": {
            "type": "array",
            "items": _ENTRY,
            "default": [{"name": "sma_cross"}, {"name": "momentum"}, {"name": "buy_and_hold"}],
            "description": "strategies to backtest on every symbol",
        },
    },
}

_NUMBERS = {"type": "object", "additionalProperties": {"type": "number"}}

EVENT_SCHEMAS: dict[str, Mapping[str, Any]] = {
    "strategy.result": {
        "type": "object",
        "required": ["strategy", "name", "symbol", "params", "metrics"],
        "properties": {
            "strategy": {"type": "string"},
            "name": {"type": "string"},
            "symbol": {"type": "string"},
            "params": {"type": "object"},
            "metrics": _NUMBERS,
            "files": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "strategy.gate": {
        "type": "object",
        "required": ["strategy", "symbol", "gate", "value", "threshold"],
        "properties": {
            "strategy": {"type": "string"},
            "symbol": {"type": "string"},
            "gate": {"type": "string"},
            "value": {"type": ["number", "string"]},
            "threshold": {"type": ["number", "string"]},
        },
    },
    "strategy.sweep": {
        "type": "object",
        "required": ["strategy", "symbol", "metric", "combinations", "best"],
        "properties": {
            "strategy": {"type": "string"},
            "symbol": {"type": "string"},
            "metric": {"type": "string"},
            "combinations": {"type": "integer"},
            "errors": {"type": "integer"},
            "workers": {"type": "integer"},
            "best": {"type": ["object", "null"]},
        },
    },
}


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One ``[[phases.strategy.strategies]]`` entry."""

    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] | None = None
    gates: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    sweep_metric: str = "sharpe"

    @property
    def look_ahead(self) -> bool:
        return bool(self.gates.get("look_ahead", True))


@dataclass(frozen=True, slots=True)
class PhaseSettings:
    """The validated phase table, defaults applied."""

    initial_cash: float
    commission: float
    finalize: bool
    fractional: bool
    workers: int
    sweep_metric: str
    lookahead_cuts: int
    lookahead_bars: int
    save_curves: bool
    curves_format: str
    strategies: tuple[StrategySpec, ...]


def parse_settings(raw: Mapping[str, Any]) -> PhaseSettings:
    """Turn ``phase.settings`` into :class:`PhaseSettings`.

    :raises ValueError: two entries share a label.
    """
    defaults = {k: v.get("default") for k, v in PHASE_SCHEMA["properties"].items()}

    def get(key: str) -> Any:
        return raw.get(key, defaults[key])

    metric = str(get("sweep_metric"))
    specs: list[StrategySpec] = []
    seen: set[str] = set()
    for entry in get("strategies"):
        label = str(entry.get("label", entry["name"]))
        if label in seen:
            raise ValueError(
                f"two strategies are labelled {label!r}: give each entry a distinct 'label'"
            )
        seen.add(label)
        symbols = entry.get("symbols")
        specs.append(
            StrategySpec(
                name=str(entry["name"]),
                label=label,
                params=dict(entry.get("params", {})),
                symbols=tuple(symbols) if symbols is not None else None,
                gates=dict(entry.get("gates", {})),
                sweep={k: list(v) for k, v in entry.get("sweep", {}).items()},
                sweep_metric=str(entry.get("sweep_metric", metric)),
            )
        )
    return PhaseSettings(
        initial_cash=float(get("initial_cash")),
        commission=float(get("commission")),
        finalize=bool(get("finalize")),
        fractional=bool(get("fractional")),
        workers=int(get("workers")),
        sweep_metric=metric,
        lookahead_cuts=int(get("lookahead_cuts")),
        lookahead_bars=int(get("lookahead_bars")),
        save_curves=bool(get("save_curves")),
        curves_format=str(get("curves_format")),
        strategies=tuple(specs),
    )
