"""The data phase: find the files, read them, check them, hand the bars on.

:func:`load_and_check` is the whole job without a run context (benchmarks and tests call
it); :func:`run_phase` and :func:`resume_phase` add events, metrics, retries and the
artifact.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness import MARKET_ARTIFACT, Bars, MarketData, PhaseFailed, RetryableError
from harness.plugins.data.checks import Finding, run_checks
from harness.plugins.data.loader import Frame, LoadError, os_reason, read_file
from harness.plugins.data.settings import DataSettings, interval_seconds

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from harness import Artifacts, Phase, PhaseContext, PhaseResult

__all__ = [
    "SAMPLE_DIR",
    "SUMMARY_ARTIFACT",
    "DataReport",
    "discover",
    "load_and_check",
    "resume_phase",
    "run_phase",
]

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
#: Per-phase summaries, read by ``summarize`` (``{phase name: summary}``).
SUMMARY_ARTIFACT = "data.summary"

Reader = Callable[[Path, str], list[Frame]]


@dataclass(slots=True)
class DataReport:
    """Everything one data phase found: findings per file and symbol, the bars, figures."""

    settings: DataSettings
    frames: list[Frame] = field(default_factory=list)
    findings: list[tuple[Frame, Finding]] = field(default_factory=list)
    bars: dict[str, Bars] = field(default_factory=dict)
    files: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[tuple[Frame, Finding]]:
        return [(f, x) for f, x in self.findings if x.failed and x.severity == "error"]

    @property
    def warnings(self) -> list[tuple[Frame, Finding]]:
        return [(f, x) for f, x in self.findings if x.failed and x.severity == "warning"]

    @property
    def rows(self) -> int:
        return sum(len(b) for b in self.bars.values())

    def span(self) -> tuple[int, int] | None:
        starts = [int(b.timestamp[0]) for b in self.bars.values() if len(b)]
        ends = [int(b.timestamp[-1]) for b in self.bars.values() if len(b)]
        return (min(starts), max(ends)) if starts else None

    def market(self) -> MarketData:
        interval = self.settings.effective_interval
        return MarketData(
            bars=dict(self.bars),
            interval=interval,
            interval_s=float(interval_seconds(interval)) if interval else None,
            calendar=self.settings.effective_calendar,
        )


# --------------------------------------------------------------------------------------
# finding files
# --------------------------------------------------------------------------------------


def discover(settings: DataSettings, resolve: Callable[[str], Path]) -> list[tuple[Path, str]]:
    """The files to read, with the name to show for each, in a stable order.

    A glob matching nothing and a missing plain path are errors (:class:`LoadError`).
    """
    if settings.uses_sample:
        return [(p, f"sample/{p.name}") for p in sorted(SAMPLE_DIR.glob("*.csv"))]
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for pattern in settings.paths or ():
        resolved = resolve(pattern)
        if any(ch in pattern for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(str(resolved), recursive=True))
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise LoadError(f"{pattern}: no file matches")
        else:
            if not resolved.is_file():
                what = "is a folder, not a file" if resolved.is_dir() else "no such file"
                raise LoadError(f"{pattern}: {what}")
            matches = [resolved]
        for match in matches:
            if match not in seen:
                seen.add(match)
                found.append((match, _display(pattern, resolved, match)))
    return found


def _display(pattern: str, resolved: Path, match: Path) -> str:
    if not any(ch in pattern for ch in "*?["):
        return pattern
    prefix = pattern.split("*")[0].split("?")[0].split("[")[0]
    root = str(resolved).split("*")[0].split("?")[0].split("[")[0]
    return prefix + os.path.relpath(match, root) if str(match).startswith(root) else str(match)


# --------------------------------------------------------------------------------------
# the job
# --------------------------------------------------------------------------------------


def load_and_check(
    settings: DataSettings,
    resolve: Callable[[str], Path] = Path,
    *,
    reader: Reader | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DataReport:
    """Read and check every file; build the bars of the files that pass.

    :param resolve: turns a configured path into a real one (``ctx.resolve_path``).
    :param reader: reads one file (default :func:`read_file`); the phase passes one that
        retries transient errors.
    :param progress: called with (files done, rows so far) after each file.
    :raises LoadError: a file cannot be read (one line naming file and row).
    """
    start = time.perf_counter()
    report = DataReport(settings)
    files = discover(settings, resolve)
    read = reader or (lambda path, display: read_file(path, display, settings))
    sources: dict[str, str] = {}
    rows = 0
    for done, (path, display) in enumerate(files, start=1):
        for frame in read(path, display):
            if frame.symbol in sources:
                raise LoadError(
                    f"{display}: symbol {frame.symbol!r} was already read from"
                    f" {sources[frame.symbol]}"
                )
            sources[frame.symbol] = display
            found = run_checks(frame, settings)
            report.frames.append(frame)
            report.findings.extend((frame, f) for f in found)
            if not any(f.failed and f.severity == "error" for f in found):
                report.bars[frame.symbol] = to_bars(frame)
            rows += len(frame)
        if progress is not None:
            progress(done, rows)
    report.files = len(files)
    report.seconds = time.perf_counter() - start
    return report


def to_bars(frame: Frame) -> Bars:
    """The frame's valid rows, sorted by time, first of each duplicated timestamp kept."""
    import numpy as np

    keep = None if frame.ts_ok.all() else frame.ts_ok
    ts = frame.timestamp if keep is None else frame.timestamp[keep]
    order = None
    if len(ts) > 1 and (ts[1:] < ts[:-1]).any():
        order = np.argsort(ts, kind="stable")
        ts = ts[order]
    first = None
    if len(ts) > 1:
        same = ts[1:] == ts[:-1]
        if same.any():
            first = np.ones(len(ts), dtype=bool)
            first[1:] = ~same

    def column(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # views of the frame's arrays when the file was clean: no copy
        out = values if keep is None else values[keep]
        if order is not None:
            out = out[order]
        return out if first is None else out[first]

    return Bars(
        symbol=frame.symbol,
        source=frame.file,
        timestamp=ts if first is None else ts[first],
        open=column(frame.values["open"]),
        high=column(frame.values["high"]),
        low=column(frame.values["low"]),
        close=column(frame.values["close"]),
        volume=column(frame.values["volume"]),
    )


# --------------------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------------------


def iso(ns: int) -> str:
    """``1362096000000000000`` -> ``"2013-03-01T00:00:00Z"``."""
    import numpy as np

    unit: Literal["s", "ns"] = "s" if ns % 1_000_000_000 == 0 else "ns"
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit=unit)) + "Z"


