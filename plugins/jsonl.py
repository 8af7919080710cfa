"""The ``jsonl`` plugin: every event as one line of ``events.jsonl``.

Lines are buffered and written whole (a flush is one ``write`` of whole lines),
at least every ``flush_interval`` seconds, when ``buffer_bytes`` fill up, and
with ``fsync`` at each checkpoint and at the end. A kill therefore loses at
most the last ``flush_interval`` seconds of events and never leaves half a
line behind.

Settings (``[plugins.jsonl]``): ``path`` (relative to the run directory),
``flush_interval`` (seconds), ``buffer_bytes``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Event, Session

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "minLength": 1, "default": "events.jsonl"},
        "flush_interval": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        "buffer_bytes": {"type": "integer", "minimum": 0, "default": 65536},
    },
}


class JsonlSink:
    """Appends events to one file; registered per session as ``jsonl.sink``."""

    def __init__(self, path: Path, flush_interval: float, buffer_bytes: int) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._buffer: list[bytes] = []
        self._size = 0
        self._limit = buffer_bytes
        self._interval = flush_interval
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._error: OSError | None = None
        self._flusher = threading.Thread(target=self._tick, name="harness-jsonl-flush", daemon=True)
        self._flusher.start()

    def _tick(self) -> None:
        while not self._closed.wait(self._interval):
            try:
                self._write_out()
            except OSError as exc:
                self._error = exc  # raised by the next sink_event/sink_flush: it is reported
                return

    def _write_out(self) -> None:
        with self._lock:
            if self._error is not None:
                raise self._error
            if not self._buffer:
                return
            data = b"".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            self._last = time.monotonic()
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    @hookimpl
    def sink_event(self, event: Event) -> None:
        if self._error is not None:  # the background flush failed: report it now
            raise self._error
        line = event.to_json() + b"\n"
        with self._lock:
            self._buffer.append(line)
            self._size += len(line)
            due = self._size >= self._limit or time.monotonic() - self._last >= self._interval
        if due:
            self._write_out()

    @hookimpl
    def sink_flush(self, durable: bool) -> None:
        self._write_out()
        if durable:
            os.fsync(self._fd)

    @hookimpl
    def session_finish(self, session: Session) -> None:
        self._closed.set()
        try:
            self._write_out()
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            session.pluginmanager.unregister(self)


@hookimpl
def config_schema() -> Mapping[str, Any]:
    return SCHEMA


@hookimpl
def session_start(session: Session) -> None:
    settings = session.config.plugin_settings("jsonl")
    path = Path(settings["path"])
    sink = JsonlSink(
        path if path.is_absolute() else session.run_dir / path,
        float(settings["flush_interval"]),
        int(settings["buffer_bytes"]),
    )
    session.pluginmanager.register(sink, name="jsonl.sink")
