"""The retry loop shared by phases and operations; the *policy* is a plugin (``on_error``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from harness.errors import NonRetryableError
from harness.hookcall import call_each
from harness.outcomes import CallInfo, GiveUp, Retry

if TYPE_CHECKING:
    from harness.context import PhaseContext

__all__ = ["ask_policy", "call_with_policy", "error_text", "record_attempt"]

T = TypeVar("T")


def error_text(ctx: PhaseContext, exc: BaseException) -> tuple[str, str]:
    """``(type name, one-line message)`` of ``exc``, secrets redacted."""
    lines = str(exc).strip().splitlines()
    return type(exc).__name__, ctx.redact(lines[0] if lines else type(exc).__name__)


def ask_policy(ctx: PhaseContext, call: CallInfo) -> Retry | GiveUp:
    """Ask ``on_error`` what to do after ``call`` failed (first non-``None`` answer wins).

    Non-retryable errors never reach the policy. A ``Retry`` whose delay would
    end after the phase timeout is turned into ``GiveUp`` here too, whatever
    the policy said.
    """
    if isinstance(call.excinfo, NonRetryableError):
        return GiveUp("not retryable")
    for result in call_each(ctx.session.hook.on_error, phase=ctx.phase, ctx=ctx, call=call):
        if result.error is not None:
            ctx.session.fault(result.plugin, "on_error", result.error, phase=ctx.phase.name)
            return GiveUp(f"error policy {result.plugin!r} failed")
        decision = result.value
        if decision is None:
            continue
        if isinstance(decision, Retry):
            if not decision.delay >= 0 or decision.delay == float("inf"):
                return GiveUp(f"error policy {result.plugin!r} asked for delay {decision.delay!r}")
            if call.deadline_in is not None and decision.delay >= call.deadline_in:
                return GiveUp("the next attempt would start after the phase timeout")
            return decision
        if isinstance(decision, GiveUp):
            return decision
        ctx.session.fault(
            result.plugin, "on_error", f"returned {decision!r}, not Retry or GiveUp", ctx.phase.name
        )
        return GiveUp(f"error policy {result.plugin!r} gave an invalid answer")
    return GiveUp("no error policy")


def record_attempt(
    ctx: PhaseContext, call: CallInfo, status: str, decision: Retry | GiveUp | None = None
) -> None:
    """Add ``call`` to the recovery record; announce a scheduled retry or a give-up."""
    session = ctx.session
    report = session.report(ctx.phase.name)
    entry: dict[str, Any] = {
        "attempt": call.attempt,
        "operation": call.operation,
        "status": status,
        "duration_s": round(call.duration, 6),
        "delay_s": decision.delay if isinstance(decision, Retry) else None,
        "error": None,
        "error_type": None,
    }
    if call.excinfo is not None:
        entry["error_type"], entry["error"] = error_text(ctx, call.excinfo)
    if report is not None:
        report.history.append(entry)
    if call.excinfo is None or decision is None:
        return
    what = f"operation {call.operation!r}" if call.operation else f"phase {ctx.phase.name!r}"
    record = {"phase": ctx.phase.name, **entry}
    if isinstance(decision, Retry):
        record["status"] = "retried"
        session.retries.append(record)
        session.emit(
            "retry",
            f"{what} attempt {call.attempt} failed ({entry['error_type']}: {entry['error']}); "
            f"retrying in {decision.delay:.3g} s",
            phase=ctx.phase.name,
            level="warning",
            data={
                **decision.data,
                "operation": call.operation,
                "attempt": call.attempt,
                "delay_s": decision.delay,
                "error_type": entry["error_type"],
                "error": entry["error"],
                "reason": decision.reason,
            },
        )
    else:
        record["status"] = "gave_up"
        session.retries.append(record)
        session.emit(
            "error",
            f"{what} failed after {call.attempt} attempt(s): {entry['error_type']}: "
            f"{entry['error']} ({decision.reason or 'giving up'})",
            phase=ctx.phase.name,
            level="error",
            data={
                "operation": call.operation,
                "attempt": call.attempt,
                "error_type": entry["error_type"],
                "error": entry["error"],
                "reason": decision.reason,
            },
        )


def call_with_policy(ctx: PhaseContext, fn: Callable[[], T], *, operation: str) -> T:
    """Run ``fn`` until it returns, retrying as ``on_error`` decides (``ctx.retry``)."""
    first = time.monotonic()
    attempt = 1
    while True:
        start, t0 = time.time(), time.monotonic()
        try:
            value = fn()
        except Exception as exc:
            call = CallInfo(
                phase=ctx.phase.name,
                operation=operation,
                attempt=attempt,
                start=start,
                duration=time.monotonic() - t0,
                excinfo=exc,
                elapsed=time.monotonic() - first,
                deadline_in=ctx.deadline_in(),
            )
            decision = ask_policy(ctx, call)
            record_attempt(ctx, call, "failed", decision)
            if isinstance(decision, GiveUp):
                raise
            ctx.sleep(decision.delay)
            attempt += 1
            continue
        if attempt > 1:
            call = CallInfo(ctx.phase.name, operation, attempt, start, time.monotonic() - t0)
            record_attempt(ctx, call, "passed")
        return value
