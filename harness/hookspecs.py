"""Hook specifications: the contract between the harness core and its plugins.

Every hook is called with keyword arguments. A plugin implements any subset of
them with :data:`harness.hookimpl` and may accept any subset of each hook's
parameters (pluggy passes only the ones named). Unknown hook names and
parameters are rejected when the plugin is registered.

Order of a run::

    add_hookspecs -> addoption (harness run only)
    -> config_schema / phase_schema / event_schemas -> configure
    -> session_start -> [event: session_start]
       for each phase: phase_resume (already done on --resume)
                    or phase_start -> phase_run [-> on_error -> phase_run ...]
                       -> [event: phase_end] -> [event: checkpoint] -> sink_flush
       heartbeat (own thread, every heartbeat_interval while a phase runs)
    -> [event: session_end] -> summarize -> session_finish

Every event on the way reaches each ``sink_event`` implementation.

How hooks are called (one path, :mod:`harness.dispatch`):

* **Through pluggy, always.** The order of implementations, ``tryfirst`` /
  ``trylast`` and wrappers (``wrapper=True``, old-style ``hookwrapper=True``)
  behave as pluggy documents, for every hook.
* **Owned** hooks (``phase_start``, ``phase_run``, ``phase_resume``) reach only
  the plugin that owns the phase (``[phases.<name>] plugin``, by default the
  phase's name); a plugin never has to check ``phase.plugin``. Wrappers of
  every plugin still wrap the call.
* **Isolated** hooks (marked below) are called once through pluggy with each
  implementation guarded: one raising is reported as an ``error`` event and in
  ``summary.json`` ``plugin_errors`` naming its plugin (with its traceback), and
  the others still run. A wrapper on an isolated hook wraps the whole call; a
  wrapper that raises is reported under its own plugin's name.
* **Deadlines** (during a run, :mod:`harness.deadlines`): each implementation
  of an isolated hook may run for ``[harness.hook_timeout]`` seconds by hook
  name (defaults: ``session_start`` 30, ``sink_event`` 10, ``sink_flush`` 30,
  ``heartbeat`` 10, ``on_error`` 10, ``summarize`` 30, ``session_finish`` 30,
  other hooks 60; 2 s once the run is being stopped). Past it, the plugin is
  reported like a raising one and switched off for the rest of the run. Hook
  code runs with SIGINT/SIGTERM let through: a hook may be interrupted at any
  bytecode (``Interrupted``, ``PhaseTimeout`` derive from ``BaseException``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from harness.config import Config, Phase
    from harness.context import PhaseContext
    from harness.errors import UsageError
    from harness.events import Event
    from harness.exitcodes import RunStatus
    from harness.options import OptionParser
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
def addoption(parser: OptionParser) -> None:
    """Add command-line options to ``harness run`` (as pytest's ``pytest_addoption``).

    :param parser: call ``parser.addoption("--junit-xml", setting="plugins.junit.path",
        kind="path", metavar="PATH", help="...")``. Each option is a shorthand for
        ``--set <setting>=<value>``: its value goes through the configuration
        schema like any other setting, and ``config.toml`` records it.

    *Isolated.* Fires before the command line is parsed, for the built-in
    plugins, installed (entry-point) plugins and ``-p`` plugins; a plugin listed
    only in the config file cannot add options (use ``--set``). Options show in
    ``harness run --help``. The CLI itself knows no plugin's settings.
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


@hookspec
def usage_error(error: UsageError, settings: Mapping[str, Any], root: Path) -> None:
    """``harness run`` stopped on a usage or configuration error (exit 4): no run began.

    :param error: the error, its text with every known secret masked; a
        :class:`~harness.ConfigError` carries ``path``, ``key`` and ``line`` when known.
    :param settings: the ``[plugins]`` tables as far as they could be read (the
        configuration file, then ``--set`` and plugin options), no schema defaults
        applied; empty when nothing could be read.
    :param root: the folder relative paths resolve against (the configuration
        file's, else the working directory).

    *Isolated.* For CI reporters, so that a configuration error leaves the job
    something to read (an annotation, a step summary, a JUnit file). There is no
    session and no run directory; the plugins are those that could be loaded
    (the built-ins when loading is what failed).
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
def session_finish(session: Session, exit_code: int, status: RunStatus) -> None:
    """The summary is written; flush and close what :hook:`session_start` opened.

    :param session: the run.
    :param exit_code: the exit code the run will end with (:class:`~harness.ExitCode`).
    :param status: the run's final status as ``summary.json`` records it:
        ``"success"``, ``"failed"``, ``"error"`` or ``"interrupted"``.

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

    *Owned*: called only on the plugin that owns the phase. Fires after the
    ``phase_start`` event. Raising fails the phase with status ``failed`` (an
    unexpected exception with its traceback) and no attempt is made.
    """


@hookspec(firstresult=True)
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult | None:
    """Run the phase and return its outcome.

    :param phase: a phase whose ``plugin`` is your plugin's name.
    :param ctx: the phase's context.
    :returns: a :class:`~harness.PhaseResult`. Raising
        :class:`~harness.PhaseFailed` fails the phase with its message (one
        line, no traceback); any other exception goes to :hook:`on_error`,
        which may re-run the phase. When the policy gives up, an exception that
        is not a :class:`~harness.HarnessError` is recorded with its traceback
        (``error`` event, the summary's phase entry; ``-v`` / ``--tb`` show it).

    *Owned*: called only on the plugin that owns the phase (wrappers of every
    plugin still run). Returning ``None`` is an error naming the phase and its
    plugin (exit 3). Fires once per attempt, in the main thread; the phase
    timeout and SIGINT/SIGTERM interrupt it by raising inside it.
    """


@hookspec
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    """A phase passed in an earlier session of this run and is not run again.

    :param phase: the phase that is skipped on ``--resume``.
    :param ctx: its context; rebuild the artifacts later phases need (for
        example reload the data the phase validated).

    *Owned*: called only on the plugin that owns the phase. Fires instead of
    :hook:`phase_start` / :hook:`phase_run`; raising runs the phase again.
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

    Stops at the first non-``None`` result. *Isolated*: a policy that raises is
    reported and the next one is asked. Fires for phase attempts (the run loop
    re-runs the phase) and for operations run with ``ctx.retry``, through the
    same attempt loop. Not asked for timeouts, interrupts,
    :class:`~harness.PhaseFailed` or :class:`~harness.NonRetryableError`.
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


# -------------------------------------------------------------------------
# Report hooks
# -------------------------------------------------------------------------


@hookspec
def report_sections(
    run_dir: Path, summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> Sequence[Mapping[str, Any]] | None:
    """Contribute sections to the HTML run report (``harness report``).

    :param run_dir: the run directory (read the files your phases wrote there).
    :param summary: the run's ``summary.json`` (empty if the run has none yet).
    :param events: every event of ``events.jsonl``, as parsed JSON objects, in order.
    :returns: a list of sections, or ``None``. A section is plain data, never HTML:
        ``{"title": str, "id": str (optional), "blocks": [block, ...]}``, a block one of
        ``{"type": "text", "text"}``, ``{"type": "code", "text"}``,
        ``{"type": "facts", "items": {name: value}}``,
        ``{"type": "table", "title", "columns": [...], "rows": [[cell, ...], ...]}``,
        ``{"type": "chart", "title", "x_kind": "time" | "number",
        "series": [{"label", "x", "y", "kind": "line" | "points" | "step"}]}`` or
        ``{"type": "heatmap", "title", "x_label", "y_label", "x", "y", "values"}``
        (all described in ``harness/report/model.py``). Every string is escaped; long
        series are downsampled for drawing only.

    *Isolated.* Fires once per report: in the ``harness report`` process (after the
    run, with the plugins the run's saved ``config.toml`` names) or at
    :hook:`session_finish` when the ``report`` plugin is enabled. A section of the
    wrong shape, or an implementation that raises, is named in a note at the top of
    the report and left out; the other sections are still written.
    """
