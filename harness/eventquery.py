"""``harness events``: select, format and tail the events of a run's ``events.jsonl``.

Selection (all given conditions must hold):

- ``types``: the event's type starts with one of them (``data.`` selects ``data.issue``,
  ``phase_`` both phase events, ``heartbeat`` the heartbeats);
- ``phases``: the event's phase is one of them;
- ``level``: the event's level is at least this one (``debug < info < warning < error``);
- ``since_seq``: the event's ``seq`` is greater than this.

:func:`follow` tails a log that is still being written: it yields each whole line as it
arrives, across a ``--resume`` (a new session appends to the same file), and stops once the
log ends with ``session_end`` and nothing more arrives within ``grace`` seconds, or when
the process that writes the log is gone and nothing arrives within ``grace`` seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["LEVELS", "EventFilter", "follow", "format_text", "read_events"]

LEVELS = ("debug", "info", "warning", "error")
_RANK = {name: i for i, name in enumerate(LEVELS)}


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to show (see the module doc)."""

    types: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    level: str | None = None
    since_seq: int = 0

    def __call__(self, event: dict[str, Any]) -> bool:
        seq = event.get("seq")
        if isinstance(seq, int) and seq <= self.since_seq:
            return False
        if self.types and not str(event.get("type", "")).startswith(self.types):
            return False
        if self.phases and event.get("phase") not in self.phases:
            return False
        return self.level is None or at_least(event, self.level)


def at_least(event: dict[str, Any], level: str) -> bool:
    """Whether the event's level is ``level`` or above (unknown levels rank lowest)."""
    return _RANK.get(str(event.get("level")), -1) >= _RANK[level]


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Every whole event of a log, in order (unparsable and torn lines are skipped)."""
    with path.open("rb") as fh:
        for line in fh:
            if line.endswith(b"\n") and (event := _parse(line)) is not None:
                yield event


def _writer_alive(event: dict[str, Any]) -> bool:
    pid = (event.get("data") or {}).get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def follow(
    path: Path,
    *,
    grace: float = 2.0,
    poll: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[dict[str, Any]]:
    """Yield the events of ``path`` as they are written (see the module doc for when it stops).

    Waits for the file to appear. Ctrl-C ends it (the caller handles ``KeyboardInterrupt``).
    """
    offset = 0
    buffer = b""
    ended = False  # the last event seen is session_end
    writer: dict[str, Any] | None = None  # the last session_start
    quiet_since = clock()
    while True:
        chunk = b""
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            pass
        if chunk:
            offset += len(chunk)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event = _parse(line)
                if event is None:
                    continue
                if event.get("type") == "session_start":
                    writer = event
                ended = event.get("type") == "session_end"
                quiet_since = clock()
                yield event
            continue
        quiet = clock() - quiet_since
        if quiet >= grace and (ended or (writer is not None and not _writer_alive(writer))):
            return
        time.sleep(poll)


def _cell(value: Any, width: int) -> str:
    text = "-" if value is None else str(value)
    return text.ljust(width)


def format_text(event: dict[str, Any]) -> str:
    """One aligned line: seq, time, level, type, phase, message and metrics."""
    metrics = event.get("metrics") or {}
    extra = " ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )
    return (
        f"{event.get('seq', '')!s:>6}  {_cell(event.get('timestamp'), 25)}"
        f"{_cell(event.get('level'), 8)}{_cell(event.get('type'), 16)} "
        f"{_cell(event.get('phase'), 10)} {event.get('message', '')}"
        + (f"  {extra}" if extra else "")
    ).rstrip()
