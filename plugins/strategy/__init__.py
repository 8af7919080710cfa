"""The built-in ``strategy`` plugin: backtests, gates, look-ahead check, sweeps.

The phase reads the ``"data.market"`` artifact
(:class:`~harness.MarketData`), backtests every configured
strategy on every symbol with the engine of :mod:`.engine` (backtesting.py's
rules), checks each strategy's gates, runs parameter sweeps, and contributes
``capital``, ``trades`` and ``strategy`` to the summary.

Other plugins add strategies with the ``strategy_functions`` hook
(:mod:`.hookspecs`). Imports here stay light: numpy and friends are imported
when the phase runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from harness import hookimpl
from harness.plugins.strategy.report_section import report_sections  # noqa: F401

if TYPE_CHECKING:
    import pluggy

    from harness import Config, Phase, PhaseContext, PhaseResult, Session

__all__ = [
    "add_hookspecs",
    "config_schema",
    "configure",
    "event_schemas",
    "phase_resume",
    "phase_run",
    "phase_schema",
    "summarize",
]

PLUGIN = "strategy"


@hookimpl
def add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add the ``strategy_functions`` hook for strategy-providing plugins."""
    from harness.plugins.strategy import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def config_schema() -> Mapping[str, Any]:
    """``[plugins.strategy]``: run-wide defaults of the executor settings."""
    from harness.plugins.strategy.settings import PLUGIN_SCHEMA

    return PLUGIN_SCHEMA


@hookimpl
def phase_schema() -> Mapping[str, Any]:
    from harness.plugins.strategy.settings import PHASE_SCHEMA

    return PHASE_SCHEMA


@hookimpl
def event_schemas() -> Mapping[str, Mapping[str, Any]]:
    from harness.plugins.strategy.settings import EVENT_SCHEMAS

    return EVENT_SCHEMAS


@hookimpl
def configure(config: Config, pluginmanager: pluggy.PluginManager) -> None:
    """Check the strategy phases before anything runs (exit 4 naming the key).

    Unknown strategy names, ``params`` or ``sweep`` keys the strategy function
    does not take, duplicate labels, and parameter values a built-in strategy
    rejects (:mod:`.params`) are configuration errors; see :mod:`.configcheck`.
    """
    if not any(phase.plugin == PLUGIN for phase in config.phases):
        return
    from harness import PhaseFailed, PluginError
    from harness.plugins.strategy.configcheck import check_config
    from harness.plugins.strategy.params import BUILTIN_RULES
    from harness.plugins.strategy.strategies import BUILTIN_STRATEGIES

    try:
        strategies = known_strategies(pluginmanager)
    except PhaseFailed as exc:
        raise PluginError(PLUGIN, str(exc)) from None
    rules = {
        name: rule
        for name, rule in BUILTIN_RULES.items()
        if strategies.get(name) is BUILTIN_STRATEGIES.get(name)
    }
    check_config(config, strategies, rules, PLUGIN)


def known_strategies(pm: pluggy.PluginManager | None) -> dict[str, Callable[..., Any]]:
    """Built-in strategies plus every ``strategy_functions`` contribution.

    :raises PhaseFailed: two providers use the same name.
    """
    from harness import PhaseFailed, call_isolated
    from harness.plugins.strategy.strategies import BUILTIN_STRATEGIES

    found: dict[str, Callable[..., Any]] = dict(BUILTIN_STRATEGIES)
    owner = dict.fromkeys(found, PLUGIN)
    if pm is None or not hasattr(pm.hook, "strategy_functions"):
        return found
    for result in call_isolated(pm, "strategy_functions"):
        if result.error is not None:
            raise PhaseFailed(
                f"plugin {result.plugin!r}: strategy_functions failed: "
                f"{type(result.error).__name__}: {result.error}"
            )
        provided = cast("Mapping[str, Any]", result.value or {})
        for name, fn in provided.items():
            if name in found:
                raise PhaseFailed(
                    f"strategy {name!r} is provided by both {owner[name]!r} and {result.plugin!r}"
                )
            if not callable(fn):
                raise PhaseFailed(f"plugin {result.plugin!r}: strategy {name!r} is not callable")
            found[name] = fn
            owner[name] = result.plugin
    return found


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    from harness.plugins.strategy.phase import run_phase

    return run_phase(phase, ctx, known_strategies(ctx.session.pluginmanager))


@hookimpl
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    """Reload the figures of a strategy phase that passed in an earlier session."""
    from harness.plugins.strategy.phase import restore_signals
    from harness.plugins.strategy.report import REPORT_ARTIFACT, StrategyReport, report_path

    path = report_path(ctx.run_dir, phase.name)
    if path.is_file():
        ctx.artifacts.put(REPORT_ARTIFACT + phase.name, StrategyReport.load(path))
    restore_signals(ctx, phase.name)  # what the orders phase reads


@hookimpl
def summarize(session: Session) -> Mapping[str, Any] | None:
    from harness.plugins.strategy.report import REPORT_ARTIFACT, StrategyReport, summary_sections

    artifacts = session.artifacts
    names: list[str] = artifacts.keys()
    reports = [
        artifacts.get(key, StrategyReport) for key in names if key.startswith(REPORT_ARTIFACT)
    ]
    return summary_sections(reports)
