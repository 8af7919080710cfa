"""``harness plugins --check``: load everything as a run would and name each problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.prepare import Prepared, RunOptions

__all__ = ["check_plugins"]


def check_plugins(options: RunOptions) -> list[str]:
    """Problems a run with ``options`` would hit before its first phase; empty when none.

    Loads the configuration and every plugin exactly as :func:`harness.run`
    does (:func:`harness.prepare.prepare`: built-ins, entry points, ``[harness]
    plugins``, ``-p``, ``required_plugins``; hook implementations are validated
    by pluggy as they are registered, contributed JSON Schemas against the
    metaschema, the whole configuration against the composed schema), then
    checks that every enabled phase has a loaded plugin implementing
    ``phase_run`` and calls ``configure`` as a run would. Returns one line per
    problem: a plugin that fails to load is reported and left out, and the
    check goes on, so every broken plugin is named.
    """
    import dataclasses

    from harness.errors import PluginError, UsageError
    from harness.prepare import prepare

    problems: list[str] = []
    blocked: list[str] = []
    while True:  # a broken plugin is named, then left out, so the next one is found too
        try:
            extra = tuple(f"no:{name}" for name in blocked)
            prepared = prepare(dataclasses.replace(options, plugins=(*options.plugins, *extra)))
        except UsageError as exc:
            problems.append(str(exc))
            cause = exc if isinstance(exc, PluginError) else exc.__cause__
            plugin = cause.plugin if isinstance(cause, PluginError) else None
            if plugin is None or plugin in blocked or len(blocked) >= 50:
                return problems
            blocked.append(plugin)
            continue
        break
    return problems + _phase_problems(prepared) + _configure_problems(prepared)


def _phase_problems(prepared: Prepared) -> list[str]:
    pm = prepared.plugins.pm
    runners = {impl.plugin_name for impl in pm.hook.phase_run.get_hookimpls()}
    disabled = set(prepared.plugins.disabled)
    problems: list[str] = []
    for phase in prepared.config.phases:
        if not phase.enabled or phase.plugin in disabled:
            continue  # a disabled plugin's phases are skipped by the run, not an error
        if phase.plugin not in runners:
            problems.append(
                f"{prepared.config.display}: phases.{phase.name}: plugin {phase.plugin!r} "
                "does not implement phase_run (nothing would run this phase)"
            )
    return problems


def _configure_problems(prepared: Prepared) -> list[str]:
    from harness.prepare import configure

    return [str(problem) for problem in configure(prepared)]
