"""The session as plugins see it: one execution of a run (a resumed run has several)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    from harness.artifacts import Artifacts
    from harness.config import Config
    from harness.events import Event, Level
    from harness.outcomes import PhaseStatus
    from harness.runstate import RunState

__all__ = ["PhaseReport", "PluginFault", "Session"]


@dataclass(frozen=True, slots=True)
class PluginFault:
    """A plugin misbehaved without failing a phase (``summary.json`` ``plugin_errors``).

    :param plugin: the plugin's name.
    :param where: the hook (or ``"event"``, ``"sink"``) where it happened.
    :param message: one line, secrets masked.
    :param traceback: for an unexpected exception, where it was raised
        (``type``, ``message``, ``frames``), secrets masked; else ``None``.
    """

    plugin: str
    where: str
    message: str
    traceback: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"plugin": self.plugin, "where": self.where, "message": self.message}
        if self.traceback:
            out["traceback"] = dict(self.traceback)
        return out


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
    traceback: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
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
        if self.traceback:
            out["traceback"] = self.traceback
        return out


class Session:
    """Handed to the session and sink hooks, and available as ``ctx.session``.

    The whole surface a plugin may rely on:

    * ``run_id`` (kept across ``--resume``), ``session_id`` (new on each resume),
      ``run_dir``, ``config`` (the validated :class:`~harness.Config`),
      ``dry_run``, ``verbosity`` (``-v`` count minus ``-q`` count), ``started``;
    * ``artifacts``: values handed between phases;
    * ``reports``: one :class:`PhaseReport` per selected phase, in order;
    * ``retries``: the recovery record (one mapping per retried or abandoned attempt);
    * ``plugin_errors``: the :class:`PluginFault`\\ s so far;
    * ``pluginmanager``: the run's pluggy manager (register per-session objects);
    * :meth:`emit`, :meth:`add_secret`, :meth:`redact`, :meth:`write_file`.
    """

    __slots__ = ("_state",)

    def __init__(self, state: RunState) -> None:
        self._state = state

    @property
    def run_id(self) -> str:
        return self._state.run_id

    @property
    def session_id(self) -> str:
        return self._state.session_id

    @property
    def run_dir(self) -> Path:
        return self._state.run_dir

    @property
    def config(self) -> Config:
        return self._state.config

    @property
    def dry_run(self) -> bool:
        return self._state.dry_run

    @property
    def verbosity(self) -> int:
        return self._state.verbosity

    @property
    def started(self) -> float:
        """Wall-clock start of this session (``time.time()``)."""
        return self._state.started

    @property
    def artifacts(self) -> Artifacts:
        return self._state.artifacts

    @property
    def reports(self) -> tuple[PhaseReport, ...]:
        return tuple(self._state.reports)

    @property
    def retries(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self._state.retries)

    @property
    def plugin_errors(self) -> tuple[PluginFault, ...]:
        """Plugin faults, and a harness internal error last (plugin ``"harness"``)."""
        faults = tuple(self._state.faults)
        internal = self._state.internal_error
        if internal and not any(f.message == internal for f in faults):
            faults += (PluginFault("harness", "internal", internal),)
        return faults

    @property
    def pluginmanager(self) -> pluggy.PluginManager:
        return self._state.pm

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
        return self._state.emit(
            type, message, phase=phase, level=level, data=data, metrics=metrics, plugin=plugin
        )

    def add_secret(self, value: str) -> None:
        """Never let ``value`` leave the process (nor its JSON, URL or base64 forms)."""
        self._state.redactor.add(value)

    def redact(self, text: str) -> str:
        """``text`` with every known secret, its encodings and URL credentials masked."""
        return self._state.redactor.redact(text)

    def write_file(self, path: str | Path, data: str | bytes) -> Path:
        """Write a file atomically (temporary file, fsync, rename), secrets masked.

        :param path: relative paths are under the run directory; parent folders
            are created.
        :param data: text (or UTF-8 bytes) is masked; other bytes are written
            as they are, and refused with :class:`ValueError` if they hold a
            known secret.
        :returns: the path written.
        """
        return self._state.write_file(path, data)
