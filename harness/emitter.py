"""The one place events are made: ``seq``, timestamp, validation, fan-out to sinks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.dispatch import Control, HookResult, call_isolated, control_for
from harness.events import CORE_EVENT_TYPES, Event, Level, utc_timestamp
from harness.session import PluginFault
from harness.validation import describe_error, first_error, load_schema

if TYPE_CHECKING:
    import pluggy

    from harness.interrupts import Interrupts
    from harness.redact import Redactor

__all__ = ["Emitter"]

CORE = "harness"


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

    Faults (see :mod:`harness.deadlines`): signals are held from the moment a
    ``seq`` is assigned until the essential sink has the event; other sinks run
    with signals let through. A signal or the phase timer raised inside a sink
    still hands the event to the essential sinks it has not reached (no ``seq``
    gap in ``events.jsonl``). A thread stuck in a sink past its deadline keeps
    the lock no longer: the next thread that needs it takes over, switches the
    stuck sink off and delivers the event to the sinks it had not reached.
    """

    def __init__(
        self,
        *,
        run_id: str,
        session_id: str,
        pm: pluggy.PluginManager,
        redactor: Redactor,
        interrupts: Interrupts,
        plugin_types: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
        first_seq: int = 1,
        on_fault: Callable[[PluginFault], None] = lambda fault: None,
    ) -> None:
        self.run_id = run_id
        self.session_id = session_id
        self._pm = pm
        self._redactor = redactor
        self._interrupts = interrupts
        self._core_valid = _compile(load_schema("event"))
        self._types: dict[str, tuple[str, Callable[[Any], bool], Mapping[str, Any]]] = {
            name: (plugin, _compile(schema), schema)
            for name, (plugin, schema) in (plugin_types or {}).items()
        }
        self._next = first_seq
        self._lock = threading.RLock()
        self._swap = threading.Lock()
        self._delivering: tuple[Event, Control] | None = None
        self._orphan: tuple[Event, Control] | None = None
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
        lock = self._acquire()
        try:
            with self._interrupts.critical():
                return self._emit(type, message, phase, level, data, metrics, plugin)
        finally:
            lock.release()

    def _emit(
        self,
        type: str,
        message: str,
        phase: str | None,
        level: Level,
        data: Mapping[str, Any] | None,
        metrics: Mapping[str, float | int] | None,
        plugin: str,
    ) -> Event | None:
        """The body of :meth:`emit`: the lock is held and signals are held."""
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
        message = self._redactor.redact(
            f"plugin {plugin!r} emitted an invalid {type!r} event: {problem}"
        )
        self._on_fault(PluginFault(plugin, "event", message))
        event = Event(
            seq=self._next,
            timestamp=utc_timestamp(time.time()),
            run_id=self.run_id,
            session_id=self.session_id,
            type="error",
            phase=phase,
            level="error",
            message=message,
            data={"plugin": plugin, "event_type": type, "error": self._redactor.redact(problem)},
        )
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        self._next += 1
        self.count += 1
        self.last_seq = event.seq
        self._send(event, self._broken)

    def _send(self, event: Event, skip: set[str]) -> None:
        control = control_for(self._pm, "sink_event")
        if control is None:  # not a watched run (an emitter used on its own)
            results = call_isolated(self._pm, "sink_event", skip=skip, values=False, event=event)
            self._switch_off([r for r in results if r.error is not None], "failed")
            return
        previous, self._delivering = self._delivering, (event, control)
        try:
            results = call_isolated(
                self._pm, "sink_event", skip=skip, values=False, control=control, event=event
            )
        except BaseException:
            # a signal or the phase timer inside a sink: the essential sinks still get it
            control.cancelled = True
            self._complete(event, control, essential_only=True)
            raise
        finally:
            if self._delivering is not None and self._delivering[1] is control:
                self._delivering = previous
        if control.cancelled:  # abandoned past its deadline: another thread completed it
            return
        self._switch_off([r for r in results if r.error is not None], "failed")

    def _complete(self, event: Event, control: Control, *, essential_only: bool) -> None:
        """Hand ``event`` to the sinks an interrupted or abandoned delivery did not reach."""
        with self._interrupts.critical():
            reached = {*control.entered, *self._broken, *control.watch.watchdog.timed_out()}
            skip = reached
            if essential_only:
                skip = reached | {
                    impl.plugin_name
                    for impl in self._pm.hook.sink_event.get_hookimpls()
                    if not control.watch.essential_plugin(impl.plugin_name)
                }
            if {impl.plugin_name for impl in self._pm.hook.sink_event.get_hookimpls()} <= skip:
                return
            results = call_isolated(self._pm, "sink_event", skip=skip, values=False, event=event)
            self._switch_off([r for r in results if r.error is not None], "failed")

    # ------------------------------------------------------------------
    def _acquire(self) -> threading.RLock:
        """The delivery lock; taken over from a thread stuck in a sink past its deadline."""
        while True:
            lock = self._lock
            if lock.acquire(timeout=0.2):
                if lock is not self._lock:  # taken over meanwhile: use the new one
                    lock.release()
                    continue
                orphan, self._orphan = self._orphan, None
                if orphan is not None:
                    try:
                        self._adopt(*orphan)
                    except BaseException:
                        lock.release()
                        raise
                return lock
            self._take_over(lock)

    def _take_over(self, lock: threading.RLock) -> None:
        """If the lock's holder is stuck in a sink past its deadline, replace the lock."""
        with self._swap:
            delivering = self._delivering
            if lock is not self._lock or delivering is None:
                return
            control = delivering[1]
            entry = control.entry
            if entry is None or entry.expired_now() is None:
                return
            control.cancelled = True  # the stuck thread calls no further sink
            self._orphan = delivering
            self._delivering = None
            self._lock = threading.RLock()

    def _adopt(self, event: Event, control: Control) -> None:
        """Switch the stuck sink off and deliver its event to the sinks it did not reach."""
        entry = control.entry
        record = entry.expired if entry is not None else None
        if record is not None and not record.reported:
            record.reported = True
            self._switch_off([HookResult(record.plugin, error=record.error())], "did not return")
        with self._interrupts.critical():
            self._complete(event, control, essential_only=False)

    def _switch_off(self, failed: list[HookResult], what: str) -> None:
        """Report each failed sink once and call it no more; the run will exit 3."""
        for result in failed:
            self._broken.add(result.plugin)
        for result in failed:
            error = result.error
            message = self._redactor.redact(
                f"sink {result.plugin!r} {what} and is switched off: "
                f"{type(error).__name__}: {error}"
            )
            self._on_fault(PluginFault(result.plugin, "sink", message))
            self.emit("error", message, level="error", data={"plugin": result.plugin, "sink": True})

    def broken_sinks(self) -> set[str]:
        return set(self._broken)

    def flush(self, *, durable: bool) -> None:
        """Ask every sink to write out its buffer (``durable``: fsync too)."""
        lock = self._acquire()
        try:
            with self._interrupts.critical():
                results = call_isolated(
                    self._pm, "sink_flush", skip=self._broken, values=False, durable=durable
                )
                self._switch_off([r for r in results if r.error is not None], "failed to flush")
        finally:
            lock.release()
