"""Loading a run: configuration discovered and validated, plugins loaded; nothing runs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import (
    DEMO_CONFIG,
    Config,
    PluginSchemas,
    RawConfig,
    apply_overrides,
    discover,
)
from harness.dispatch import call_isolated
from harness.errors import ConfigError, PluginError, UsageError
from harness.manager import Plugins, load_plugins, plugin_name
from harness.options import OptionParser, PluginOption

__all__ = [
    "Prepared",
    "RunOptions",
    "ci_variable",
    "configure",
    "demo_notice",
    "plugin_options",
    "prepare",
    "report_usage_error",
]

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
    pm = plugins.pm
    out: dict[str, dict[str, Mapping[str, Any]]] = {"settings": {}, "phase": {}}
    for kind, hook in (("settings", "config_schema"), ("phase", "phase_schema")):
        for result in call_isolated(pm, hook):
            if result.error is not None:
                raise PluginError(result.plugin, f"{hook} failed: {result.error}")
            if result.value is None:
                continue
            problem = _schema_problem(result.value)
            if problem:
                raise PluginError(result.plugin, f"{hook}: invalid JSON Schema: {problem}")
            out[kind][result.plugin] = result.value
    types: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for result in call_isolated(pm, "event_schemas"):
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
    for index, entry in enumerate(settings.pythonpath):
        if not (raw.root / entry).is_dir():
            raise raw.error(f"harness.pythonpath[{index}]", "an existing folder", repr(entry))
    try:
        plugins = load_plugins(
            extra=settings.plugins,
            disable=settings.disable,
            cli=options.plugins,
            root=raw.root,
            required=settings.required_plugins,
            autoload=options.autoload,
            objects=options.objects,
            pythonpath=[raw.root / entry for entry in settings.pythonpath],
        )
    except PluginError as exc:  # one the config asked for: name the file and the entry
        for table in ("plugins", "disable"):
            for index, spec in enumerate(getattr(settings, table)):
                if plugin_name(spec) == exc.plugin:
                    key = f"{raw.key_prefix}harness.{table}[{index}]"
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


def configure(prepared: Prepared) -> list[UsageError]:
    """Call the ``configure`` hook; each plugin's rejection as a usage error naming it.

    A :class:`~harness.ConfigError` a plugin raises is kept as it is; any other
    exception becomes a :class:`~harness.PluginError` naming the plugin and the
    configuration file. Empty when every plugin accepted its settings.
    """
    config, pm = prepared.config, prepared.plugins.pm
    problems: list[UsageError] = []
    for result in call_isolated(pm, "configure", config=config, pluginmanager=pm):
        error = result.error
        if isinstance(error, ConfigError) or (
            isinstance(error, UsageError) and config.display in str(error)
        ):
            problems.append(error)
        elif isinstance(error, UsageError):  # name the file the rejected value came from
            text = error.message if isinstance(error, PluginError) else str(error)
            problems.append(PluginError(result.plugin, f"{config.display}: {text}"))
        elif error is not None:
            problems.append(
                PluginError(
                    result.plugin,
                    f"configure failed ({config.display}): {type(error).__name__}: {error}",
                )
            )
    return problems


def plugin_options(cli_plugins: Sequence[str], cwd: Path) -> list[PluginOption]:
    """The options the plugins a command line would load add to ``harness run``.

    Built-ins, entry-point plugins and ``-p`` plugins (as pytest loads its early
    plugins before parsing); a plugin listed only in a config file adds none.

    :raises PluginError: a plugin failed to load or its ``addoption`` raised.
    """
    plugins = load_plugins(cli=cli_plugins, root=cwd)
    parser = OptionParser()
    for result in call_isolated(plugins.pm, "addoption", parser=parser):
        if result.error is not None:
            raise PluginError(result.plugin, f"addoption failed: {result.error}")
    return parser.options


#: Environment variables that mean "this is a CI job" (GitHub Actions sets both).
CI_VARIABLES = ("GITHUB_ACTIONS", "CI")


def ci_variable(environ: Mapping[str, str]) -> str | None:
    """The variable that marks a CI job (``CI=true``, ``GITHUB_ACTIONS=true``), or ``None``.

    Set to anything but empty, ``0``, ``false`` or ``no`` counts as CI.
    """
    for name in CI_VARIABLES:
        if environ.get(name, "").strip().lower() not in ("", "0", "false", "no"):
            return name
    return None


def demo_notice(cwd: Path, environ: Mapping[str, str]) -> str | None:
    """For ``harness run`` without ``--config``: the notice when no config file is found.

    ``None`` when a ``harness.toml`` or ``[tool.harness]`` is found (that file runs).
    Without one the built-in demo runs, and the returned line says so loudly.

    :raises UsageError: under CI (a missing config must not make a green job): naming
        where discovery looked and how to ask for the demo explicitly.
    """
    if discover(None, cwd).source != "builtin":
        return None
    where = (
        f"looked for harness.toml, then pyproject.toml with [tool.harness], "
        f"in {cwd} and every folder above it"
    )
    variable = ci_variable(environ)
    if variable is not None:
        raise UsageError(
            f"no config file ({where}); under CI ({variable}={environ[variable]}) the built-in "
            f"demo runs only when asked for: --config {DEMO_CONFIG}"
        )
    return (
        f"WARNING: no config file ({where}): running the BUILT-IN DEMO (the shipped sample, "
        f"API dry run), not your bot; `harness init` writes a config, "
        f"`--config {DEMO_CONFIG}` runs the demo without this warning"
    )


def report_usage_error(error: UsageError, options: RunOptions) -> None:
    """Call the ``usage_error`` hook: CI reporters get a run's usage error (best effort).

    Reads as much of the configuration as it can (a broken file or ``--set``
    leaves the rest) and loads the plugins the command line asks for, else the
    built-ins alone. Never raises: the caller reports ``error`` itself.
    """
    cwd = options.cwd or Path.cwd()
    config_path = options.config
    if config_path is not None and not config_path.is_absolute():
        config_path = cwd / config_path
    try:
        raw = discover(config_path, cwd)
    except UsageError:
        raw = RawConfig({}, None, "builtin", cwd)
    with contextlib.suppress(UsageError):
        raw = apply_overrides(raw, options.overrides)
    try:
        disable = raw.settings().disable
    except UsageError:
        disable = ()
    try:
        plugins = load_plugins(
            disable=disable, cli=options.plugins, root=raw.root, autoload=options.autoload
        )
    except UsageError:
        try:
            plugins = load_plugins(root=raw.root, autoload=False)
        except UsageError:
            return
    tables = raw.document.get("plugins")
    settings = dict(tables) if isinstance(tables, Mapping) else {}
    call_isolated(plugins.pm, "usage_error", error=error, settings=settings, root=raw.root)
