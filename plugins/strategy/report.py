"""What a strategy phase found, kept as an artifact for ``summarize``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.plugins.strategy.gates import GateFailure
from harness.plugins.strategy.metrics import Metrics, Totals, totals

__all__ = [
    "REPORT_ARTIFACT",
    "BacktestRecord",
    "StrategyReport",
    "report_path",
    "summary_sections",
]

#: artifact key prefix; the phase name follows (``strategy.report:strategy``)
REPORT_ARTIFACT = "strategy.report:"


@dataclass(frozen=True, slots=True)
class BacktestRecord:
    """One strategy on one symbol."""

    label: str
    name: str
    symbol: str
    params: dict[str, Any]
    metrics: Metrics
    files: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StrategyReport:
    """Everything one strategy phase produced, filled in as it runs (thread-safe)."""

    phase: str
    records: list[BacktestRecord] = field(default_factory=list)
    sweeps: list[dict[str, Any]] = field(default_factory=list)
    failures: list[GateFailure] = field(default_factory=list)
    planned_initial: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: BacktestRecord) -> None:
        with self._lock:
            self.records.append(record)

    def save(self, path: Path) -> None:
        """Write the report as JSON, atomically (``--resume`` reloads it)."""
        with self._lock:
            data = {
                "phase": self.phase,
                "records": [
                    {
                        "label": r.label,
                        "name": r.name,
                        "symbol": r.symbol,
                        "params": r.params,
                        "metrics": r.metrics.as_dict(),
                        "files": r.files,
                    }
                    for r in self.records
                ],
                "sweeps": self.sweeps,
                "failures": [f.as_dict() for f in self.failures],
            }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, allow_nan=False), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> StrategyReport:
        """Read a report written by :meth:`save`."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            phase=data["phase"],
            records=[
                BacktestRecord(
                    r["label"],
                    r["name"],
                    r["symbol"],
                    r["params"],
                    Metrics(**r["metrics"]),
                    r["files"],
                )
                for r in data["records"]
            ],
            sweeps=data["sweeps"],
            failures=[GateFailure(**f) for f in data["failures"]],
        )

    def totals(self) -> Totals:
        with self._lock:
            return totals(r.metrics for r in self.records)

    def table(self) -> list[dict[str, Any]]:
        """Per strategy: its parameters, per-symbol metrics and totals across symbols."""
        with self._lock:
            records = list(self.records)
        table: dict[str, dict[str, Any]] = {}
        for r in records:
            row = table.setdefault(
                r.label, {"strategy": r.label, "name": r.name, "params": r.params, "symbols": {}}
            )
            row["symbols"][r.symbol] = {**r.metrics.as_dict(), "files": r.files}
        for label, row in table.items():
            t = totals(r.metrics for r in records if r.label == label)
            row["totals"] = {
                "initial": t.initial,
                "current": t.current,
                "pnl": t.pnl,
                "roi": t.roi,
                "trades": t.trades,
                "wins": t.wins,
                "losses": t.losses,
            }
        return list(table.values())


def report_path(run_dir: Path, phase: str) -> Path:
    """Where a phase's report is saved: ``<run_dir>/strategy/report_<phase>.json``."""
    return run_dir / "strategy" / f"report_{phase}.json"


def summary_sections(reports: Iterable[StrategyReport]) -> dict[str, Any] | None:
    """The ``capital``, ``trades`` and ``strategy`` sections of ``summary.json``."""
    reports = list(reports)
    if not reports:
        return None
    all_metrics = [r.metrics for rep in reports for r in rep.records]
    t = totals(all_metrics)
    strategy: dict[str, Any] = {
        "strategies": [row for rep in reports for row in rep.table()],
        "sweeps": [s for rep in reports for s in rep.sweeps],
        "gate_failures": [f.as_dict() for rep in reports for f in rep.failures],
    }
    if len(reports) > 1:
        strategy["phases"] = [rep.phase for rep in reports]
    return {
        "capital": {"initial": t.initial, "current": t.current, "roi": t.roi},
        "trades": {"total": t.trades, "wins": t.wins, "losses": t.losses},
        "strategy": strategy,
    }
