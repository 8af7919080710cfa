"""Baselines: the figures of each strategy and symbol, kept in a reviewable file, as a gate.

Every strategy phase writes its figures to ``<run_dir>/baselines/<phase>.json``;
``harness baseline save [RUN]`` merges a run's ``baselines/*.json`` into one file (sorted
keys, indent 2) for the bot's repository::

    {
      "format": "harness-strategy-baseline",
      "phases": {
        "strategy": {
          "sma_cross": {
            "AAPL": {"final_equity": 16025.83663, "max_drawdown": 0.3687621415555,
                     "roi": 0.602583663, "trades": 22, "wins": 7}
          }
        }
      },
      "run_id": "20261129T155613Z-e998cc",
      "version": 1
    }

A phase with ``baseline = "baseline.json"`` (relative to the config file) compares its
figures with ``phases.<its name>`` of that file and fails, naming strategy, symbol, figure,
baseline and new value, when one drifts beyond its tolerance (:data:`TOLERANCES`):

============== ======== ====================================
figure         kind     default tolerance
============== ======== ====================================
final_equity   relative 1e-9 (``|new - base| <= tol * |base|``)
roi            absolute 1e-9 (a fraction: 0.001 is 0.1 point)
max_drawdown   absolute 1e-9 (a fraction)
trades         absolute 0
wins           absolute 0
============== ======== ====================================

A backtest the baseline does not hold, or a symbol the baseline holds for a strategy of
this phase that did not run, fails the gate too. Strategies the phase does not run are
ignored (another phase may own them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness import PhaseFailed

if TYPE_CHECKING:
    from harness import PhaseContext
    from harness.plugins.strategy.report import StrategyReport
    from harness.plugins.strategy.settings import PhaseSettings

__all__ = [
    "FORMAT",
    "TOLERANCES",
    "VERSION",
    "BaselineError",
    "Drift",
    "apply",
    "check",
    "figures_of",
    "load",
    "phase_document",
    "relpath",
]

FORMAT = "harness-strategy-baseline"
VERSION = 1

#: figure -> (kind, default tolerance); the order is the order of the checks
TOLERANCES: dict[str, tuple[Literal["relative", "absolute"], float]] = {
    "final_equity": ("relative", 1e-9),
    "roi": ("absolute", 1e-9),
    "max_drawdown": ("absolute", 1e-9),
    "trades": ("absolute", 0),
    "wins": ("absolute", 0),
}

#: ``{strategy label: {symbol: {figure: value}}}``
Figures = dict[str, dict[str, dict[str, float | int]]]


class BaselineError(ValueError):
    """A baseline file that cannot be used: ``str()`` names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Drift:
    """One figure beyond its tolerance (``baseline``/``value`` ``None``: the entry is missing)."""

    strategy: str
    symbol: str
    figure: str
    baseline: float | int | None
    value: float | int | None
    tolerance: float

    def gate(self) -> tuple[str, float | int | str, str]:
        """As a gate failure: gate name, value and threshold.

        ``("baseline.final_equity", 16100.5, "baseline 16025.83663 (relative tolerance
        0.001)")``; for a missing entry ``("baseline", "not in the baseline", ...)``.
        """
        if self.figure == "entry":
            if self.value is None:
                return "baseline", "no backtest in this run", "the backtest the baseline holds"
            return "baseline", "not in the baseline", "an entry in the baseline file"
        kind = TOLERANCES[self.figure][0]
        assert self.value is not None
        return (
            f"baseline.{self.figure}",
            self.value,
            f"baseline {self.baseline:.10g} ({kind} tolerance {self.tolerance:g})",
        )


def relpath(phase: str) -> str:
    """Where a phase's figures go in the run directory: ``baselines/<phase>.json``."""
    return f"baselines/{phase}.json"


def figures_of(metrics: Mapping[str, Any]) -> dict[str, float | int]:
    """The baseline figures of one backtest's metrics."""
    return {k: metrics[k] for k in TOLERANCES if k in metrics}