def issue_data(frame: Frame, finding: Finding, max_examples: int) -> dict[str, Any]:
    """The ``data`` of a ``data.issue`` event."""
    shown = finding.positions[:max_examples]
    return {
        "check": finding.check,
        "file": frame.file,
        "symbol": frame.symbol,
        "severity": finding.severity,
        "failed": finding.failed,
        "count": finding.count,
        "rows": [frame.row(int(p)) for p in shown],
        "timestamps": [iso(int(frame.timestamp[p])) if frame.ts_ok[p] else None for p in shown],
        "detail": dict(finding.detail),
    }


def describe(frame: Frame, finding: Finding, max_examples: int = 3) -> str:
    """``"a.csv: duplicates: 1 row (row 3 at 2024-01-03T00:00:00Z)"``."""
    name = f"{frame.file}" + (f" [{frame.symbol}]" if frame.symbol not in frame.file else "")
    what = f"{finding.count} {_noun(finding)}"
    shown = finding.positions[:max_examples]
    if len(shown):
        where = ", ".join(
            f"row {frame.row(int(p))}"
            + (f" at {iso(int(frame.timestamp[p]))}" if frame.ts_ok[p] else "")
            for p in shown
        )
        more = ", ..." if finding.count > len(shown) else ""
        what += f" ({where}{more})"
    extra = _extra(finding, frame)
    return f"{name}: {finding.check}: {what}{extra}"


def _noun(finding: Finding) -> str:
    plural = finding.count != 1
    nouns = {
        "gaps": ("gap", "gaps"),
        "zero_volume_runs": ("run", "runs"),
        "stale_prices": ("run", "runs"),
        "required_columns": ("missing column", "missing columns"),
        "min_rows": ("file too short", "files too short"),
    }
    one, many = nouns.get(finding.check, ("row", "rows"))
    return many if plural else one


