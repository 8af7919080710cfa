"""The phase context: everything a phase plugin may use while it runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from harness.artifacts import Artifacts
    from harness.config import Phase
    from harness.events import Event, Level
    from harness.runstate import RunState
    from harness.session import Session

__all__ = ["PhaseContext"]

T = TypeVar("T")


class PhaseContext:
    """Passed as ``ctx`` to the phase hooks; one per phase per session.

    Attributes a plugin reads:

    * ``phase``: the :class:`~harness.Phase` (name, plugin, timeout, settings);
    * ``session``: the :class:`~harness.Session` (run ids, config, secrets, files);
    * ``run_dir``: the run directory (write artifacts files under it);
    * ``dry_run``: ``True`` under ``--dry-run``: open no connection, need no secret;
    * ``artifacts``: values handed between phases (see :class:`~harness.Artifacts`);
    * ``attempt``: 1 on the first attempt, 2 on the first retry, ...;
    * ``metrics``: live figures of the phase; every heartbeat carries them.
    """

    def __init__(self, state: RunState, phase: Phase) -> None:
        self._state = state
        self.phase = phase
        self.attempt = 1
        self.started = time.monotonic()
        self.metrics: dict[str, float | int] = {}

    @property
    def session(self) -> Session:
        return self._state.session

    @property
    def run_dir(self) -> Path:
        return self._state.run_dir

    @property
    def dry_run(self) -> bool:
        return self._state.dry_run

    @property
    def artifacts(self) -> Artifacts:
        return self._state.artifacts

    def deadline_in(self) -> float | None:
        """Seconds left before the phase timeout (``None``: no timeout)."""
        if self.phase.timeout is None:
            return None
        return self.phase.timeout - (time.monotonic() - self.started)

    def settings(self, plugin: str) -> Mapping[str, Any]:
        """The effective settings of ``plugin`` for this phase.

        ``[plugins.<plugin>]`` (schema defaults applied) updated by the per-phase
        override table ``[phases.<phase>.<plugin>]``.
        """
        return self._state.config.plugin_settings(plugin, phase=self.phase.name)

    def resolve_path(self, path: str | Path) -> Path:
        """A path from the configuration, relative to the config file's folder."""
        return self._state.config.resolve_path(path)

    def emit(
        self,
        type: str,
        message: str = "",
        *,
        level: Level = "info",
        data: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float | int] | None = None,
    ) -> Event | None:
        """Emit an event of this phase, made by this phase's plugin.

        ``type`` is namespaced for plugin events (``"data.issue"``) and must be
        declared through ``event_schemas``. Returns the event, or ``None`` when it
        was invalid (an ``error`` event naming the plugin was emitted instead).
        """
        return self._state.emit(
            type,
            message,
            phase=self.phase.name,
            level=level,
            data=data,
            metrics=metrics,
            plugin=self.phase.plugin,
        )

    def add_secret(self, value: str) -> None:
        """Never let ``value`` leave the process (nor its JSON, URL or base64 forms)."""
        self._state.redactor.add(value)

    def redact(self, text: str) -> str:
        """``text`` with every known secret, its encodings and URL credentials masked."""
        return self._state.redactor.redact(text)

    def write_file(self, path: str | Path, data: str | bytes) -> Path:
        """Write a file of this phase, atomically and with secrets masked.

        See :meth:`harness.Session.write_file`; relative paths are under the run
        directory.
        """
        return self._state.write_file(path, data)

    def sleep(self, seconds: float) -> None:
        """Wait; interruptible by SIGINT/SIGTERM and the phase timeout.

        Under the testing switch (``HARNESS_NO_SLEEP=1``) it returns at once.
        """
        self._state.waiter.sleep(seconds)

    def retry(self, fn: Callable[..., T], *args: Any, name: str, **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)`` under the run's error policy.

        Each failure is handed to ``on_error`` (with ``call.operation = name``);
        on :class:`~harness.Retry` a ``retry`` event is emitted, the wait is
        taken, and ``fn`` is called again. On :class:`~harness.GiveUp` the last
        exception is raised from here. Events and the summary's recovery record
        are the same as for phase-level retries.
        """
        from harness.attempts import run_attempts

        call = run_attempts(self._state, self, lambda: fn(*args, **kwargs), operation=name)
        if call.excinfo is not None:
            raise call.excinfo
        result: T = call.result
        return result
