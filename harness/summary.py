"""``summary.json``: built from the session and the ``summarize`` hook, then validated."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from harness.events import check_finite, utc_timestamp
from harness.exitcodes import status_for
from harness.hookcall import call_each

if TYPE_CHECKING:
    from harness.manager import PluginInfo
    from harness.session import Session

__all__ = ["CORE_SECTIONS", "build_summary"]

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
    session: Session, exit_code: int, plugins: list[PluginInfo], version: str
) -> dict[str, Any]:
    """The summary document; plugin sections are merged at the top level."""
    from harness.validation import first_error, load_schema

    ended = time.time()
    config = session.config
    summary: dict[str, Any] = {
        "v": 1,
        "run_id": session.run_id,
        "session_id": session.session_id,
        "sessions": list(session.sessions),
        "harness_version": version,
        "config": {
            "path": str(config.path) if config.path else None,
            "source": config.source,
            "hash": config.hash,
        },
        "started": utc_timestamp(session.started),
        "ended": utc_timestamp(ended),
        "runtime_s": round(ended - session.started, 6),
        "status": status_for(exit_code),
        "exit_code": exit_code,
        "dry_run": session.dry_run,
        "phases": [r.to_dict() for r in session.reports],
        "phases_completed": sum(r.status == "passed" for r in session.reports),
        "retries": list(session.retries),
        "plugins": [
            {"name": p.name, "source": p.source, "dist": p.dist, "version": p.version}
            for p in plugins
            if not p.disabled
        ],
        "events": {"count": session.emitter.last_seq, "last_seq": session.emitter.last_seq},
        "plugin_errors": [],
    }
    for result in call_each(session.hook.summarize, session=session):
        if result.error is not None:
            session.fault(result.plugin, "summarize", result.error)
            continue
        if not result.value:
            continue
        for name, section in dict(result.value).items():
            if name in CORE_SECTIONS or name in summary:
                session.fault(result.plugin, "summarize", f"section {name!r} is already taken")
                continue
            try:
                check_finite(section, name)
                section = session.redactor.redact_obj(section)
                import orjson

                orjson.dumps(section)
            except (ValueError, TypeError) as exc:
                session.fault(result.plugin, "summarize", f"section {name!r}: {exc}")
                continue
            summary[name] = section
            error = first_error(load_schema("summary"), summary)
            if error is not None:
                del summary[name]
                session.fault(
                    result.plugin, "summarize", f"section {name!r} is invalid: {error.message}"
                )
    # seq is gapless from 1 across the sessions of a run: last_seq counts them all
    last = session.emitter.last_seq
    summary["events"] = {"count": last, "last_seq": last, "this_session": session.emitter.count}
    summary["plugin_errors"] = [f.to_dict() for f in session.faults]
    return summary