def _extra(finding: Finding, frame: Frame | None = None) -> str:
    d = finding.detail
    if finding.check == "gaps" and finding.count:
        where = ""
        at = d.get("largest_position")
        if frame is not None and isinstance(at, int):  # the gap that broke the threshold
            where = f" before row {frame.row(at)}"
            if frame.ts_ok[at]:
                where += f" at {iso(int(frame.timestamp[at]))}"
        return (
            f"; largest {d['largest_missing_bars']} missing bars{where},"
            f" {d['missing_fraction']:.1%} of bars missing"
        )
    if finding.check == "required_columns":
        return f": {', '.join(d['missing'])}"
    if finding.check == "min_rows":
        return f": {d['rows']} rows < {d['min_rows']}"
    return ""


def failure_message(report: DataReport) -> str:
    """One line naming file, check and first rows of each failed ``error`` check."""
    errors = report.errors
    parts = [describe(frame, finding) for frame, finding in errors[:3]]
    more = f"; and {len(errors) - 3} more failed checks" if len(errors) > 3 else ""
    return "data check failed: " + "; ".join(parts) + more


def summary(report: DataReport) -> dict[str, Any]:
    """The phase's part of the ``data`` summary section."""
    span = report.span()
    issues: dict[str, int] = {}
    for _frame, finding in report.findings:
        issues[finding.check] = issues.get(finding.check, 0) + finding.count
    return {
        "files": report.files,
        "symbols": list(report.bars),
        "rows": report.rows,
        "first": iso(span[0]) if span else None,
        "last": iso(span[1]) if span else None,
        "interval": report.settings.effective_interval,
        "calendar": report.settings.effective_calendar,
        "sample": report.settings.uses_sample,
        "issues": issues,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "seconds": round(report.seconds, 6),
    }


def metrics(report: DataReport) -> dict[str, float | int]:
    span = report.span()
    out: dict[str, float | int] = {
        "files": report.files,
        "symbols": len(report.frames),
        "rows": sum(len(f) for f in report.frames),
        "rows_per_second": round(
            sum(len(f) for f in report.frames) / report.seconds if report.seconds > 0 else 0.0, 1
        ),
        "issues_error": len(report.errors),
        "issues_warning": len(report.warnings),
        "load_seconds": round(report.seconds, 6),
    }
    if span:
        out["first_timestamp_s"] = span[0] / 1e9
        out["last_timestamp_s"] = span[1] / 1e9
    return out


# --------------------------------------------------------------------------------------
# with a run context
# --------------------------------------------------------------------------------------


def _reader(ctx: PhaseContext, settings: DataSettings) -> Reader:
    """``read_file`` with transient ``OSError`` retried under the run's error policy.

    Bad input (:class:`LoadError`) is handed back, not raised, inside the retried call: it
    is not the policy's business (no retry, no second ``error`` event for one failure).
    """

    def attempt(path: Path, display: str) -> list[Frame] | LoadError:
        try:
            return read_file(path, display, settings)
        except LoadError as exc:
            return exc
        except OSError as exc:  # read_file raises only transient ones
            raise RetryableError(f"{display}: {os_reason(exc)}") from exc

    def read(path: Path, display: str) -> list[Frame]:
        try:
            result = ctx.retry(attempt, path, display, name=f"read {display}")
        except RetryableError as exc:
            cause = exc.__cause__
            why = os_reason(cause) if isinstance(cause, OSError) else str(exc)
            raise LoadError(f"{display}: cannot read: {why}") from None
        if isinstance(result, LoadError):
            raise result
        return result

    return read


def _load(phase: Phase, ctx: PhaseContext) -> DataReport:
    settings = DataSettings.from_mapping(phase.settings)

    def progress(files: int, rows: int) -> None:
        ctx.metrics["files_read"] = files
        ctx.metrics["rows_read"] = rows

    try:
        return load_and_check(
            settings, ctx.resolve_path, reader=_reader(ctx, settings), progress=progress
        )
    except LoadError as exc:
        raise PhaseFailed(str(exc)) from None


