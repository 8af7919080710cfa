"""The core's state of one session of a run; plugins see it through :class:`~harness.Session`."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.artifacts import Artifacts
from harness.emitter import Emitter
from harness.redact import Redactor
from harness.rundir import STATE_FILE, atomic_write, describe_write_error, write_json
from harness.session import PhaseReport, PluginFault, Session

if TYPE_CHECKING:
    import pluggy

    from harness.config import Config
    from harness.events import Event, Level
    from harness.interrupts import Interrupts

__all__ = ["NO_SLEEP_ENV", "RunState", "Waiter"]

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


class RunState:
    """Everything the core keeps for one session: emitter, redactor, reports, faults.

    Core modules pass it around; hooks get :attr:`session`, the small public view.
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
        redactor: Redactor,
        plugin_types: Mapping[str, tuple[str, Mapping[str, Any]]],
        first_seq: int = 1,
        waiter: Waiter | None = None,
        disabled: frozenset[str] = frozenset(),
        verbosity: int = 0,
        previous_sessions: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.pm = pluginmanager
        self.run_id = run_id
        self.session_id = session_id
        self.run_dir = run_dir
        self.dry_run = dry_run
        self.interrupts = interrupts
        self.artifacts = Artifacts()
        self.redactor = redactor
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
            pm=pluginmanager,
            redactor=redactor,
            interrupts=interrupts,
            plugin_types=plugin_types,
            first_seq=first_seq,
            on_fault=self.faults.append,
        )
        self.session = Session(self)

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
        self,
        plugin: str,
        where: str,
        exc: BaseException | str,
        phase: str | None = None,
        traceback: Mapping[str, Any] | None = None,
    ) -> None:
        """Report a plugin that raised outside a phase (heartbeat, summarize...)."""
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        message = self.redactor.redact(f"plugin {plugin!r} failed in {where}: {text}")
        tb = self.redactor.redact_obj(dict(traceback)) if traceback else None
        self.faults.append(PluginFault(plugin, where, message, tb))
        data: dict[str, Any] = {"plugin": plugin, "hook": where}
        if tb:
            data["traceback"] = tb
        self.emit("error", message, phase=phase, level="error", data=data)

    def write_file(self, path: str | Path, data: str | bytes) -> Path:
        """Write a file atomically, secrets masked; relative paths are under the run dir."""
        target = Path(path)
        if not target.is_absolute():
            target = self.run_dir / target
        if isinstance(data, str):
            payload = self.redactor.redact(data).encode()
        else:
            try:
                payload = self.redactor.redact(data.decode("utf-8")).encode()
            except UnicodeDecodeError:  # binary: cannot be masked, so it must hold no secret
                if self.redactor.found_in(data):
                    raise ValueError(f"{target}: binary data holds a secret; not written") from None
                payload = data
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, payload)
        return target

    def checkpoint(self, phase: str | None) -> None:
        """Record progress durably: ``checkpoint`` event, fsynced sinks, ``state.json``."""
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

    def save_state(self) -> bool:
        """Write ``state.json`` atomically: what ``--resume`` needs.

        A write error (disk full, file too large, I/O error) leaves the previous
        ``state.json`` in place and does not stop the run: it is reported by
        :meth:`write_failed` (the run ends with exit code 3). ``False`` then.
        """
        done = [r.name for r in self.reports if r.status == "passed"]
        with self.interrupts.critical():
            try:
                write_json(
                    self.run_dir / STATE_FILE,
                    self.redactor.redact_obj(
                        {
                            "v": 1,
                            "run_id": self.run_id,
                            "sessions": list(self.sessions),
                            "config_hash": self.config.hash,
                            "phases": {r.name: r.status for r in self.reports},
                            "passed": done,
                            "last_seq": self.emitter.last_seq,
                        }
                    ),
                )
            except OSError as exc:
                self.write_failed(exc)
                return False
        return True

    def write_failed(self, exc: OSError) -> None:
        """Record a failed write of a run file: one ``error`` event naming it, exit code 3."""
        line = self.redactor.redact(describe_write_error(exc))
        if self.internal_error is None:
            self.internal_error = line
        data = {
            "file": self.redactor.redact(str(exc.filename or "")),
            "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            "write_error": True,
        }
        with contextlib.suppress(Exception):  # the event log may be the file that failed
            self.emit("error", line, level="error", data=data)

    def report(self, name: str) -> PhaseReport | None:
        return next((r for r in self.reports if r.name == name), None)
