"""Loading a run: configuration discovered and validated, plugins loaded; nothing runs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import Config, PluginSchemas, RawConfig, apply_overrides, discover
from harness.errors import ConfigError, PluginError
from harness.hookcall import call_each
from harness.manager import Plugins, load_plugins, plugin_name

__all__ = ["Prepared", "RunOptions", "prepare"]

_NAMESPACED = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``harness run`` was asked for (the CLI flags, as data)."""

    config: Path | None = None
    output_dir: Path | None = None
    phases: Sequence[str] = ()
    dry_run: bool = False
    plugins: Sequence[str] = ()
    overrides: Sequence[str] = ()
    resume: str | None = None
    verbosity: int = 0
    cwd: Path | None = None
    objects: Sequence[tuple[str, object]] = ()
    autoload: bool | None = None


@dataclass(slots=True)
class Prepared:
    """Configuration and plugins, loaded and validated; nothing has run."""

    raw: RawConfig
    plugins: Plugins
    schemas: PluginSchemas
    event_types: dict[str, tuple[str, Mapping[str, Any]]]
    config: Config


def _schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid draft 2020-12 JSON Schema, or ``None``.

    jsonschema-rs answers fast (start-up path); pure-Python jsonschema explains.
    """
    import jsonschema_rs

    if isinstance(schema, Mapping) and jsonschema_rs.meta.is_valid(dict(schema)):
        return None
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None if isinstance(schema, Mapping) else "not a JSON object"


def _collect_schemas(
    plugins: Plugins,
) -> tuple[PluginSchemas, dict[str, tuple[str, Mapping[str, Any]]]]:
    hook = plugins.pm.hook
    out: dict[str, dict[str, Mapping[str, Any]]] = {"settings": {}, "phase": {}}
    for kind, caller in (("settings", hook.config_schema), ("phase", hook.phase_schema)):
        for result in call_each(caller):
            if result.error is not None:
                raise PluginError(result.plugin, f"{caller.name} failed: {result.error}")
            if result.value is None:
                continue
            problem = _schema_problem(result.value)
            if problem:
                raise PluginError(result.plugin, f"{caller.name}: invalid JSON Schema: {problem}")
            out[kind][result.plugin] = result.value
    types: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for result in call_each(hook.event_schemas):
        if result.error is not None:
            raise PluginError(result.plugin, f"event_schemas failed: {result.error}")
        for name, schema in dict(result.value or {}).items():
            if not _NAMESPACED.match(name):
                raise PluginError(
                    result.plugin, f"event type {name!r} must be namespaced like 'plugin.kind'"
                )
            if name in types:
                raise PluginError(
                    result.plugin, f"event type {name!r} is already declared by {types[name][0]!r}"
                )
            problem = _schema_problem(schema)
            if problem:
                raise PluginError(result.plugin, f"schema of {name!r}: {problem}")
            types[name] = (result.plugin, schema)
    return PluginSchemas(out["settings"], out["phase"]), types


def prepare(options: RunOptions) -> Prepared:
    """Discover and validate the configuration and load every plugin.

    :raises UsageError: (``ConfigError``, ``PluginError``) for anything the user must fix.
    """
    cwd = options.cwd or Path.cwd()
    config_path = options.config
    if config_path is not None and not config_path.is_absolute():
        config_path = cwd / config_path
    raw = apply_overrides(discover(config_path, cwd), options.overrides)
    settings = raw.settings()
    try:
        plugins = load_plugins(
            extra=settings.plugins,
            disable=settings.disable,
            cli=options.plugins,
            root=raw.root,
            required=settings.required_plugins,
            autoload=options.autoload,
            objects=options.objects,
        )
    except PluginError as exc:  # one the config asked for: name the file and the entry
        for index, spec in enumerate(settings.plugins):
            if plugin_name(spec) == exc.plugin:
                key = f"{raw.key_prefix}harness.plugins[{index}]"
                raise ConfigError(str(exc), path=raw.display, key=key) from exc
        raise
    schemas, event_types = _collect_schemas(plugins)
    config = Config(raw, schemas, loaded=plugins.loaded, disabled=plugins.disabled)
    runners = {impl.plugin_name for impl in plugins.pm.hook.phase_run.get_hookimpls()}
    for phase in config.phases:
        if phase.plugin in plugins.loaded and phase.plugin not in runners:
            raise config.error(
                f"phases.{phase.name}.plugin",
                f"a plugin that runs phases (implements phase_run): {', '.join(sorted(runners))}",
                repr(phase.plugin),
            )
    return Prepared(raw, plugins, schemas, event_types, config)
