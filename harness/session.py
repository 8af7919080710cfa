"""The session: one execution of a run (a resumed run has several sessions)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.artifacts import Artifacts
from harness.emitter import Emitter, PluginFault
from harness.redact import Redactor

if TYPE_CHECKING:
    import pluggy

    from harness.config import Config
    from harness.events import Event, Level
    from harness.interrupts import Interrupts
    from harness.outcomes import PhaseStatus

__all__ = ["NO_SLEEP_ENV", "PhaseReport", "Session", "Waiter"]

#: The testing switch: retry waits are recorded but not slept.
NO_SLEEP_ENV = "HARNESS_NO_SLEEP"


class Waiter:
    """Sleeps for retries and ``ctx.sleep``; interruptible, and a no-op under the testing switch."""

    def __init__(self, *, no_sleep: bool | None = None) -> None:
        self.no_sleep = bool(os.environ.get(NO_SLEEP_ENV)) if no_sleep is None else no_sleep

    def sleep(self, seconds: float) -> None:
        if self.no_sleep or seconds <= 0:
            return
        time.sleep(seconds)  # SIGINT/SIGTERM/the phase timer raise out of it at once


@dataclass(slots=True)
class PhaseReport:
    """The outcome of one phase in this run (a row of the summary's ``phases``)."""

    name: str
    plugin: str
    status: PhaseStatus = "skipped"
    attempts: int = 0
    duration_s: float = 0.0
    error: str | None = None
    message: str = ""
    metrics: dict[str, float | int] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    started: str | None = None
    resumed: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plugin": self.plugin,
            "status": self.status,
            "attempts": self.attempts,
            "duration_s": round(self.duration_s, 6),
            "error": self.error,
            "message": self.message,
            "metrics": self.metrics,
            "history": self.history,
            "started": self.started,
            "resumed": self.resumed,
        }


class Session:
    """Handed to the session hooks and available as ``ctx.session``.

    :ivar run_id: the run's id (kept across ``--resume``).
    :ivar session_id: this execution's id (new on every resume).
    :ivar run_dir: the run directory.
    :ivar config: the validated :class:`~harness.Config`.
    :ivar dry_run: ``--dry-run`` or ``[harness] dry_run``.
    :ivar artifacts: values handed between phases.
    :ivar reports: one :class:`PhaseReport` per selected phase, in order.
    """

    def __init__(
        self,
        *,
        config: Config,
        pluginmanager: pluggy.PluginManager,
        run_id: str,
        session_id: str,
        run_dir: Path,
        dry_run: bool,
        interrupts: Interrupts,
        plugin_types: Mapping[str, tuple[str, Mapping[str, Any]]],
        first_seq: int = 1,
        waiter: Waiter | None = None,
        disabled: frozenset[str] = frozenset(),
        verbosity: int = 0,
        previous_sessions: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.pluginmanager = pluginmanager
        self.run_id = run_id
        self.session_id = session_id
        self.run_dir = run_dir
        self.dry_run = dry_run
        self.interrupts = interrupts
        self.artifacts = Artifacts()
        self.redactor = Redactor()
        self.waiter = waiter or Waiter()
        self.reports: list[PhaseReport] = []
        self.retries: list[dict[str, Any]] = []
        self.faults: list[PluginFault] = []
        self.started = time.time()
        self.disabled = disabled
        self.verbosity = verbosity
        self.sessions = (*previous_sessions, session_id)
        self.internal_error: str | None = None
        self.emitter = Emitter(
            run_id=run_id,
            session_id=session_id,
            hook=pluginmanager.hook,
            redactor=self.redactor,
            interrupts=interrupts,
            plugin_types=plugin_types,
            first_seq=first_seq,
            on_fault=self.faults.append,
        )

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pluginmanager.hook

    def emit(
        self,
        type: str,
        message: str = "",
        *,
        phase: str | None = None,
        level: Level = "info",
        data: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float | int] | None = None,
        plugin: str = "harness",
    ) -> Event | None:
        """Emit an event of the run (see :meth:`harness.PhaseContext.emit`)."""
        return self.emitter.emit(
            type, message, phase=phase, level=level, data=data, metrics=metrics, plugin=plugin
        )

    def fault(
        self, plugin: str, where: str, exc: BaseException | str, phase: str | None = None
    ) -> None:
        """Report a plugin that raised outside a phase (heartbeat, summarize...)."""
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        message = f"plugin {plugin!r} failed in {where}: {text}"
        self.faults.append(PluginFault(plugin, where, self.redactor.redact(message)))
        self.emit(
            "error", message, phase=phase, level="error", data={"plugin": plugin, "hook": where}
        )

    def checkpoint(self, phase: str | None) -> None:
        """Record progress durably: ``checkpoint`` event, fsynced sinks, ``state.json``."""
        from harness.rundir import STATE_FILE

        done = [r.name for r in self.reports if r.status == "passed"]
        with self.interrupts.critical():
            self.emit(
                "checkpoint",
                f"checkpoint after {phase}" if phase else "checkpoint",
                phase=phase,
                level="debug",
                data={"phases_passed": done, "state_file": STATE_FILE},
            )
            self.emitter.flush(durable=True)
            self.save_state()

    def save_state(self) -> None:
        """Write ``state.json`` atomically: what ``--resume`` needs."""
        from harness.rundir import STATE_FILE, write_json

        done = [r.name for r in self.reports if r.status == "passed"]
        with self.interrupts.critical():
            write_json(
                self.run_dir / STATE_FILE,
                {
                    "v": 1,
                    "run_id": self.run_id,
                    "sessions": list(self.sessions),
                    "config_hash": self.config.hash,
                    "phases": {r.name: r.status for r in self.reports},
                    "passed": done,
                    "last_seq": self.emitter.last_seq,
                },
            )

    def report(self, name: str) -> PhaseReport | None:
        return next((r for r in self.reports if r.name == name), None)
