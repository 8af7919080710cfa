"""Run the api phase: every exchange's checks, one ``api.check`` event each, one verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness import PhaseResult
from harness.plugins.api.checks import CheckResult, run_exchange
from harness.plugins.api.configcheck import safe_url
from harness.plugins.api.httpio import ApiContext
from harness.plugins.api.settings import CHECK_NAMES, HTTP_CHECK_NAMES, parse_exchanges

__all__ = ["REPORT_ARTIFACT", "check_event", "check_message", "exchange_report", "run_phase"]

#: Artifact key: a list of exchange reports (dicts), one per exchange per api phase.
REPORT_ARTIFACT = "api.report"
_LEVEL = {"passed": "info", "skipped": "info", "failed": "error"}


def check_event(exchange: str, result: CheckResult) -> dict[str, Any]:
    """The ``data`` of the ``api.check`` event for ``result``."""
    data: dict[str, Any] = {
        "exchange": exchange,
        "check": result.check,
        "status": result.status,
        "reason": result.reason,
        "attempts": result.attempts,
    }
    if result.path is not None:
        data["path"] = result.path
    if result.http_status is not None:
        data["http_status"] = result.http_status
    if result.details:
        data["details"] = dict(result.details)
    if result.ccxt_error is not None:
        data["ccxt_error"] = result.ccxt_error
    return data


def check_message(exchange: str, result: CheckResult) -> str:
    """``example health skipped (dry run)``, ``example auth failed: HTTP 401 ...``."""
    head = f"{exchange} {result.check} {result.status}"
    return f"{head} ({result.reason})" if result.status == "skipped" else f"{head}: {result.reason}"


def _status(results: list[CheckResult], planned: int) -> str:
    """failed / passed / skipped (all skipped); ``incomplete`` while checks are missing."""
    statuses = {r.status for r in results}
    if "failed" in statuses:
        return "failed"
    if len(results) < planned:
        return "incomplete"
    return "passed" if "passed" in statuses else "skipped"


def exchange_report(
    phase: str,
    name: str,
    base_url: str,
    dry_run: bool,
    results: list[CheckResult],
    ccxt_id: str | None = None,
) -> dict[str, Any]:
    """One exchange's entry of the summary's ``api`` section (``ccxt``: the ccxt id)."""
    checks = {}
    for r in results:
        entry: dict[str, Any] = {"status": r.status, "reason": r.reason}
        if r.http_status is not None:
            entry["http_status"] = r.http_status
        if r.attempts:
            entry["attempts"] = r.attempts
        entry.update(r.metrics)
        checks[r.check] = entry
    planned = len(HTTP_CHECK_NAMES if ccxt_id is None else CHECK_NAMES)
    report: dict[str, Any] = {
        "phase": phase,
        "exchange": name,
        "base_url": safe_url(base_url),  # never a user, password or query value
        "dry_run": dry_run,
        "status": _status(results, planned),
        "checks": checks,
    }
    if ccxt_id is not None:
        report["ccxt"] = ccxt_id
    return report


def _reports(ctx: Any) -> list[dict[str, Any]]:
    if REPORT_ARTIFACT not in ctx.artifacts:
        ctx.artifacts.put(REPORT_ARTIFACT, [])
    reports: list[dict[str, Any]] = ctx.artifacts.get(REPORT_ARTIFACT, list)
    return reports


def run_phase(
    phase_name: str,
    settings: Mapping[str, Any],
    ctx: ApiContext,
    *,
    environ: Mapping[str, str] | None = None,
) -> PhaseResult:
    """Check every configured exchange and return the phase's verdict.

    Dry run: ``ctx.dry_run`` (``harness run --dry-run``) or ``dry_run = true``.
    """
    dry_run = bool(ctx.dry_run or settings.get("dry_run", False))
    exchanges = parse_exchanges(settings)
    if not exchanges:
        return PhaseResult.skipped("no exchanges configured in [[phases.api.exchanges]]")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failures: list[str] = []
    reports = _reports(ctx)
    reports[:] = [r for r in reports if r["phase"] != phase_name]  # a re-run attempt
    for ex in exchanges:
        results: list[CheckResult] = []
        reports.append(
            exchange_report(phase_name, ex.name, ex.base_url, dry_run, results, ex.exchange)
        )
        slot = len(reports) - 1
        if ex.uses_ccxt:
            from harness.plugins.api.ccxtchecks import run_ccxt_exchange

            checks = run_ccxt_exchange(ex, ctx, dry_run=dry_run, environ=environ)
        else:
            checks = run_exchange(ex, ctx, dry_run=dry_run, environ=environ)
        for r in checks:
            results.append(r)
            # kept current, so that a phase timeout still leaves what was checked
            reports[slot] = exchange_report(
                phase_name, ex.name, ex.base_url, dry_run, results, ex.exchange
            )
            counts[r.status] += 1
            if r.status == "failed":
                failures.append(f"{ex.name} {r.check}: {r.reason}")
            ctx.emit(
                "api.check",
                ctx.redact(check_message(ex.name, r)),
                level=_LEVEL[r.status],
                data=check_event(ex.name, r),
                metrics=r.metrics,
            )
    metrics = {f"checks_{k}": v for k, v in counts.items()}
    metrics["exchanges"] = len(exchanges)
    if failures:
        more = f" (+{len(failures) - 1} more failed checks)" if len(failures) > 1 else ""
        return PhaseResult.failed(ctx.redact(failures[0] + more), metrics=metrics)
    names = ", ".join(ex.name for ex in exchanges)
    passed = f"{counts['passed']} check{'' if counts['passed'] == 1 else 's'} passed"
    if dry_run:  # skipped, not passed: nobody may read a dry run as "the exchange is fine"
        return PhaseResult.skipped(
            f"dry run, exchange not contacted: {names}: {passed} offline, "
            f"{counts['skipped']} skipped",
            metrics=metrics,
        )
    return PhaseResult.passed(f"{names}: {passed}, {counts['skipped']} skipped", metrics=metrics)
