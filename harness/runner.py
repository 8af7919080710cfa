"""The run loop: phases in order, attempts, outcomes as data."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from harness.context import PhaseContext
from harness.errors import PhaseFailed
from harness.events import check_finite, utc_timestamp
from harness.heartbeat import Heartbeat
from harness.hookcall import call_each
from harness.interrupts import Interrupted, PhaseTimeout
from harness.outcomes import CallInfo, GiveUp, PhaseResult
from harness.retrying import ask_policy, error_text, record_attempt

if TYPE_CHECKING:
    from harness.config import Phase
    from harness.events import Level
    from harness.session import PhaseReport, Session

__all__ = ["run_phases"]


def run_phases(session: Session, phases: list[Phase], done: set[str]) -> None:
    """Run ``phases`` in order; those in ``done`` passed in an earlier session (``--resume``)."""
    stop_reason: str | None = None
    broken_heartbeats: set[str] = set()
    for phase in phases:
        report = session.report(phase.name)
        assert report is not None
        ctx = PhaseContext(session, phase)
        if stop_reason is not None:
            report.status, report.message = "skipped", stop_reason
            session.emit(
                "phase_end",
                f"{phase.name}: skipped ({stop_reason})",
                phase=phase.name,
                data={
                    "status": "skipped",
                    "attempts": 0,
                    "duration_s": 0.0,
                    "plugin": phase.plugin,
                    "message": stop_reason,
                },
            )
            continue
        if phase.name in done and _resume(session, ctx, report):
            continue
        if phase.plugin in session.disabled:
            report.status, report.message = "skipped", f"plugin {phase.plugin!r} is disabled"
        else:
            try:
                with Heartbeat(ctx, session.config.harness.heartbeat_interval, broken_heartbeats):
                    _run(session, ctx, report)
            except Interrupted as exc:
                session.interrupts.hold()  # from here on, signals are only recorded
                report.status, report.error = "failed", str(exc)
                report.message = f"interrupted by {exc.signame}"
                _finish(session, ctx, report)
                raise
        _finish(session, ctx, report)
        if report.status in ("failed", "timeout") and session.config.harness.on_failure == "stop":
            stop_reason = f"phase {phase.name!r} {report.status} (on_failure = stop)"


def _resume(session: Session, ctx: PhaseContext, report: PhaseReport) -> bool:
    """Skip a phase that passed earlier; ``False`` (run it again) if a plugin cannot restore it."""
    for result in call_each(session.hook.phase_resume, phase=ctx.phase, ctx=ctx):
        if result.error is not None:
            session.fault(
                result.plugin,
                "phase_resume",
                f"{error_text(ctx, result.error)[1]}; running the phase again",
                phase=ctx.phase.name,
            )
            return False
    report.status, report.resumed = "passed", True
    report.message = "passed in an earlier session (resumed)"
    return True


def _run(session: Session, ctx: PhaseContext, report: PhaseReport) -> None:
    phase = ctx.phase
    report.started = utc_timestamp(time.time())
    session.emit(
        "phase_start",
        f"{phase.name}: started (plugin {phase.plugin}"
        + (f", timeout {phase.timeout:g} s)" if phase.timeout else ")"),
        phase=phase.name,
        data={"plugin": phase.plugin, "timeout_s": phase.timeout},
    )
    t0 = time.monotonic()
    try:
        with session.interrupts.deadline(phase.name, phase.timeout):
            _attempts(session, ctx, report)
        if session.interrupts.timer_fired:  # the phase swallowed the timeout
            raise PhaseTimeout(phase.name, phase.timeout or 0.0)
    except PhaseTimeout as exc:
        report.status, report.error = "timeout", str(exc)
        report.message = str(exc)
        session.emit(
            "timeout",
            str(exc),
            phase=phase.name,
            level="error",
            data={"timeout_s": exc.timeout, "attempt": ctx.attempt},
        )
    finally:
        report.duration_s = time.monotonic() - t0


def _attempts(session: Session, ctx: PhaseContext, report: PhaseReport) -> None:
    phase = ctx.phase
    for result in call_each(session.hook.phase_start, phase=phase, ctx=ctx):
        if result.error is not None:
            report.status = "failed"
            text = error_text(ctx, result.error)[1]
            report.error = f"phase_start of plugin {result.plugin!r} failed: {text}"
            report.message = report.error
            return
    first = time.monotonic()
    while True:
        report.attempts = ctx.attempt
        start, t0 = time.time(), time.monotonic()
        try:
            outcome = session.hook.phase_run(phase=phase, ctx=ctx)
        except PhaseFailed as exc:
            report.status, report.message = "failed", error_text(ctx, exc)[1]
            report.error = report.message
            call = CallInfo(phase.name, None, ctx.attempt, start, time.monotonic() - t0, exc)
            record_attempt(ctx, call, "failed")
            return
        except Exception as exc:
            call = CallInfo(
                phase.name,
                None,
                ctx.attempt,
                start,
                time.monotonic() - t0,
                exc,
                elapsed=time.monotonic() - first,
                deadline_in=ctx.deadline_in(),
            )
            decision = ask_policy(ctx, call)
            record_attempt(ctx, call, "failed", decision)
            if isinstance(decision, GiveUp):
                kind, text = error_text(ctx, exc)
                report.status, report.error = "failed", f"{kind}: {text}"
                report.message = report.error
                return
            ctx.sleep(decision.delay)
            ctx.attempt += 1
            continue
        call = CallInfo(phase.name, None, ctx.attempt, start, time.monotonic() - t0, result=outcome)
        if not isinstance(outcome, PhaseResult):
            report.status = "failed"
            report.error = (
                f"no plugin ran phase {phase.name!r} (plugin {phase.plugin!r} returned nothing)"
                if outcome is None
                else f"phase_run returned {type(outcome).__name__}, not PhaseResult"
            )
            report.message = report.error
            session.internal_error = report.error
            return
        report.status = outcome.status if outcome.status != "timeout" else "failed"
        report.message = ctx.redact(outcome.message)
        report.metrics = dict(outcome.metrics)
        report.data = dict(outcome.data)
        problem = _result_problem(outcome)
        if problem is not None:  # would make phase_end invalid and summary.json unwritable
            session.fault(phase.plugin, "phase_run", f"result ignored: {problem}", phase.name)
            report.metrics, report.data = {}, {}
        if report.status == "failed":
            report.error = report.message or "failed"
        record_attempt(ctx, call, report.status)
        return


def _result_problem(outcome: PhaseResult) -> str | None:
    """Why a result's ``metrics``/``data`` cannot go into an event, or ``None``."""
    import orjson

    bad = [
        k
        for k, v in outcome.metrics.items()
        if isinstance(v, bool) or not isinstance(v, int | float)
    ]
    if bad:
        return f"metrics.{bad[0]} is {outcome.metrics[bad[0]]!r}, not a number"
    try:
        check_finite(outcome.metrics, "metrics")
        check_finite(outcome.data, "data")
        orjson.dumps(dict(outcome.data), option=orjson.OPT_NON_STR_KEYS)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _finish(session: Session, ctx: PhaseContext, report: PhaseReport) -> None:
    phase = ctx.phase
    level: Level = "info" if report.status in ("passed", "skipped") else "error"
    text = f"{phase.name}: {report.status}"
    if report.message:
        text += f": {report.message}"
    data = {
        "status": report.status,
        "attempts": report.attempts,
        "duration_s": round(report.duration_s, 6),
        "plugin": phase.plugin,
        "message": report.message,
        "error": report.error,
        **({"result": report.data} if report.data else {}),
    }
    session.emit(
        "phase_end", text, phase=phase.name, level=level, metrics=report.metrics, data=data
    )
    session.checkpoint(phase.name)
