"""Hook specifications: the contract between the harness core and its plugins.

Every hook is called with keyword arguments. A plugin implements any subset of
them with :data:`harness.hookimpl` and may accept any subset of each hook's
parameters (pluggy passes only the ones named). Unknown hook names and
parameters are rejected when the plugin is registered.

Order of a run::

    add_hookspecs -> config_schema / phase_schema / event_schemas -> configure
    -> session_start -> [event: session_start]
       for each phase: phase_resume (already done on --resume)
                    or phase_start -> phase_run [-> on_error -> phase_run ...]
                       -> [event: phase_end] -> [event: checkpoint] -> sink_flush
       heartbeat (own thread, every heartbeat_interval while a phase runs)
    -> [event: session_end] -> summarize -> session_finish

Every event on the way reaches each ``sink_event`` implementation.

Hooks marked *isolated* are called once per implementation by the core: one
implementation raising is reported as an ``error`` event naming its plugin and
does not stop the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from harness.config import Config, Phase
    from harness.context import PhaseContext
    from harness.events import Event
    from harness.outcomes import CallInfo, GiveUp, PhaseResult, Retry
    from harness.session import Session

__all__ = ["hookimpl", "hookspec"]

PROJECT = "harness"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -------------------------------------------------------------------------
# Registration and configuration hooks
# -------------------------------------------------------------------------


@hookspec(historic=True)
def add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Register hook specs of your own so that other plugins can implement them.

    :param pluginmanager: the run's plugin manager; call
        ``pluginmanager.add_hookspecs(module_or_class)``.

    Historic: a plugin registered later is still called. Fires as each plugin is
    registered, before any other hook. (The built-in ``strategy`` plugin adds
    its ``strategy_functions`` hook this way, as pytest's ``pytest_addhooks``.)
    """


@hookspec
def config_schema() -> Mapping[str, Any] | None:
    """Return the JSON Schema (draft 2020-12) of this plugin's settings.

    The schema validates the ``[plugins.<name>]`` table, where ``<name>`` is the
    name the plugin is registered under, and every per-phase override table
    ``[phases.<phase>.<name>]``. Return ``None`` for a plugin without settings.

    *Isolated.* Fires once at start-up, before the configuration is validated;
    ``harness schema config`` shows the result.
    """


@hookspec
def phase_schema() -> Mapping[str, Any] | None:
    """Return the JSON Schema of the phase tables this plugin runs.

    The schema validates the keys of ``[phases.<phase>]`` other than the core
    ones (``plugin``, ``timeout``, ``description``, ``enabled``) and the per-phase
    override tables of other plugins, for every phase whose ``plugin`` is this
    plugin. Return ``None`` if the plugin runs no phases.

    *Isolated.* Fires once at start-up, with :hook:`config_schema`.
    """


@hookspec
def event_schemas() -> Mapping[str, Mapping[str, Any]] | None:
    """Return the event types this plugin emits, each with the schema of its ``data``.

    Keys are namespaced type names (``"data.issue"``); values are JSON Schemas
    (draft 2020-12) for the event's ``data`` object. An event of an unknown
    namespaced type, or whose ``data`` does not validate, never reaches a sink:
    an ``error`` event naming the plugin is emitted instead.

    *Isolated.* Fires once at start-up.
    """


@hookspec
def configure(config: Config, pluginmanager: pluggy.PluginManager) -> None:
    """Read your settings, check what a schema cannot, and build your state.

    :param config: the schema-valid, frozen configuration;
        ``config.plugin_settings(name)`` returns a plugin's table with its
        schema's defaults applied, ``config.phases`` the phases.
    :param pluginmanager: the run's plugin manager (to call hooks your plugin
        added with :hook:`add_hookspecs`).

    Raise ``config.error(key, expected, given)`` (a :class:`~harness.ConfigError`)
    for a setting that is well-typed but wrong (an unknown time zone, a
    strategy nobody provides): the run stops before anything runs, with exit
    code 4 and one line naming file, key, expected and given. Fires once after
    schema validation, before the run directory exists, also for
    ``harness plugins --check``. Nothing reads the configuration file after
    this point.
    """


# -------------------------------------------------------------------------
# Session hooks
# -------------------------------------------------------------------------


@hookspec
def session_start(session: Session) -> None:
    """The run directory exists; open files, connections, threads.

    :param session: the run: ``run_id``, ``session_id``, ``run_dir``,
        ``config``, ``dry_run``, ``artifacts`` and ``emit``.

    Fires after :hook:`configure`, before the ``session_start`` event, so that
    sinks opened here see every event of the run.
    """


