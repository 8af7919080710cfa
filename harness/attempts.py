"""The one attempt loop, for phases and for ``ctx.retry`` operations alike.

In the shape of pytest's ``runner.py``: :meth:`CallInfo.from_call
<harness.CallInfo.from_call>` makes the record of one attempt,
:func:`decide` asks the error policy (the ``on_error`` hook) what to do about a
failed one, and :func:`record` builds the report of it (the phase's history,
the summary's recovery record, the ``retry`` / ``error`` events). The policy
itself is a plugin (the built-in ``retry``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.dispatch import call_isolated
from harness.errors import NonRetryableError, PhaseFailed
from harness.outcomes import CallInfo, GiveUp, Retry
from harness.tracebacks import describe, is_unexpected

if TYPE_CHECKING:
    from harness.context import PhaseContext
    from harness.runstate import RunState

__all__ = ["decide", "error_text", "record", "run_attempts"]


def error_text(state: RunState, exc: BaseException) -> tuple[str, str]:
    """``(type name, one-line message)`` of ``exc``, secrets masked."""
    lines = str(exc).strip().splitlines()
    return type(exc).__name__, state.redactor.redact(lines[0] if lines else type(exc).__name__)


def error_traceback(state: RunState, exc: BaseException) -> dict[str, Any] | None:
    """The masked traceback of an unexpected exception, ``None`` for a verdict or user error."""
    if not is_unexpected(exc):
        return None
    described: dict[str, Any] = state.redactor.redact_obj(describe(exc))
    return described


def run_attempts(
    state: RunState, ctx: PhaseContext, fn: Callable[[], Any], *, operation: str | None
) -> CallInfo:
    """Call ``fn`` until it returns or the policy gives up; the last attempt's record.

    ``operation`` is ``None`` for the phase itself (``ctx.attempt`` follows the
    attempts) and the name given to ``ctx.retry`` otherwise.
    """
    first = time.monotonic()
    attempt = 1
    while True:
        if operation is None:
            ctx.attempt = attempt
        call = CallInfo.from_call(
            fn,
            phase=ctx.phase.name,
            operation=operation,
            attempt=attempt,
            first=first,
            deadline_in=ctx.deadline_in,
        )
        decision = decide(state, ctx, call) if call.failed else None
        record(state, ctx, call, decision)
        if not isinstance(decision, Retry):
            return call
        ctx.sleep(decision.delay)
        attempt += 1


def decide(state: RunState, ctx: PhaseContext, call: CallInfo) -> Retry | GiveUp | None:
    """What to do after ``call`` failed: ``on_error``'s answer (first non-``None`` wins).

    ``None`` for :class:`~harness.PhaseFailed` (a verdict, not an error);
    non-retryable errors never reach the policy. A policy that raises or answers
    nonsense is reported and the next one is asked. A ``Retry`` whose wait
    would end after the phase timeout becomes a ``GiveUp``.
    """
    if isinstance(call.excinfo, PhaseFailed):
        return None
    if isinstance(call.excinfo, NonRetryableError):
        return GiveUp("not retryable")
    results = call_isolated(state.pm, "on_error", phase=ctx.phase, ctx=ctx, call=call)
    for result in results:
        if result.error is not None:
            state.fault(result.plugin, "on_error", result.error, phase=ctx.phase.name)
            continue
        answer = result.value
        if answer is None:
            continue
        if isinstance(answer, GiveUp):
            return answer
        if not isinstance(answer, Retry):
            state.fault(
                result.plugin,
                "on_error",
                f"returned {answer!r}, not Retry or GiveUp",
                ctx.phase.name,
            )
            return GiveUp(f"error policy {result.plugin!r} gave an invalid answer")
        if not answer.delay >= 0 or answer.delay == float("inf"):
            return GiveUp(f"error policy {result.plugin!r} asked for delay {answer.delay!r}")
        if call.deadline_in is not None and answer.delay >= call.deadline_in:
            return GiveUp("the next attempt would start after the phase timeout")
        return answer
    return GiveUp("no error policy")


def record(
    state: RunState, ctx: PhaseContext, call: CallInfo, decision: Retry | GiveUp | None
) -> None:
    """The report of one attempt: history entry, recovery record, ``retry``/``error`` event.

    Every phase attempt is kept in the phase's history; an operation's attempt
    only when it failed or followed a failure.
    """
    if call.operation is not None and not call.failed and call.attempt == 1:
        return
    entry: dict[str, Any] = {
        "attempt": call.attempt,
        "operation": call.operation,
        "status": "failed" if call.failed else "passed",
        "duration_s": round(call.duration, 6),
        "delay_s": decision.delay if isinstance(decision, Retry) else None,
        "error": None,
        "error_type": None,
    }
    tb = None
    if call.excinfo is not None:
        entry["error_type"], entry["error"] = error_text(state, call.excinfo)
        tb = error_traceback(state, call.excinfo)
    report = state.report(ctx.phase.name)
    if report is not None:
        report.history.append(entry)
    if decision is None:
        return
    what = f"operation {call.operation!r}" if call.operation else f"phase {ctx.phase.name!r}"
    data: dict[str, Any] = {
        "operation": call.operation,
        "attempt": call.attempt,
        "error_type": entry["error_type"],
        "error": entry["error"],
        "reason": decision.reason,
    }
    if tb is not None:
        data["traceback"] = tb
    failure = f"{entry['error_type']}: {entry['error']}"
    if isinstance(decision, Retry):
        state.retries.append({"phase": ctx.phase.name, **entry, "status": "retried"})
        state.emit(
            "retry",
            f"{what} attempt {call.attempt} failed ({failure}); retrying in {decision.delay:.3g} s",
            phase=ctx.phase.name,
            level="warning",
            data={**decision.data, **data, "delay_s": decision.delay},
        )
        return
    state.retries.append({"phase": ctx.phase.name, **entry, "status": "gave_up"})
    state.emit(
        "error",
        f"{what} failed after {call.attempt} attempt(s): {failure} "
        f"({decision.reason or 'giving up'})",
        phase=ctx.phase.name,
        level="error",
        data=data,
    )
