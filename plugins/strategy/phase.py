"""The strategy phase: backtest every configured strategy on every symbol."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from harness import MARKET_ARTIFACT, Bars, MarketData
from harness.errors import PhaseFailed
from harness.outcomes import PhaseResult
from harness.plugins.strategy.engine import backtest
from harness.plugins.strategy.files import (
    BackgroundWriter,
    WriteFailed,
    backtest_paths,
    save_sweep,
    write_backtest,
)
from harness.plugins.strategy.gates import GateFailure, check_gates, check_signal, first_lookahead
from harness.plugins.strategy.metrics import compute_metrics, finite, periods_per_year
from harness.plugins.strategy.report import (
    REPORT_ARTIFACT,
    BacktestRecord,
    StrategyReport,
    report_path,
)
from harness.plugins.strategy.settings import PhaseSettings, StrategySpec, parse_settings
from harness.plugins.strategy.sweep import (
    BacktestJob,
    EngineOptions,
    Executor,
    best_row,
    expand_grid,
    make_executor,
)

if TYPE_CHECKING:
    from harness.config import Phase
    from harness.context import PhaseContext

__all__ = ["NO_DATA", "run_phase"]

NO_DATA = (
    "no market data: the strategy phase needs the data phase "
    "(or a plugin that provides 'data.market') to run first"
)

LIVE_KEYS = ("equity", "pnl", "trades", "wins", "losses", "backtests")


def _bar_interval(market: MarketData) -> float | None:
    """The configured interval, else the median spacing of the first symbol's bars."""
    if market.interval_s:
        return float(market.interval_s)
    for bars in market.bars.values():
        if len(bars) > 1:
            step = float(np.median(np.diff(bars.timestamp))) / 1e9
            return step if step > 0 else None
    return None


def _when(bars: Bars, i: int) -> str:
    """Bar ``i``'s time in RFC 3339 UTC: ``2010-10-01T00:00:00Z`` (sub-second digits if any)."""
    ns = int(bars.timestamp[i])
    unit: Literal["s", "ns"] = "s" if ns % 1_000_000_000 == 0 else "ns"
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit=unit)) + "Z"


