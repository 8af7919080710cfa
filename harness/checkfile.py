"""``harness validate``: check an ``events.jsonl`` or a ``summary.json`` after the fact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["check_events", "check_path", "check_summary"]


def _plugin_types() -> dict[str, Any]:
    """Event schemas of the plugins a run here would load (best effort)."""
    from harness.errors import UsageError
    from harness.prepare import RunOptions, prepare

    try:
        return {name: schema for name, (_, schema) in prepare(RunOptions()).event_types.items()}
    except UsageError:
        return {}


def check_events(path: Path) -> list[str]:
    """Problems of an events file: ``path:line: what``; empty when valid."""
    import jsonschema_rs
    import orjson

    from harness.validation import describe_error, first_error, load_schema

    core = load_schema("event")
    core_valid = jsonschema_rs.Draft202012Validator(core).is_valid
    types = _plugin_types()
    problems: list[str] = []
    expected_seq, run_id, ended = 1, None, False
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror or exc}"]
    if not data:
        return [f"{path}: empty: no events"]
    if not data.endswith(b"\n"):
        torn = data.count(b"\n") + 1
        problems.append(f"{path}:{torn}: last line is incomplete (no newline)")
    for number, line in enumerate(data.splitlines(), 1):
        where = f"{path}:{number}"
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON: {exc}")
            continue
        if not core_valid(event):
            error = first_error(core, event)
            if error is not None:
                key, expected, given = describe_error(error)
                problems.append(f"{where}: {key or 'event'}: expected {expected}, got {given}")
            seq = event.get("seq") if isinstance(event, dict) else None
            if isinstance(seq, int) and not isinstance(seq, bool):
                expected_seq = seq + 1  # one bad line is one problem, not a gap as well
            continue
        if ended and event["type"] not in ("session_start", "error"):
            problems.append(
                f"{where}: {event['type']} after session_end (a new session must start first)"
            )
        # after session_end only teardown errors, or the next session of a resumed run
        ended = event["type"] == "session_end" or (ended and event["type"] == "error")
        schema = types.get(event["type"])
        if schema is not None:
            error = first_error(schema, event["data"])
            if error is not None:
                key, expected, given = describe_error(error, ["data"])
                problems.append(f"{where}: {key}: expected {expected}, got {given}")
        if event["seq"] != expected_seq:
            problems.append(f"{where}: seq {event['seq']}, expected {expected_seq} (gap or repeat)")
        expected_seq = event["seq"] + 1
        if run_id is None:
            run_id = event["run_id"]
        elif event["run_id"] != run_id:
            problems.append(
                f"{where}: run_id {event['run_id']} differs from {run_id} (two runs in one file)"
            )
    return problems


def check_summary(path: Path) -> list[str]:
    import orjson

    from harness.validation import describe_error, first_error, load_schema

    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror or exc}"]
    except orjson.JSONDecodeError as exc:
        return [f"{path}: not JSON: {exc}"]
    error = first_error(load_schema("summary"), doc)
    if error is not None:
        key, expected, given = describe_error(error)
        return [f"{path}: {key or 'summary'}: expected {expected}, got {given}"]
    from harness.exitcodes import status_for

    if status_for(doc["exit_code"]) != doc["status"]:
        return [
            f"{path}: status: expected {status_for(doc['exit_code'])!r} for exit_code "
            f"{doc['exit_code']}, got {doc['status']!r}"
        ]
    return []


def check_path(path: Path) -> tuple[list[str], str]:
    """Validate ``path`` (a run directory: both files); returns (problems, description)."""
    if path.is_dir():
        return _check_run_dir(path)
    if not path.exists():
        return [f"{path}: no such file"], ""
    if path.suffix == ".json":
        return check_summary(path), f"{path} (summary valid)"
    problems = check_events(path)
    count = path.read_bytes().count(b"\n") if not problems else 0
    return problems, f"{path} ({count} events valid)"


def _read_events(path: Path) -> list[dict[str, Any]]:
    """The whole, parseable event lines of ``path`` (best effort, for explaining a run)."""
    import orjson

    events: list[dict[str, Any]] = []
    try:
        data = path.read_bytes()
    except OSError:
        return events
    for line in data.splitlines():
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _holder(run_dir: Path) -> str | None:
    """The pid of the harness process writing ``run_dir`` now, or ``None``."""
    import fcntl
    import os

    from harness.rundir import LOCK_FILE

    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
    finally:
        os.close(fd)
    return None


def _check_run_dir(run_dir: Path) -> tuple[list[str], str]:
    """Both files of a run directory, and what state the run is in, in words."""
    import orjson

    events_path, summary_path = run_dir / "events.jsonl", run_dir / "summary.json"
    if not events_path.exists() and not summary_path.exists():
        return [f"{run_dir}: no events.jsonl and no summary.json: not a run directory"], ""
    problems = check_events(events_path)
    events = _read_events(events_path)
    ends = [e for e in events if e.get("type") == "session_end"]
    last_end = ends[-1] if _only_errors_after(events) else None
    write_errors = [str(e.get("message", "")) for e in events if _is_write_error(e)]
    holder = _holder(run_dir)
    if not summary_path.exists():
        if holder is not None:
            return problems, f"{run_dir} (events valid so far; running now: pid {holder})"
        if last_end is not None:
            if write_errors:
                return problems, (
                    f"{run_dir} (events valid; the run ended but summary.json could not be "
                    f"written, so it exited 3: {write_errors[-1]})"
                )
            code = (last_end.get("data") or {}).get("exit_code")
            return (
                problems,
                f"{run_dir} (events valid; the run ended, exit {code}, no summary.json)",
            )
        return problems, (
            f"{run_dir} (events valid; no summary.json and no session_end: the run was killed "
            "or could not write its record; harness run --resume continues it)"
        )
    problems += check_summary(summary_path)
    try:
        summary = orjson.loads(summary_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return problems, ""
    if not isinstance(summary, dict):
        return problems, ""
    code = summary.get("exit_code")
    same = [e for e in ends if e.get("session_id") == summary.get("session_id")]
    if same:
        logged = (same[-1].get("data") or {}).get("exit_code")
        if logged != code and not write_errors and code != 3:
            problems.append(
                f"{summary_path}: exit_code {code} disagrees with the session_end event "
                f"(exit {logged}) in {events_path}"
            )
    what = f"{run_dir} (events and summary valid; exit {code}, {summary.get('status')}"
    broken = [
        p.get("message", "")
        for p in summary.get("plugin_errors", [])
        if isinstance(p, dict) and str(p.get("plugin", "")).startswith("jsonl")
    ]
    if broken:
        what += f"; the event log stops early: {broken[0]}"
    elif write_errors:
        what += f"; {write_errors[-1]}"
    elif code == 3 and summary.get("plugin_errors"):
        first = summary["plugin_errors"][0]
        what += f"; {first.get('message', '') if isinstance(first, dict) else first}"
    return problems, what + ")"


def _only_errors_after(events: list[dict[str, Any]]) -> bool:
    """The log's last ``session_end`` is followed only by teardown ``error`` events."""
    for event in reversed(events):
        if event.get("type") == "session_end":
            return True
        if event.get("type") != "error":
            return False
    return False


def _is_write_error(event: dict[str, Any]) -> bool:
    data = event.get("data")
    return event.get("type") == "error" and isinstance(data, dict) and bool(data.get("write_error"))
