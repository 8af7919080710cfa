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
        events, summary = path / "events.jsonl", path / "summary.json"
        if summary.exists():
            return check_events(events) + check_summary(
                summary
            ), f"{path} (events and summary valid)"
        what = f"{path} (events valid; no summary.json: the run did not finish)"
        return check_events(events), what
    if not path.exists():
        return [f"{path}: no such file"], ""
    if path.suffix == ".json":
        return check_summary(path), f"{path} (summary valid)"
    problems = check_events(path)
    count = path.read_bytes().count(b"\n") if not problems else 0
    return problems, f"{path} ({count} events valid)"