def run_phase(
    phase: Phase, ctx: PhaseContext, strategies: Mapping[str, Callable[..., Any]]
) -> PhaseResult:
    """Run the phase; ``strategies`` maps every known strategy name to its function."""
    try:
        settings = parse_settings(phase.settings)
    except ValueError as exc:
        raise PhaseFailed(f"phases.{phase.name}: {exc}") from None
    if MARKET_ARTIFACT not in ctx.artifacts:
        raise PhaseFailed(NO_DATA)
    market = ctx.artifacts.get(MARKET_ARTIFACT, MarketData)
    for spec in settings.strategies:
        if spec.name not in strategies:
            known = ", ".join(sorted(strategies))
            raise PhaseFailed(f"unknown strategy {spec.name!r} (known: {known})")
        missing = [s for s in spec.symbols or () if s not in market.bars]
        if missing:
            raise PhaseFailed(
                f"strategy {spec.label!r}: symbol {missing[0]!r} is not in the market data "
                f"(symbols: {', '.join(market.bars) or 'none'})"
            )

    report = StrategyReport(phase.name)
    ctx.artifacts.put(REPORT_ARTIFACT + phase.name, report)
    planned = sum(
        1
        for spec in settings.strategies
        for sym in market.bars
        if spec.symbols is None or sym in spec.symbols
    )
    report.planned_initial = planned * settings.initial_cash
    # live figures: every planned backtest's cash, plus the P&L of those done so far
    ctx.metrics.update(dict.fromkeys(LIVE_KEYS, 0))
    ctx.metrics["equity"] = report.planned_initial
    per_year = periods_per_year(_bar_interval(market), market.calendar)
    options = EngineOptions(
        cash=settings.initial_cash,
        commission=settings.commission,
        finalize=settings.finalize,
        fractional=settings.fractional,
    )
    sweep_failures: list[str] = []  # sweeps of which no set ran
    try:
        with make_executor(settings.workers) as executor, BackgroundWriter() as writer:
            if any(spec.sweep for spec in settings.strategies):
                executor.start(wait=False)  # workers start while the first backtests run
            for spec in settings.strategies:
                for symbol, bars in market.bars.items():
                    if spec.symbols is not None and symbol not in spec.symbols:
                        continue
                    job = BacktestJob(strategies[spec.name], bars, options, per_year, spec.params)
                    _backtest_one(ctx, settings, spec, job, report, writer)
                    if spec.sweep:
                        failure = _sweep_one(ctx, settings, spec, job, executor, report)
                        if failure is not None:
                            sweep_failures.append(failure)
    except WriteFailed as exc:
        raise PhaseFailed(f"could not write the strategy files: {exc}") from None
    finally:
        report.save(report_path(ctx.run_dir, phase.name))

    t = report.totals()
    metrics = finite(
        {
            "equity": t.current,
            "pnl": t.pnl,
            "roi": t.roi,
            "trades": t.trades,
            "wins": t.wins,
            "losses": t.losses,
            "backtests": len(report.records),
        }
    )
    if report.failures or sweep_failures:
        problems = [f.message for f in report.failures] + sweep_failures
        more = len(problems) - 1
        kind = "failures" if sweep_failures else "gate failures"
        message = problems[0] + (f" (and {more} more {kind})" if more else "")
        data: dict[str, Any] = {"gate_failures": [f.as_dict() for f in report.failures]}
        if sweep_failures:
            data["sweep_failures"] = sweep_failures
        return PhaseResult.failed(message, metrics=metrics, data=data)
    per_strategy = "; ".join(
        f"{row['strategy']} roi {row['totals']['roi']:+.2%}, {row['totals']['trades']} trades"
        for row in report.table()
    )
    failed_sets = sum(int(entry["errors"]) for entry in report.sweeps)
    sets_note = f" | {failed_sets} sweep sets could not run (see the sweep tables)"
    return PhaseResult.passed(
        f"{len(report.records)} backtests: equity {t.current:,.2f} (roi {t.roi:+.2%}), "
        f"{t.trades} trades ({t.wins} wins, {t.losses} losses) | {per_strategy}"
        + (sets_note if failed_sets else ""),
        metrics=metrics,
    )