@hookspec
def summarize(session: Session) -> Mapping[str, Any] | None:
    """Contribute sections to ``summary.json``.

    :param session: the run, with ``session.reports`` (the per-phase reports).
    :returns: a mapping of section name to JSON-serialisable value, merged into
        the top level of ``summary.json`` (the strategy phase adds ``capital``
        and ``trades``). A name the core uses, or one another plugin already
        contributed, is a plugin error: the section is left out and reported.

    *Isolated.* Fires once after the ``session_end`` event, on success, failure,
    timeout and interrupt alike.
    """


@hookspec
def session_finish(session: Session, exit_code: int) -> None:
    """The summary is written; flush and close what :hook:`session_start` opened.

    :param session: the run.
    :param exit_code: the exit code the run will end with.

    *Isolated.* Fires last, also after an interrupt.
    """


# -------------------------------------------------------------------------
# Phase hooks
# -------------------------------------------------------------------------


@hookspec
def phase_start(phase: Phase, ctx: PhaseContext) -> None:
    """A phase is about to run (once, before its first attempt).

    :param phase: the phase: ``name``, ``plugin``, ``timeout``, ``settings``.
    :param ctx: the phase's context (events, artifacts, retries, live metrics).

    Fires after the ``phase_start`` event. An implementation that raises fails
    the phase with status ``failed`` and no attempt is made.
    """


@hookspec(firstresult=True)
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult | None:
    """Run the phase and return its outcome.

    :param phase: the phase; run it only if ``phase.plugin`` is your plugin's
        name, else return ``None``.
    :param ctx: the phase's context.
    :returns: a :class:`~harness.PhaseResult`. Raising
        :class:`~harness.PhaseFailed` fails the phase with its message; any other
        exception goes to :hook:`on_error`, which may re-run the phase.

    Stops at the first non-``None`` result. No result at all is an error naming
    the phase and its plugin. Fires once per attempt, in the main thread; the
    phase timeout and SIGINT/SIGTERM interrupt it by raising inside it.
    """


@hookspec
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    """A phase passed in an earlier session of this run and is not run again.

    :param phase: the phase that is skipped on ``--resume``.
    :param ctx: its context; rebuild the artifacts later phases need (for
        example reload the data the phase validated).

    Fires instead of :hook:`phase_start` / :hook:`phase_run`.
    """


@hookspec(firstresult=True)
def on_error(phase: Phase, ctx: PhaseContext, call: CallInfo) -> Retry | GiveUp | None:
    """Decide what happens after an attempt raised.

    :param phase: the phase the attempt belongs to.
    :param ctx: the phase's context.
    :param call: the failed attempt: ``operation`` (``None`` for the whole
        phase), ``attempt``, ``excinfo``, ``elapsed`` and ``deadline_in``.
    :returns: :class:`~harness.Retry` to try again after a delay,
        :class:`~harness.GiveUp` to fail. ``None`` from every plugin means give up.

    Stops at the first non-``None`` result. Fires for phase attempts (the run
    loop re-runs the phase) and for operations run with ``ctx.retry``. Not asked
    for timeouts, interrupts or :class:`~harness.PhaseFailed`.
    """


@hookspec
def heartbeat(phase: Phase, ctx: PhaseContext) -> Mapping[str, float | int] | None:
    """Contribute metrics to the next ``heartbeat`` event.

    :param phase: the running phase.
    :param ctx: its context.
    :returns: a mapping of metric name to finite number, or ``None``.

    *Isolated.* Fires on the heartbeat thread every ``heartbeat_interval``
    seconds while a phase runs: be quick and thread-safe. The phase's own
    ``ctx.metrics`` are merged first, then each contribution in turn.
    """


# -------------------------------------------------------------------------
# Sink hooks
# -------------------------------------------------------------------------


@hookspec
def sink_event(event: Event) -> None:
    """Record one validated event.

    :param event: a frozen, schema-valid :class:`~harness.Event`;
        ``event.to_json()`` gives its line (bytes, no newline).

    *Isolated.* Fires for every event, in ``seq`` order, from whichever thread
    emitted it (calls never overlap). A sink that raises is reported once with
    an ``error`` event and not called again; the run ends with exit code 3.
    """


@hookspec
def sink_flush(durable: bool) -> None:
    """Write out what the sink buffers.

    :param durable: ``True`` at checkpoints and at the end: make it survive a
        power cut (``fsync``).

    *Isolated.* Fires after each ``checkpoint`` event and before
    :hook:`session_finish`.
    """
