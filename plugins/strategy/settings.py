"""The ``[phases.strategy]`` settings: JSON Schema, event schemas, typed view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVENT_SCHEMAS",
    "EXECUTOR_PROPERTIES",
    "PHASE_SCHEMA",
    "PLUGIN_SCHEMA",
    "PhaseSettings",
    "StrategySpec",
    "parse_settings",
    "resolve_workers",
]

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

#: where sweeps and backtests run; also the keys of ``[plugins.strategy]`` (phase keys win)
EXECUTOR_PROPERTIES: dict[str, Any] = {
    "workers": {
        "anyOf": [{"type": "integer", "minimum": 1}, {"const": "auto"}],
        "default": 1,
        "description": (
            "processes for sweeps and backtests: 1 in-process, 'auto' one per usable CPU; "
            "with executor 'dask' and no scheduler, the LocalCluster's worker processes"
        ),
    },
    "executor": {
        "enum": ["local", "dask"],
        "default": "local",
        "description": "'local': this process or a local pool; 'dask': a Dask cluster "
        "(the harness[dask] extra)",
    },
    "scheduler": {
        "type": "string",
        "pattern": "^[a-z0-9+]+://.+",
        "description": "executor 'dask': address of a running scheduler (tcp://host:8786); "
        "none: a LocalCluster started and closed by the phase",
    },
    "threads_per_worker": {
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "executor 'dask', LocalCluster: threads per worker process",
    },
    "memory_limit": {
        "type": ["string", "integer"],
        "default": "auto",
        "description": "executor 'dask', LocalCluster: memory per worker ('auto', '4GiB', 0: none)",
    },
    "scheduler_timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 10.0,
        "description": "executor 'dask': seconds to wait for the scheduler to answer",
    },
}

#: ``[plugins.strategy]``: executor defaults for every strategy phase
PLUGIN_SCHEMA: dict[str, Any] = {
    "title": "strategy plugin",
    "type": "object",
    "additionalProperties": False,
    "properties": EXECUTOR_PROPERTIES,
}

PHASE_SCHEMA: dict[str, Any] = {
    "title": "strategy phase",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout": {
            "type": "number",
            "default": 7200.0,
            "description": "default timeout of these phases in seconds (checked by the core)",
        },
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
        **EXECUTOR_PROPERTIES,
        "data": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "description": "data phases whose market data to backtest (default: every data "
            "phase before this one); the same symbol from two of them is an error",
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
        "baseline": {
            "type": "string",
            "minLength": 1,
            "description": (
                "baseline file (from `harness baseline save`, relative to the config file): "
                "fail when a figure drifts beyond baseline_tolerance"
            ),
        },
        "baseline_tolerance": {
            "type": "object",
            "additionalProperties": False,
            "description": (
                "per figure: final_equity relative (0.001 = 0.1 %), the others absolute "
                "(roi, max_drawdown fractions; trades, wins counts); default about exact"
            ),
            "properties": {
                k: {"type": "number", "minimum": 0}
                for k in ("final_equity", "roi", "max_drawdown", "trades", "wins")
            },
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
    "strategy.executor": {
        "type": "object",
        "required": ["executor"],
        "properties": {
            "executor": {"enum": ["sequential", "local", "dask"]},
            "workers": {"type": "integer"},
            "threads_per_worker": {"type": "integer"},
            "scheduler": {"type": "string"},
            "dashboard": {"type": "string"},
        },
    },
    "strategy.worker_lost": {
        "type": "object",
        "required": ["worker"],
        "properties": {"worker": {"type": "string"}, "workers_left": {"type": "integer"}},
    },
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
    baseline: str | None = None
    baseline_tolerance: dict[str, float] = field(default_factory=dict)
    executor: str = "local"
    scheduler: str | None = None
    threads_per_worker: int = 1
    memory_limit: str | int = "auto"
    scheduler_timeout: float = 10.0


def resolve_workers(value: Any) -> int:
    """``workers`` as a number: ``"auto"`` is the CPUs this process may use."""
    if value == "auto":
        from harness.plugins.strategy.sweep import usable_cpus

        return usable_cpus()
    return int(value)


def parse_settings(
    raw: Mapping[str, Any], plugin: Mapping[str, Any] | None = None
) -> PhaseSettings:
    """Turn ``phase.settings`` into :class:`PhaseSettings`.

    :param plugin: ``[plugins.strategy]`` (executor keys), used where the phase is silent.
    :raises ValueError: two entries share a label.
    """
    defaults = {k: v.get("default") for k, v in PHASE_SCHEMA["properties"].items()}
    table = dict(plugin or {})

    def get(key: str) -> Any:
        return raw[key] if key in raw else table.get(key, defaults[key])

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
        workers=resolve_workers(get("workers")),
        sweep_metric=metric,
        lookahead_cuts=int(get("lookahead_cuts")),
        lookahead_bars=int(get("lookahead_bars")),
        save_curves=bool(get("save_curves")),
        curves_format=str(get("curves_format")),
        strategies=tuple(specs),
        baseline=str(raw["baseline"]) if raw.get("baseline") is not None else None,
        baseline_tolerance=dict(raw.get("baseline_tolerance", {})),
        executor=str(get("executor")),
        scheduler=str(get("scheduler")) if get("scheduler") is not None else None,
        threads_per_worker=int(get("threads_per_worker")),
        memory_limit=get("memory_limit"),
        scheduler_timeout=float(get("scheduler_timeout")),
    )