def _n(count: int, noun: str) -> str:
    """``1 file``, ``2 files`` (no "1 files" in a message)."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def merge_markets(ctx: PhaseContext) -> list[str]:
    """Rebuild the merged view ``data.market`` from every ``data.market.<phase>``.

    The data phases' market data, in the configuration's phase order; a symbol two
    phases loaded stays with the first (the strategy phase reading both fails naming
    both). Returns one note per such symbol, for the phase's message.
    """
    prefix = f"{MARKET_ARTIFACT}."
    keys: list[str] = ctx.artifacts.keys()  # Artifacts is not iterable
    present = {k[len(prefix) :] for k in keys if k.startswith(prefix)}
    order = [p.name for p in ctx.session.config.phases if p.name in present]
    order += sorted(present - set(order))
    bars: dict[str, Bars] = {}
    owner: dict[str, str] = {}
    notes: list[str] = []
    first: MarketData | None = None
    for name in order:
        market = ctx.artifacts.get(prefix + name, MarketData)
        first = first or market
        for symbol, series in market.bars.items():
            if symbol in owner:
                if name == ctx.phase.name:
                    notes.append(f"{symbol} is also loaded by data phase {owner[symbol]!r}")
                continue
            owner[symbol] = name
            bars[symbol] = series
    if first is not None:
        same = len(order) == 1
        ctx.artifacts.put(
            MARKET_ARTIFACT,
            MarketData(
                bars=bars,
                interval=first.interval if same else None,
                interval_s=first.interval_s if same else None,
                calendar=first.calendar,
            ),
        )
    return notes


def _record(ctx: PhaseContext, report: DataReport) -> list[str]:
    ctx.artifacts.put(f"{MARKET_ARTIFACT}.{ctx.phase.name}", report.market())
    notes = merge_markets(ctx)
    done: dict[str, Any] = {}
    if SUMMARY_ARTIFACT in ctx.artifacts:
        done = dict(ctx.artifacts.get(SUMMARY_ARTIFACT))
    done[ctx.phase.name] = summary(report)
    ctx.artifacts.put(SUMMARY_ARTIFACT, done)
    return notes


def run_phase(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    """``phase_run`` of the data plugin."""
    from harness import PhaseResult

    report = _load(phase, ctx)
    k = report.settings.max_examples
    for frame, finding in report.findings:
        level = "info"
        if finding.failed:
            level = "error" if finding.severity == "error" else "warning"
        ctx.emit(
            "data.issue",
            describe(frame, finding),
            level=level,  # type: ignore[arg-type]
            data=issue_data(frame, finding, k),
            metrics={"count": finding.count},
        )
    figures = metrics(report)
    data = summary(report)
    if report.errors:
        done: dict[str, Any] = {}
        if SUMMARY_ARTIFACT in ctx.artifacts:
            done = dict(ctx.artifacts.get(SUMMARY_ARTIFACT))
        done[phase.name] = data
        ctx.artifacts.put(SUMMARY_ARTIFACT, done)
        return PhaseResult.failed(failure_message(report), metrics=figures, data=data)
    overlaps = _record(ctx, report)
    message = (
        f"{_n(int(figures['rows']), 'row')} of {_n(len(report.bars), 'symbol')} "
        f"from {_n(report.files, 'file')}"
    )
    if report.warnings:
        message += f", {_n(len(report.warnings), 'warning')}"
    if overlaps:  # never a silent overwrite: say it here; a strategy phase reading both fails
        message += "; " + "; ".join(overlaps)
    return PhaseResult.passed(message, metrics=figures, data=data)


def resume_phase(phase: Phase, ctx: PhaseContext) -> None:
    """``phase_resume``: reload and re-check the files, put the artifact back."""
    report = _load(phase, ctx)
    if report.errors:
        raise PhaseFailed("data changed since the phase passed: " + failure_message(report))
    _record(ctx, report)
    figures = metrics(report)
    ctx.emit(
        "data.loaded",
        f"reloaded {figures['rows']} rows of {len(report.bars)} symbols for the resumed run",
        data={"files": report.files, "symbols": list(report.bars), "resumed": True},
        metrics=figures,
    )


def summarize_section(artifacts: Artifacts) -> dict[str, Any] | None:
    """The ``data`` summary section from what the data phases recorded."""
    if SUMMARY_ARTIFACT not in artifacts:
        return None
    per_phase: dict[str, Any] = dict(artifacts.get(SUMMARY_ARTIFACT))
    if len(per_phase) == 1:
        return {"data": next(iter(per_phase.values()))}
    return {"data": {"phases": per_phase}}
