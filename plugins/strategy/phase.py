"""The strategy phase: backtest every configured strategy on every symbol."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from harness import MARKET_ARTIFACT, Bars, MarketData, PhaseFailed, PhaseResult
from harness.plugins.strategy import baseline
from harness.plugins.strategy.executors import SweepProgress, open_executor
from harness.plugins.strategy.files import (
    BackgroundWriter,
    WriteFailed,
    backtest_paths,
    save_sweep,
    write_backtest,
)
from harness.plugins.strategy.gates import GateFailure, check_gates, first_lookahead
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
    BacktestOutcome,
    EngineOptions,
    Executor,
    best_row,
    expand_grid,
)

if TYPE_CHECKING:
    import numpy.typing as npt

    from harness import Phase, PhaseContext

__all__ = ["NO_DATA", "SIGNALS_ARTIFACT", "run_phase"]

#: Artifact key (public, read by the ``orders`` phase): a list of plain dicts, one per
#: strategy and symbol of every strategy phase of the run, with ``phase``, ``strategy``
#: (label), ``name``, ``symbol``, ``signal`` (-1/0/+1 on the last bar), ``time`` and
#: ``close`` (the last bar's), ``last_signal`` (the most recent non-zero signal, 0 if
#: none) and ``last_signal_time`` (its bar's time, ``None`` if none).
SIGNALS_ARTIFACT = "strategy.signals"

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


def _sources(ctx: PhaseContext, wanted: Sequence[str] | None) -> list[tuple[str, MarketData]]:
    """The market data this phase reads: ``data = [...]``, else every data phase before it.

    Data phases put ``data.market.<phase>``; a plugin that only puts the merged
    ``data.market`` (the contract before several sources) is read as one source.
    """
    prefix = f"{MARKET_ARTIFACT}."
    keys: list[str] = ctx.artifacts.keys()  # Artifacts is not iterable
    present = {k[len(prefix) :] for k in keys if k.startswith(prefix)}
    if wanted is not None:
        missing = [name for name in wanted if name not in present]
        if missing:
            have = ", ".join(sorted(present)) or "none"
            raise PhaseFailed(
                f"phases.{ctx.phase.name}.data: data phase {missing[0]!r} has put no market "
                f"data (market data so far from: {have})"
            )
        names = list(dict.fromkeys(wanted))
    else:
        order = [p.name for p in ctx.session.config.phases]
        mine = order.index(ctx.phase.name) if ctx.phase.name in order else len(order)
        names = [n for n in order[:mine] if n in present]
        if not names:
            if MARKET_ARTIFACT not in ctx.artifacts:
                raise PhaseFailed(NO_DATA)
            return [(MARKET_ARTIFACT, ctx.artifacts.get(MARKET_ARTIFACT, MarketData))]
    return [(name, ctx.artifacts.get(prefix + name, MarketData)) for name in names]


def select_market(
    ctx: PhaseContext, wanted: Sequence[str] | None
) -> tuple[MarketData, dict[str, float | None]]:
    """The selected sources merged, and each symbol's bars per year (its own source's).

    :raises PhaseFailed: a selected source put nothing, or two sources have the same
        symbol (named with both phases: never a silent overwrite).
    """
    sources = _sources(ctx, wanted)
    bars: dict[str, Bars] = {}
    owner: dict[str, str] = {}
    per_year: dict[str, float | None] = {}
    for name, market in sources:
        each = periods_per_year(_bar_interval(market), market.calendar)
        for symbol, series in market.bars.items():
            if symbol in owner:
                raise PhaseFailed(
                    f"symbol {symbol!r} comes from two data phases, {owner[symbol]!r} and "
                    f"{name!r}: choose one with phases.{ctx.phase.name}.data = [...]"
                )
            owner[symbol], bars[symbol], per_year[symbol] = name, series, each
    first = sources[0][1]
    one = len(sources) == 1
    merged = MarketData(
        bars=bars,
        interval=first.interval if one else None,
        interval_s=first.interval_s if one else None,
        calendar=first.calendar,
    )
    return merged, per_year


def _when(bars: Bars, i: int) -> str:
    """Bar ``i``'s time in RFC 3339 UTC: ``2010-10-01T00:00:00Z`` (sub-second digits if any)."""
    ns = int(bars.timestamp[i])
    unit: Literal["s", "ns"] = "s" if ns % 1_000_000_000 == 0 else "ns"
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit=unit)) + "Z"


def _signals(ctx: PhaseContext) -> list[dict[str, Any]]:
    """The run's :data:`SIGNALS_ARTIFACT` list, created on first use."""
    if SIGNALS_ARTIFACT not in ctx.artifacts:
        ctx.artifacts.put(SIGNALS_ARTIFACT, [])
    signals: list[dict[str, Any]] = ctx.artifacts.get(SIGNALS_ARTIFACT, list)
    return signals


