"""The run loop: phases in order, each dispatched to its owner, outcomes as data."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from harness.attempts import error_text, error_traceback, run_attempts
from harness.context import PhaseContext
from harness.dispatch import call_owner
from harness.errors import PhaseFailed
from harness.events import check_finite, utc_timestamp
from harness.heartbeat import Heartbeat
from harness.interrupts import Interrupted, PhaseTimeout
from harness.outcomes import PhaseResult

if TYPE_CHECKING:
    from harness.config import Phase
    from harness.events import Level
    from harness.runstate import RunState
    from harness.session import PhaseReport

__all__ = ["run_phases"]


def run_phases(state: RunState, phases: list[Phase], done: set[str]) -> None:
    """Run ``phases`` in order; those in ``done`` passed in an earlier session (``--resume``)."""
    stop_reason: str | None = None
    broken_heartbeats: set[str] = set()
    for phase in phases:
        report = state.report(phase.name)
        assert report is not None
        ctx = PhaseContext(state, phase)
        if stop_reason is not None:
            report.status, report.message = "skipped", stop_reason
            _finish(state, ctx, report, checkpoint=False)
            continue
        if phase.name in done and _resume(state, ctx, report):
            continue
        if phase.plugin in state.disabled:
            report.status, report.message = "skipped", f"plugin {phase.plugin!r} is disabled"
        else:
            try:
                with Heartbeat(
                    state, ctx, state.config.harness.heartbeat_interval, broken_heartbeats
                ):
                    _run(state, ctx, report)
            except Interrupted as exc:
                state.interrupts.hold()  # from here on, signals are only recorded
                report.status, report.error = "failed", str(exc)
                report.message = f"interrupted by {exc.signame}"
                _finish(state, ctx, report)
                raise
        _finish(state, ctx, report)
        if report.status in ("failed", "timeout") and state.config.harness.on_failure == "stop":
            stop_reason = f"phase {phase.name!r} {report.status} (on_failure = stop)"


def _resume(state: RunState, ctx: PhaseContext, report: PhaseReport) -> bool:
    """Skip a phase that passed earlier; ``False`` (run it again) if it cannot be restored."""
    phase = ctx.phase
    try:
        call_owner(state.pm, "phase_resume", phase.plugin, phase=phase, ctx=ctx)
    except Exception as exc:
        text = error_text(state, exc)[1]
        state.fault(
            phase.plugin,
            "phase_resume",
            f"{text}; running the phase again",
            phase=phase.name,
            traceback=error_traceback(state, exc),
        )
        return False
    report.status, report.resumed = "passed", True
    report.message = "passed in an earlier session (resumed)"
    return True


def _run(state: RunState, ctx: PhaseContext, report: PhaseReport) -> None:
    phase = ctx.phase
    report.started = utc_timestamp(time.time())
    state.emit(
        "phase_start",
        f"{phase.name}: started (plugin {phase.plugin}"
        + (f", timeout {phase.timeout:g} s)" if phase.timeout else ")"),
        phase=phase.name,
        data={"plugin": phase.plugin, "timeout_s": phase.timeout},
    )
    if not any(r.started for r in state.reports if r is not report):
        # the first phase of the session: its phase_start and state.json are on disk
        # (fsync) before any of its code runs, so a kill from here on leaves a
        # record that validates and resumes
        state.emitter.flush(durable=True)
        state.save_state()
    t0 = time.monotonic()
    try:
        with state.interrupts.deadline(phase.name, phase.timeout):
            _attempts(state, ctx, report)
        if state.interrupts.timer_fired:  # the phase swallowed the timeout
            raise PhaseTimeout(phase.name, phase.timeout or 0.0)
    except PhaseTimeout as exc:
        report.status, report.error = "timeout", str(exc)
        report.message = str(exc)
        state.emit(
            "timeout",
            str(exc),
            phase=phase.name,
            level="error",
            data={"timeout_s": exc.timeout, "attempt": ctx.attempt},
        )
    finally:
        report.duration_s = time.monotonic() - t0
        if report.attempts:  # interrupted or timed out mid-attempt: count it
            report.attempts = ctx.attempt


def _fail(report: PhaseReport, error: str, traceback: dict[str, object] | None = None) -> None:
    report.status, report.error, report.message = "failed", error, error
    report.traceback = dict(traceback) if traceback else None


def _attempts(state: RunState, ctx: PhaseContext, report: PhaseReport) -> None:
    phase = ctx.phase
    try:
        call_owner(state.pm, "phase_start", phase.plugin, phase=phase, ctx=ctx)
    except Exception as exc:
        text = error_text(state, exc)[1]
        _fail(
            report,
            f"phase_start of plugin {phase.plugin!r} failed: {text}",
            error_traceback(state, exc),
        )
        return
    report.attempts = 1
    call = run_attempts(
        state,
        ctx,
        lambda: call_owner(state.pm, "phase_run", phase.plugin, phase=phase, ctx=ctx),
        operation=None,
    )
    report.attempts = call.attempt
    if call.excinfo is not None:
        kind, text = error_text(state, call.excinfo)
        tb = error_traceback(state, call.excinfo)
        _fail(report, text if isinstance(call.excinfo, PhaseFailed) else f"{kind}: {text}", tb)
        return
    outcome = call.result
    if not isinstance(outcome, PhaseResult):
        _fail(
            report,
            f"no plugin ran phase {phase.name!r} (plugin {phase.plugin!r} returned nothing)"
            if outcome is None
            else f"phase_run of plugin {phase.plugin!r} returned "
            f"{type(outcome).__name__}, not PhaseResult",
        )
        state.internal_error = report.error
        return
    report.status = outcome.status if outcome.status != "timeout" else "failed"
    report.message = state.redactor.redact(outcome.message)
    report.metrics = dict(outcome.metrics)
    report.data = dict(outcome.data)
    problem = _result_problem(outcome)
    if problem is not None:  # would make phase_end invalid and summary.json unwritable
        state.fault(phase.plugin, "phase_run", f"result ignored: {problem}", phase.name)
        report.metrics, report.data = {}, {}
    if report.status == "failed":
        report.error = report.message or "failed"
    if report.history:  # the attempt's status is the phase's verdict
        report.history[-1]["status"] = report.status


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


def _finish(
    state: RunState, ctx: PhaseContext, report: PhaseReport, *, checkpoint: bool = True
) -> None:
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
        **({"traceback": report.traceback} if report.traceback else {}),
    }
    state.emit("phase_end", text, phase=phase.name, level=level, metrics=report.metrics, data=data)
    if checkpoint:
        state.checkpoint(phase.name)
