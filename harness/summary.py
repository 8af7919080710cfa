"""``summary.json``: built from the session and the ``summarize`` hook, then validated."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from harness.dispatch import call_isolated
from harness.events import check_finite, utc_timestamp
from harness.exitcodes import status_for

if TYPE_CHECKING:
    from harness.exitcodes import ExitCode
    from harness.manager import PluginInfo
    from harness.runstate import RunState

__all__ = ["CORE_SECTIONS", "build_summary", "write_record"]

CORE_SECTIONS = frozenset(
    {
        "v",
        "run_id",
        "session_id",
        "sessions",
        "harness_version",
        "config",
        "started",
        "ended",
        "runtime_s",
        "status",
        "exit_code",
        "dry_run",
        "phases",
        "phases_completed",
        "retries",
        "plugins",
        "events",
        "plugin_errors",
        "resumed_from",
    }
)


def build_summary(
    state: RunState, exit_code: int, plugins: list[PluginInfo], version: str
) -> dict[str, Any]:
    """The summary document; plugin sections are merged at the top level.

    The whole document, keys included, passes through the run's redactor.
    """
    from harness.validation import first_error, load_schema

    ended = time.time()
    config = state.config
    summary: dict[str, Any] = {
        "v": 1,
        "run_id": state.run_id,
        "session_id": state.session_id,
        "sessions": list(state.sessions),
        "harness_version": version,
        "config": {
            "path": str(config.path) if config.path else None,
            "source": config.source,
            "hash": config.hash,
        },
        "started": utc_timestamp(state.started),
        "ended": utc_timestamp(ended),
        "runtime_s": round(ended - state.started, 6),
        "status": status_for(exit_code),
        "exit_code": exit_code,
        "dry_run": state.dry_run,
        "phases": [r.to_dict() for r in state.reports],
        "phases_completed": sum(r.status == "passed" for r in state.reports),
        "retries": list(state.retries),
        "plugins": [
            {"name": p.name, "source": p.source, "dist": p.dist, "version": p.version}
            for p in plugins
            if not p.disabled
        ],
        "events": {"count": state.emitter.last_seq, "last_seq": state.emitter.last_seq},
        "plugin_errors": [],
    }
    for result in call_isolated(state.pm, "summarize", session=state.session):
        if result.error is not None:
            state.fault(result.plugin, "summarize", result.error)
            continue
        if not result.value:
            continue
        for name, section in dict(result.value).items():
            if name in CORE_SECTIONS or name in summary:
                state.fault(result.plugin, "summarize", f"section {name!r} is already taken")
                continue
            try:
                check_finite(section, name)
                section = state.redactor.redact_obj(section)
                import orjson

                orjson.dumps(section)
            except (ValueError, TypeError) as exc:
                state.fault(result.plugin, "summarize", f"section {name!r}: {exc}")
                continue
            summary[name] = section
            error = first_error(load_schema("summary"), summary)
            if error is not None:
                del summary[name]
                state.fault(
                    result.plugin, "summarize", f"section {name!r} is invalid: {error.message}"
                )
    # seq is gapless from 1 across the sessions of a run: last_seq counts them all
    last = state.emitter.last_seq
    summary["events"] = {"count": last, "last_seq": last, "this_session": state.emitter.count}
    summary["plugin_errors"] = [f.to_dict() for f in state.session.plugin_errors]
    redacted: dict[str, Any] = state.redactor.redact_obj(summary)
    return redacted


def write_record(state: RunState, summary: dict[str, Any], exit_code: ExitCode) -> ExitCode:
    """End the run's record: events flushed (fsync), ``state.json``, then ``summary.json``.

    The summary is written last, whenever the disk allows, and carries the exit
    code the process ends with: a write error on any of these files (reported as
    one ``error`` event naming the file) turns a 0 or 1 into 3. Returns that code.
    """
    from harness.exitcodes import ExitCode
    from harness.rundir import SUMMARY_FILE, write_json

    state.emitter.flush(durable=True)
    state.save_state()
    failed = bool(state.internal_error or state.emitter.broken_sinks())
    if failed and exit_code in (ExitCode.OK, ExitCode.PHASE_FAILED):
        exit_code = ExitCode.INTERNAL_ERROR
    summary["exit_code"], summary["status"] = int(exit_code), exit_code.status
    try:
        write_json(state.run_dir / SUMMARY_FILE, summary)
    except OSError as exc:
        state.write_failed(exc)
        if exit_code in (ExitCode.OK, ExitCode.PHASE_FAILED):
            exit_code = ExitCode.INTERNAL_ERROR
        summary["exit_code"], summary["status"] = int(exit_code), exit_code.status
    if exit_code == ExitCode.INTERNAL_ERROR:
        _say_why(state)
    return exit_code


def _say_why(state: RunState) -> None:
    """One line on stderr for exit 3: the console may be the broken part, or not started."""
    import sys

    reason = state.internal_error
    if reason is None:
        broken = state.emitter.broken_sinks()
        reason = next((f.message for f in state.faults if f.plugin in broken), None)
    if reason:
        with contextlib.suppress(OSError, ValueError):
            print(f"harness: {state.redactor.redact(reason)}", file=sys.stderr, flush=True)
