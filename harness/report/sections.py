"""The sections every report has: the run, the phase timeline, heartbeats, retries and errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = ["core_sections", "epoch"]

MAX_METRIC_CHARTS = 24


def epoch(timestamp: Any) -> float | None:
    """RFC 3339 ``2026-11-28T09:45:25.123Z`` -> seconds since the epoch (``None`` if not one)."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_RUN_STATUS = {
    "success": "passed",
    "failed": "failed",
    "error": "error",
    "interrupted": "warning",
    "incomplete": "warning",
}


def _status(value: Any) -> dict[str, Any]:
    return {"value": value, "status": _RUN_STATUS.get(str(value), str(value))}


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _seconds(value: Any) -> str:
    return f"{value:.3f} s" if isinstance(value, int | float) else "-"


def run_section(summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Status, exit code, config, duration, sessions, phases and plugins."""
    config = summary.get("config") or {}
    sessions = summary.get("sessions") or sorted({str(e.get("session_id")) for e in events})
    first = events[0] if events else {}
    facts = {
        "run": summary.get("run_id") or first.get("run_id"),
        "status": _status(summary.get("status", "running")),
        "exit code": summary.get("exit_code"),
        "config": f"{config.get('path', '-')} ({config.get('source', '-')})",
        "config hash": config.get("hash"),
        "started": summary.get("started") or first.get("timestamp"),
        "ended": summary.get("ended"),
        "duration": _seconds(summary.get("runtime_s")),
        "sessions": f"{len(sessions)} ({len(sessions) - 1} resumes)" if sessions else "-",
        "harness": summary.get("harness_version"),
        "dry run": summary.get("dry_run"),
        "events": (summary.get("events") or {}).get("count", len(events)),
    }
    phases = [
        [
            p.get("name"),
            p.get("plugin"),
            _status(p.get("status")),
            p.get("attempts"),
            _seconds(p.get("duration_s")),
            "resumed" if p.get("resumed") else "",
            p.get("error") or p.get("message") or "",
        ]
        for p in summary.get("phases") or []
    ]
    plugins = [
        [p.get("name"), p.get("source"), p.get("dist") or "-", p.get("version") or "-"]
        for p in summary.get("plugins") or []
    ]
    blocks: list[dict[str, Any]] = [{"type": "facts", "items": facts}]
    blocks.append(
        {
            "type": "table",
            "title": "Phases",
            "columns": ["phase", "plugin", "status", "attempts", "duration", "", "message"],
            "rows": phases,
        }
    )
    if plugins:
        blocks.append(
            {
                "type": "table",
                "title": "Plugins",
                "columns": ["plugin", "source", "distribution", "version"],
                "rows": plugins,
            }
        )
    return {"title": "Run", "id": "run", "blocks": blocks}


def timeline_section(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One bar per phase from its events: attempts, retry waits, timeouts; sessions on top."""
    rows: dict[str, list[dict[str, Any]]] = {}
    attempt_start: dict[str, float] = {}
    sessions: list[dict[str, Any]] = []
    times = [t for t in (epoch(e.get("timestamp")) for e in events) if t is not None]
    if not times:
        return {
            "title": "Timeline",
            "id": "timeline",
            "blocks": [{"type": "text", "text": "No events."}],
        }
    for event in events:
        ts = epoch(event.get("timestamp"))
        kind, phase = event.get("type"), event.get("phase")
        if ts is None:
            continue
        data = event.get("data") or {}
        if kind == "session_start":
            sessions.append({"start": ts, "end": ts, "kind": "running", "label": "session"})
        elif kind == "session_end" and sessions:
            sessions[-1]["end"] = ts
            sessions[-1]["kind"] = str(data.get("status", "passed"))
            sessions[-1]["label"] = str(event.get("message", "session"))
        if not isinstance(phase, str):
            continue
        segments = rows.setdefault(phase, [])
        if kind == "phase_start":
            attempt_start[phase] = ts
        elif kind == "retry":
            delay = float(data.get("delay_s") or 0.0)
            operation = data.get("operation")
            error = f"{data.get('error_type')}: {data.get('error')}"
            label = f"attempt {data.get('attempt')} failed: {error}"
            if operation is None and phase in attempt_start:
                segments.append(
                    {"start": attempt_start[phase], "end": ts, "kind": "failed", "label": label}
                )
                attempt_start[phase] = ts + delay
            else:
                label = f"operation {operation!r} " + label
            segments.append(
                {
                    "start": ts,
                    "end": ts + delay,
                    "kind": "wait",
                    "label": f"retry wait {delay:g} s after {label}",
                }
            )
            times.append(ts + delay)
        elif kind == "timeout":
            segments.append(
                {"start": ts, "end": ts, "kind": "timeout", "label": str(event.get("message"))}
            )
        elif kind == "phase_end":
            status = str(data.get("status", "passed"))
            start = attempt_start.pop(phase, ts)
            segments.append(
                {"start": start, "end": ts, "kind": status, "label": str(event.get("message"))}
            )
    block_rows = [{"label": "sessions", "segments": sessions}] if len(sessions) > 1 else []
    block_rows += [{"label": name, "segments": segs} for name, segs in rows.items()]
    return {
        "title": "Timeline",
        "id": "timeline",
        "blocks": [
            {"type": "timeline", "start": min(times), "end": max(times), "rows": block_rows}
        ],
    }


def metrics_section(
    summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Heartbeat metrics over time (one chart per metric, a line per phase); final figures."""
    series: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for event in events:
        if event.get("type") != "heartbeat":
            continue
        ts = epoch(event.get("timestamp"))
        if ts is None:
            continue
        phase = str(event.get("phase") or "run")
        for name, value in (event.get("metrics") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                xs, ys = series.setdefault(str(name), {}).setdefault(phase, ([], []))
                xs.append(ts)
                ys.append(float(value))
    blocks: list[dict[str, Any]] = []
    order = ("equity", "pnl", "trades")
    names = sorted(series, key=lambda n: (order.index(n) if n in order else len(order), n))
    if not names:
        blocks.append(
            {
                "type": "text",
                "text": "No heartbeats: every phase ended within one heartbeat_interval.",
            }
        )
    for name in names[:MAX_METRIC_CHARTS]:
        blocks.append(
            {
                "type": "chart",
                "title": name,
                "x_kind": "time",
                "sync": "heartbeat",
                "height": 160,
                "series": [
                    {"label": phase, "x": xs, "y": ys, "kind": "line"}
                    for phase, (xs, ys) in series[name].items()
                ],
            }
        )
    if len(names) > MAX_METRIC_CHARTS:
        more = ", ".join(names[MAX_METRIC_CHARTS:])
        blocks.append(
            {"type": "text", "text": f"Not drawn (more than {MAX_METRIC_CHARTS}): {more}"}
        )
    rows = [
        [p.get("name"), ", ".join(f"{k}={_number(v)}" for k, v in (p.get("metrics") or {}).items())]
        for p in summary.get("phases") or []
        if p.get("metrics")
    ]
    if rows:
        blocks.append(
            {
                "type": "table",
                "title": "Final metrics of each phase",
                "columns": ["phase", "metrics"],
                "rows": rows,
            }
        )
    return {"title": "Metrics", "id": "metrics", "blocks": blocks}


def problems_section(
    summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Retries (every attempt that was retried or given up) and error events with tracebacks."""
    blocks: list[dict[str, Any]] = []
    retries = [
        [
            r.get("phase"),
            r.get("operation") or "(phase)",
            r.get("attempt"),
            _status("failed" if r.get("status") == "gave_up" else "warning")
            | {"value": r.get("status")},
            r.get("delay_s"),
            f"{r.get('error_type') or ''}: {r.get('error') or ''}".strip(": "),
        ]
        for r in summary.get("retries") or []
    ]
    if retries:
        blocks.append(
            {
                "type": "table",
                "title": "Retries",
                "columns": ["phase", "operation", "attempt", "status", "delay s", "error"],
                "rows": retries,
            }
        )
    bad = [
        e
        for e in events
        if e.get("level") == "error" or e.get("type") in ("error", "timeout", "retry")
    ]
    if bad:
        blocks.append(
            {
                "type": "table",
                "title": "Errors, timeouts and retries (events)",
                "columns": ["seq", "time", "phase", "type", "level", "message"],
                "rows": [
                    [
                        e.get("seq"),
                        e.get("timestamp"),
                        e.get("phase") or "",
                        e.get("type"),
                        _status(e.get("level")),
                        e.get("message"),
                    ]
                    for e in bad
                ],
            }
        )
    for e in bad:
        trace = (e.get("data") or {}).get("traceback")
        if trace:
            text = "".join(trace) if isinstance(trace, list) else str(trace)
            blocks.append({"type": "text", "text": f"Traceback of event {e.get('seq')}:"})
            blocks.append({"type": "code", "text": text})
    for problem in summary.get("plugin_errors") or []:
        blocks.append({"type": "code", "text": str(problem)})
    if not blocks:
        blocks.append({"type": "text", "text": "No retries and no errors."})
    return {"title": "Retries and errors", "id": "problems", "blocks": blocks}


def core_sections(
    summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The run, the timeline, the metrics, the retries and errors."""
    return [
        run_section(summary, events),
        timeline_section(events),
        metrics_section(summary, events),
        problems_section(summary, events),
    ]