def _backtest_one(
    ctx: PhaseContext,
    settings: PhaseSettings,
    spec: StrategySpec,
    job: BacktestJob,
    report: StrategyReport,
    writer: BackgroundWriter,
) -> None:
    bars, symbol, label = job.bars, job.bars.symbol, spec.label
    try:
        signal = check_signal(job.fn(bars, **spec.params), len(bars))
    except (ValueError, TypeError) as exc:
        raise PhaseFailed(f"strategy {label!r} on {symbol}: {exc}") from None
    opts = job.options
    result = backtest(
        bars.open,
        bars.close,
        signal,
        cash=opts.cash,
        commission=opts.commission,
        finalize=opts.finalize,
        fractional=opts.fractional,
    )
    files: dict[str, str] = {}
    if settings.save_curves:
        # written on the writer's thread while the metrics and checks run here
        paths = backtest_paths(ctx.run_dir / "strategy", label, symbol, settings.curves_format)
        writer.submit(write_backtest, paths, bars, result)
        files = {kind: str(path.relative_to(ctx.run_dir)) for kind, path in paths.items()}
    metrics = compute_metrics(result, bars.close, per_year=job.per_year)
    record = BacktestRecord(label, spec.name, symbol, dict(spec.params), metrics, files)
    report.add(record)

    t = report.totals()
    ctx.metrics.update(
        finite(
            {
                "equity": report.planned_initial + t.pnl,
                "pnl": t.pnl,
                "trades": t.trades,
                "wins": t.wins,
                "losses": t.losses,
                "backtests": len(report.records),
            }
        )
    )
    m = metrics
    ctx.emit(
        "strategy.result",
        f"{label} {symbol}: equity {m.final_equity:,.2f} pnl {m.pnl:+,.2f} roi {m.roi:+.2%} "
        f"trades {m.trades} ({m.wins}W/{m.losses}L) max dd {m.max_drawdown:.2%} "
        f"sharpe {m.sharpe:.2f} buy&hold {m.buy_hold_return:+.2%}",
        data={
            "strategy": label,
            "name": spec.name,
            "symbol": symbol,
            "params": dict(spec.params),
            "metrics": finite(m.as_dict()),
            "files": files,
        },
        metrics=finite(
            {
                "equity": m.final_equity,
                "pnl": m.pnl,
                "trades": m.trades,
                "wins": m.wins,
                "losses": m.losses,
            }
        ),
    )

    failures = check_gates(label, symbol, metrics, result.equity, spec.gates)
    if spec.look_ahead:
        try:
            found = first_lookahead(
                job.fn,
                bars,
                spec.params,
                signal,
                settings.lookahead_cuts,
                settings.lookahead_bars,
            )
        except (ValueError, TypeError) as exc:
            found = None
            failures.append(
                GateFailure(
                    label, symbol, "look_ahead", f"error on cut data: {exc}", "same signals"
                )
            )
        if found is not None:
            bar, cut = found
            failures.append(
                GateFailure(
                    label,
                    symbol,
                    "look_ahead",
                    f"signal differs at bar {bar} ({_when(bars, bar)})",
                    f"same signal with the data cut at bar {cut}",
                )
            )
    for failure in failures:
        report.failures.append(failure)
        ctx.emit("strategy.gate", failure.message, level="error", data=failure.as_dict())


def _sweep_one(
    ctx: PhaseContext,
    settings: PhaseSettings,
    spec: StrategySpec,
    job: BacktestJob,
    executor: Executor,
    report: StrategyReport,
) -> str | None:
    """Run ``spec``'s sweep on one symbol; a message when no set of it could run."""
    symbol = job.bars.symbol
    grid = expand_grid(spec.sweep)
    rows = executor.map(job, grid)
    best = best_row(rows, spec.sweep_metric)
    errors = sum(1 for r in rows if r.error is not None)
    table = [
        {
            "params": r.params,
            **({"metrics": finite(r.metrics)} if r.metrics else {}),
            **({"error": r.error} if r.error else {}),
        }
        for r in rows
    ]
    best_dict = (
        {"params": best.params, "metrics": finite(best.metrics or {})} if best is not None else None
    )
    entry: dict[str, Any] = {
        "strategy": spec.label,
        "symbol": symbol,
        "metric": spec.sweep_metric,
        "combinations": len(rows),
        "errors": errors,
        "best": best_dict,
        "table": table,
    }
    if settings.save_curves:
        entry["file"] = save_sweep(ctx.run_dir / "strategy", spec.label, symbol, rows)
    report.sweeps.append(entry)
    if best is not None and best.metrics is not None:
        value = best.metrics[spec.sweep_metric]
        message = (
            f"{spec.label} {symbol}: sweep of {len(rows)} sets, best {spec.sweep_metric} "
            f"{value:.4g} with {best.params}"
        )
        if errors:
            message += f" ({errors} sets could not run)"
    elif errors < len(rows):
        message = (
            f"{spec.label} {symbol}: sweep of {len(rows)} sets, none has a finite "
            f"{spec.sweep_metric}" + (f" ({errors} sets could not run)" if errors else "")
        )
    else:
        bad = next(r for r in rows if r.error is not None)
        message = (
            f"strategy {spec.label!r} on {symbol}: no set of the sweep could run "
            f"({len(rows)} sets; first {bad.params}: {bad.error})"
        )
    failed = errors == len(rows)
    ctx.emit(
        "strategy.sweep",
        message,
        level="error" if failed else ("info" if best is not None else "warning"),
        data={k: v for k, v in entry.items() if k != "table"} | {"workers": settings.workers},
    )
    return message if failed else None