def phase_document(run_id: str, phase: str, records: Iterable[tuple[str, str, Any]]) -> bytes:
    """The ``baselines/<phase>.json`` of a phase: ``records`` are (label, symbol, metrics)."""
    table: Figures = {}
    for label, symbol, metrics in records:
        table.setdefault(label, {})[symbol] = figures_of(metrics)
    doc = {"format": FORMAT, "version": VERSION, "run_id": run_id, "phases": {phase: table}}
    return (json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def load(path: Path, phase: str) -> Figures:
    """The figures of ``phase`` in the baseline file ``path``.

    :raises BaselineError: missing, unreadable, not a baseline, or without this phase.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"{path}: no such file (write it with `harness baseline save RUN -o {path.name}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise BaselineError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BaselineError(f"{path}: not a baseline file (format is not {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise BaselineError(f"{path}: version {doc.get('version')!r}, expected {VERSION}")
    phases = doc.get("phases")
    if not isinstance(phases, dict) or phase not in phases:
        held = ", ".join(sorted(phases)) if isinstance(phases, dict) else "none"
        raise BaselineError(f"{path}: holds no figures for phase {phase!r} (phases: {held})")
    table = phases[phase]
    if not isinstance(table, dict):
        raise BaselineError(f"{path}: phases.{phase} is not an object")
    for label, symbols in table.items():
        if not isinstance(symbols, dict):
            raise BaselineError(f"{path}: phases.{phase}.{label} is not an object")
        for symbol, figures in symbols.items():
            where = f"phases.{phase}.{label}.{symbol}"
            if not isinstance(figures, dict):
                raise BaselineError(f"{path}: {where} is not an object")
            for name, value in figures.items():
                if name not in TOLERANCES:
                    raise BaselineError(f"{path}: {where}.{name}: unknown figure")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise BaselineError(f"{path}: {where}.{name}: {value!r} is not a number")
    return table


def _beyond(figure: str, base: float, value: float, tolerance: float) -> bool:
    if not (math.isfinite(base) and math.isfinite(value)):
        return base != value
    limit = tolerance * abs(base) if TOLERANCES[figure][0] == "relative" else tolerance
    return abs(value - base) > limit


def check(
    baseline: Figures,
    results: Figures,
    labels: Iterable[str],
    tolerances: Mapping[str, float] | None = None,
) -> list[Drift]:
    """Every drift of ``results`` from ``baseline``, for the strategies ``labels`` of a phase.

    :param tolerances: per figure, overriding :data:`TOLERANCES`.
    """
    tol = {k: float((tolerances or {}).get(k, d)) for k, (_, d) in TOLERANCES.items()}
    drifts: list[Drift] = []
    for label in labels:
        base_symbols = baseline.get(label, {})
        new_symbols = results.get(label, {})
        for symbol in [*new_symbols, *(s for s in base_symbols if s not in new_symbols)]:
            base, new = base_symbols.get(symbol), new_symbols.get(symbol)
            if base is None or new is None:
                # value None: the run lacks it; baseline None: the baseline lacks it
                drifts.append(
                    Drift(
                        label,
                        symbol,
                        "entry",
                        None if base is None else 0,
                        None if new is None else 0,
                        0,
                    )
                )
                continue
            for figure, value in new.items():
                if figure in base and _beyond(figure, base[figure], value, tol[figure]):
                    drifts.append(Drift(label, symbol, figure, base[figure], value, tol[figure]))
    return drifts


def apply(ctx: PhaseContext, settings: PhaseSettings, report: StrategyReport) -> None:
    """Write this phase's figures to ``baselines/<phase>.json``; with a ``baseline``
    setting, add a gate failure (and a ``strategy.gate`` event) per drift."""
    from harness.plugins.strategy.gates import GateFailure

    phase = ctx.phase.name
    records = [(r.label, r.symbol, r.metrics.as_dict()) for r in report.records]
    ctx.write_file(relpath(phase), phase_document(ctx.session.run_id, phase, records))
    if settings.baseline is None:
        return
    try:
        baseline = load(ctx.resolve_path(settings.baseline), phase)
    except BaselineError as exc:  # checked at start-up; changed since
        raise PhaseFailed(f"phases.{phase}.baseline: {exc}") from None
    results: Figures = {}
    for label, symbol, metrics in records:
        results.setdefault(label, {})[symbol] = figures_of(metrics)
    labels = [s.label for s in settings.strategies]
    for drift in check(baseline, results, labels, settings.baseline_tolerance):
        failure = GateFailure(drift.strategy, drift.symbol, *drift.gate())
        report.failures.append(failure)
        ctx.emit("strategy.gate", failure.message, level="error", data=failure.as_dict())