def _last_signal(
    phase: str, spec: StrategySpec, bars: Bars, signal: npt.NDArray[Any]
) -> dict[str, Any]:
    """One entry of :data:`SIGNALS_ARTIFACT`: what ``spec`` says on the last bar of ``bars``."""
    last = len(bars) - 1
    nonzero = np.flatnonzero(signal)
    latest = int(nonzero[-1]) if len(nonzero) else None
    return {
        "phase": phase,
        "strategy": spec.label,
        "name": spec.name,
        "symbol": bars.symbol,
        "signal": int(signal[last]) if last >= 0 else 0,
        "time": _when(bars, last) if last >= 0 else None,
        "close": float(bars.close[last]) if last >= 0 else None,
        "last_signal": 0 if latest is None else int(signal[latest]),
        "last_signal_time": None if latest is None else _when(bars, latest),
    }


def _signals_path(phase: str) -> str:
    return f"strategy/signals_{phase}.json"


def save_signals(ctx: PhaseContext, phase: str) -> None:
    """Keep the phase's :data:`SIGNALS_ARTIFACT` entries for ``--resume``."""
    import json

    mine = [s for s in _signals(ctx) if s["phase"] == phase]
    ctx.write_file(_signals_path(phase), json.dumps(mine, indent=1))


def restore_signals(ctx: PhaseContext, phase: str) -> None:
    """Put back the signals of a phase that passed in an earlier session (``--resume``)."""
    import json

    path = ctx.run_dir / _signals_path(phase)
    if not path.is_file():
        return
    kept = [s for s in _signals(ctx) if s["phase"] != phase]
    _signals(ctx)[:] = [*kept, *json.loads(path.read_text("utf-8"))]


def run_phase(
    phase: Phase, ctx: PhaseContext, strategies: Mapping[str, Callable[..., Any]]
) -> PhaseResult:
    """Run the phase; ``strategies`` maps every known strategy name to its function."""
    try:
        settings = parse_settings(phase.settings, ctx.settings("strategy"))
    except ValueError as exc:
        raise PhaseFailed(f"phases.{phase.name}: {exc}") from None
    market, per_year_of = select_market(ctx, phase.settings.get("data"))
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
    _signals(ctx)[:] = [s for s in _signals(ctx) if s["phase"] != phase.name]  # a re-run
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
    options = EngineOptions(
        cash=settings.initial_cash,
        commission=settings.commission,
        finalize=settings.finalize,
        fractional=settings.fractional,
    )
    sweep_failures: list[str] = []  # sweeps of which no set ran
    jobs = {
        spec.label: [
            BacktestJob(strategies[spec.name], bars, options, per_year_of[symbol], spec.params)
            for symbol, bars in market.bars.items()
            if spec.symbols is None or symbol in spec.symbols
        ]
        for spec in settings.strategies
    }
    sets_total = sum(
        len(expand_grid(s.sweep)) * len(jobs[s.label]) for s in settings.strategies if s.sweep
    )
    progress = SweepProgress(ctx.metrics, sets_total)
    try:
        fns = [strategies[spec.name] for spec in settings.strategies]
        with (
            open_executor(
                ctx, settings, fns, parallel_work=planned > 1 or sets_total > 0
            ) as executor,
            BackgroundWriter() as writer,
        ):
            for spec in settings.strategies:
                # every symbol's backtest goes to the executor at once; handled in order
                outcomes = executor.backtests(jobs[spec.label])
                for job, outcome in zip(jobs[spec.label], outcomes, strict=True):
                    _backtest_one(ctx, settings, spec, job, outcome, report, writer)
                    if spec.sweep:
                        failure = _sweep_one(ctx, settings, spec, job, executor, report, progress)
                        if failure is not None:
                            sweep_failures.append(failure)
        baseline.apply(ctx, settings, report)  # figures for `harness baseline save`; the gate
    except WriteFailed as exc:
        raise PhaseFailed(f"could not write the strategy files: {exc}") from None
    finally:
        report.save(report_path(ctx.run_dir, phase.name))
        save_signals(ctx, phase.name)

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
    outcome: BacktestOutcome,
    report: StrategyReport,
    writer: BackgroundWriter,
) -> None:
    bars, symbol, label = job.bars, job.bars.symbol, spec.label
    signal, result = outcome.signal, outcome.result
    if signal is None or result is None:  # the executor ran signal, check and engine
        raise PhaseFailed(f"strategy {label!r} on {symbol}: {outcome.error}")
    _signals(ctx).append(_last_signal(ctx.phase.name, spec, bars, signal))
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
    progress: SweepProgress,
) -> str | None:
    """Run ``spec``'s sweep on one symbol; a message when no set of it could run."""
    symbol = job.bars.symbol
    grid = expand_grid(spec.sweep)
    rows = executor.map(job, grid, progress=progress.sweep(spec.sweep_metric))
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
        data={k: v for k, v in entry.items() if k != "table"}
        | {"workers": settings.workers, "executor": executor.kind},
    )
    return message if failed else None
