"""The plugin surface: hooks, schemas, and a third-party strategy plugin."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import jsonschema
import pluggy
import pytest

import harness.plugins.strategy as strategy_plugin
from harness import hookspecs
from harness.errors import PhaseFailed
from harness.hookspecs import hookimpl
from harness.plugins.strategy.settings import EVENT_SCHEMAS, PHASE_SCHEMA, parse_settings


def _manager(*plugins: tuple[object, str]) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
    for obj, name in plugins:
        pm.register(obj, name=name)
    pm.check_pending()
    return pm


def _third_party(**strategies: object) -> types.ModuleType:
    module = types.ModuleType("my_strategies")

    @hookimpl
    def strategy_functions() -> dict[str, object]:
        return strategies

    module.strategy_functions = strategy_functions  # type: ignore[attr-defined]
    return module


def always_long(bars: object) -> list[int]:
    return [1] * len(bars)  # type: ignore[arg-type]


def test_third_party_strategies_join_the_built_ins() -> None:
    pm = _manager((strategy_plugin, "strategy"), (_third_party(always_long=always_long), "mine"))
    known = strategy_plugin.known_strategies(pm)
    assert known["always_long"] is always_long
    assert {"sma_cross", "momentum", "buy_and_hold"} <= set(known)


def test_a_plugin_registered_before_the_strategy_plugin_is_accepted() -> None:
    pm = _manager((_third_party(always_long=always_long), "mine"), (strategy_plugin, "strategy"))
    assert "always_long" in strategy_plugin.known_strategies(pm)


def test_a_name_clash_names_both_plugins() -> None:
    pm = _manager((strategy_plugin, "strategy"), (_third_party(momentum=always_long), "mine"))
    with pytest.raises(PhaseFailed, match="'momentum' is provided by both 'strategy' and 'mine'"):
        strategy_plugin.known_strategies(pm)


def test_unknown_hook_arguments_are_rejected() -> None:
    bad = types.ModuleType("bad")

    @hookimpl
    def strategy_functions(nonsense: int) -> None:
        return None

    bad.strategy_functions = strategy_functions  # type: ignore[attr-defined]
    with pytest.raises(pluggy.PluginValidationError):
        _manager((strategy_plugin, "strategy"), (bad, "bad"))


def test_phase_schema_is_valid_and_defaults_parse() -> None:
    jsonschema.Draft202012Validator.check_schema(PHASE_SCHEMA)
    for schema in EVENT_SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    settings = parse_settings({})
    assert [s.name for s in settings.strategies] == ["sma_cross", "momentum", "buy_and_hold"]
    assert settings.initial_cash == 10_000
    assert settings.workers == 1
    assert settings.strategies[0].look_ahead


def test_phase_schema_rejects_unknown_keys() -> None:
    validator = jsonschema.Draft202012Validator(PHASE_SCHEMA)
    assert not validator.is_valid({"initial_cash": 1000, "comission": 0.1})
    assert not validator.is_valid({"strategies": [{"name": "x", "gates": {"min_trade": 1}}]})
    assert validator.is_valid(
        {
            "strategies": [
                {
                    "name": "sma_cross",
                    "params": {"fast": 5, "slow": 20},
                    "gates": {"min_trades": 1, "max_drawdown": 0.5, "look_ahead": False},
                    "sweep": {"fast": [5, 10], "slow": [20, 50]},
                    "sweep_metric": "roi",
                }
            ]
        }
    )


def test_duplicate_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct 'label'"):
        parse_settings({"strategies": [{"name": "momentum"}, {"name": "momentum"}]})
    ok = parse_settings(
        {"strategies": [{"name": "momentum"}, {"name": "momentum", "label": "mom5"}]}
    )
    assert [s.label for s in ok.strategies] == ["momentum", "mom5"]


def test_importing_the_plugin_is_light(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import harness.plugins.strategy
        heavy = [m for m in ("numpy", "polars", "pandas") if m in sys.modules]
        print(",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
