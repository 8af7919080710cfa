"""The ``jsonl`` plugin: every event as one line of ``events.jsonl``.

Lines are buffered and written whole (a flush is one ``write`` of whole lines),
at least every ``flush_interval`` seconds, when ``buffer_bytes`` fill up, and
with ``fsync`` at each checkpoint and at the end. A kill therefore loses at
most the last ``flush_interval`` seconds of events and never leaves half a
line behind.

The plugin is *essential* (as pytest's essential plugins): ``-p no:jsonl`` and
``disable = ["jsonl"]`` are refused with exit 4, because ``--resume``,
``harness validate`` and :mod:`harness.testing` read the run's
``events.jsonl``. The core owns that name: the file is always
``<run_dir>/events.jsonl``. Another record of the events is another sink.

Settings (``[plugins.jsonl]``): ``flush_interval`` (seconds), ``buffer_bytes``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Event, Session

#: the run's event log, in the run directory (the name is part of the contract)
EVENTS_FILE = "events.jsonl"

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "flush_interval": {"type": "number", "minimum": 0.01, "maximum": 3600, "default": 1.0},
        "buffer_bytes": {"type": "integer", "minimum": 0, "maximum": 67108864, "default": 65536},
    },
}


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path``: a write error says which file (``... File too large: PATH``)."""
    if exc.errno is None or exc.filename:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(path))


class JsonlSink:
    """Appends events to one file; registered per session as ``jsonl.sink``."""

    def __init__(self, path: Path, flush_interval: float, buffer_bytes: int) -> None:
        self.path = path
        # O_NOFOLLOW: never append through a symbolic link planted in the run directory
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self._fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise _naming(exc, path) from None
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
            start = os.lseek(self._fd, 0, os.SEEK_END)
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError as exc:
                # a short write then an error (disk full, file too large): take the torn
                # tail back, so that the file ends with the last whole line
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
                raise _naming(exc, self.path) from None

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

    def _fsync(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise _naming(exc, self.path) from None

    @hookimpl
    def sink_flush(self, durable: bool) -> None:
        self._write_out()
        if durable:
            self._fsync()

    @hookimpl
    def session_finish(self, session: Session) -> None:
        self._closed.set()
        try:
            self._write_out()
            self._fsync()
        finally:
            os.close(self._fd)
            session.pluginmanager.unregister(self)


@hookimpl
def config_schema() -> Mapping[str, Any]:
    return SCHEMA


@hookimpl
def session_start(session: Session) -> None:
    settings = session.config.plugin_settings("jsonl")
    sink = JsonlSink(
        session.run_dir / EVENTS_FILE,
        float(settings["flush_interval"]),
        int(settings["buffer_bytes"]),
    )
    session.pluginmanager.register(sink, name="jsonl.sink")
