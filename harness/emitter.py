"""The one place events are made: ``seq``, timestamp, validation, fan-out to sinks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.events import CORE_EVENT_TYPES, Event, Level, utc_timestamp
from harness.hookcall import call_each
from harness.validation import describe_error, first_error, load_schema

if TYPE_CHECKING:
    import pluggy

    from harness.interrupts import Interrupts
    from harness.redact import Redactor

__all__ = ["Emitter", "PluginFault"]

CORE = "harness"


class PluginFault:
    """A plugin misbehaved without failing a phase (recorded in the summary)."""

    __slots__ = ("message", "plugin", "where")

    def __init__(self, plugin: str, where: str, message: str) -> None:
        self.plugin, self.where, self.message = plugin, where, message

    def to_dict(self) -> dict[str, str]:
        return {"plugin": self.plugin, "where": self.where, "message": self.message}


def _compile(schema: Mapping[str, Any]) -> Callable[[Any], bool]:
    """The fastest validity check available for ``schema`` (jsonschema-rs when installed)."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - jsonschema-rs is a dependency
        import jsonschema

        checker: Callable[[Any], bool] = jsonschema.Draft202012Validator(dict(schema)).is_valid
        return checker
    validator = jsonschema_rs.Draft202012Validator(dict(schema))
    is_valid: Callable[[Any], bool] = validator.is_valid
    return is_valid


class Emitter:
    """Builds, validates and delivers every event of a run.

    Thread-safe: ``seq`` is assigned, the event validated and handed to each sink
    under one lock, so sinks see events in ``seq`` order and never concurrently.
    An invalid event (bad core fields, undeclared plugin type, ``data`` not
    matching the plugin's schema, a non-finite number) is replaced by an
    ``error`` event naming the plugin; nothing is dropped silently.
    """

    def __init__(
        self,
        *,
        run_id: str,
        session_id: str,
        hook: pluggy.HookRelay,
        redactor: Redactor,
        interrupts: Interrupts,
        plugin_types: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
        first_seq: int = 1,
        on_fault: Callable[[PluginFault], None] = lambda fault: None,
    ) -> None:
        self.run_id = run_id
        self.session_id = session_id
        self._hook = hook
        self._redactor = redactor
        self._interrupts = interrupts
        self._core_valid = _compile(load_schema("event"))
        self._types: dict[str, tuple[str, Callable[[Any], bool], Mapping[str, Any]]] = {
            name: (plugin, _compile(schema), schema)
            for name, (plugin, schema) in (plugin_types or {}).items()
        }
        self._next = first_seq
        self._lock = threading.RLock()
        self._broken: set[str] = set()
        self._on_fault = on_fault
        self.count = 0
        self.last_seq = first_seq - 1

    # ------------------------------------------------------------------
    def emit(
        self,
        type: str,
        message: str = "",
        *,
        phase: str | None = None,
        level: Level = "info",
        data: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float | int] | None = None,
        plugin: str = CORE,
    ) -> Event | None:
        """Make, validate and deliver one event; ``None`` if it was invalid."""
        with self._interrupts.critical(), self._lock:
            event: Event | None = None
            problem = self._check_type(type, plugin)
            if problem is None:
                event, problem = self._make(type, phase, level, message, metrics, data)
            if event is not None and self._redactor.found_in(event.to_json()):
                # rare: a secret is in it; rebuild from redacted text (the fast path only
                # searched the rendered line for the secrets' JSON forms)
                redact = self._redactor.redact
                event, problem = self._make(
                    type,
                    phase,
                    level,
                    redact(message),
                    {redact(str(k)): v for k, v in (metrics or {}).items()},
                    self._redactor.redact_obj(data) if data else data,
                )
            if problem is not None or event is None:
                self._invalid(plugin, type, phase, problem or "invalid")
                return None
            self._deliver(event)
            return event

    def _make(
        self,
        type: str,
        phase: str | None,
        level: Level,
        message: str,
        metrics: Mapping[str, float | int] | None,
        data: Mapping[str, Any] | None,
    ) -> tuple[Event | None, str | None]:
        """Build, validate and render an event: ``(event, None)`` or ``(None, problem)``."""
        try:
            event = Event.build(
                self._next,
                utc_timestamp(time.time()),
                self.run_id,
                self.session_id,
                type,
                phase,
                level,
                message,
                dict(metrics or {}),
                dict(data or {}),
            )
        except (ValueError, TypeError) as exc:
            return None, str(exc)
        problem = self._check_event(event)
        if problem is not None:
            return None, problem
        # rendered here, once: a value JSON cannot hold (a Path, a set) names its plugin
        # now instead of switching off the first sink that tries
        try:
            event.to_json()
        except TypeError as exc:
            return None, f"data: {exc}"
        return event, None

    # ------------------------------------------------------------------
    def _check_type(self, type: str, plugin: str) -> str | None:
        if type in CORE_EVENT_TYPES or type in self._types:
            return None
        return f"event type {type!r} is not declared (declare it in event_schemas)"

    def _check_event(self, event: Event) -> str | None:
        body = event.to_dict()
        if not self._core_valid(body):
            error = first_error(load_schema("event"), body)
            if error is not None:
                key, expected, given = describe_error(error)
                return f"{key or 'event'}: expected {expected}, got {given}"
        declared = self._types.get(event.type)
        if declared is not None and not declared[1](body["data"]):
            error = first_error(declared[2], body["data"])
            if error is not None:
                key, expected, given = describe_error(error, ["data"])
                return f"{key}: expected {expected}, got {given}"
        return None

    def _invalid(self, plugin: str, type: str, phase: str | None, problem: str) -> None:
        message = f"plugin {plugin!r} emitted an invalid {type!r} event: {problem}"
        self._on_fault(PluginFault(plugin, "event", message))
        event = Event(
            seq=self._next,
            timestamp=utc_timestamp(time.time()),
            run_id=self.run_id,
            session_id=self.session_id,
            type="error",
            phase=phase,
            level="error",
            message=self._redactor.redact(message),
            data={"plugin": plugin, "event_type": type, "error": self._redactor.redact(problem)},
        )
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        self._next += 1
        self.count += 1
        self.last_seq = event.seq
        failed: list[tuple[str, Exception]] = []
        for impl in self._hook.sink_event.get_hookimpls():
            name = impl.plugin_name
            if name in self._broken:
                continue
            try:
                impl.function(event) if impl.argnames else impl.function()
            except Exception as exc:
                self._broken.add(name)
                failed.append((name, exc))
        for plugin, error in failed:
            message = f"sink {plugin!r} failed and is switched off: {type(error).__name__}: {error}"
            self._on_fault(PluginFault(plugin, "sink", message))
            self.emit("error", message, level="error", data={"plugin": plugin, "sink": True})

    def broken_sinks(self) -> set[str]:
        return set(self._broken)

    def flush(self, *, durable: bool) -> None:
        """Ask every sink to write out its buffer (``durable``: fsync too)."""
        with self._interrupts.critical(), self._lock:
            failed = [
                r
                for r in call_each(self._hook.sink_flush, self._broken, durable=durable)
                if r.error is not None
            ]
            for result in failed:
                self._broken.add(result.plugin)
                error = result.error
                message = f"sink {result.plugin!r} failed to flush: {type(error).__name__}: {error}"
                self._on_fault(PluginFault(result.plugin, "sink", message))
                self.emit(
                    "error", message, level="error", data={"plugin": result.plugin, "sink": True}
                )
