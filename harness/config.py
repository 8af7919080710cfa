"""Configuration: discovery, TOML parsing, ``--set`` overrides, validation.

The result is one frozen :class:`Config`; plugins are handed it in
``configure`` and nothing reads the file again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.suggest import did_you_mean
from harness.validation import apply_defaults, describe_error, first_error, load_schema

__all__ = [
    "CORE_PHASE_KEYS",
    "DEMO_CONFIG",
    "Config",
    "HarnessSettings",
    "Phase",
    "PluginSchemas",
    "RawConfig",
    "apply_overrides",
    "builtin_default_text",
    "discover",
    "load_raw",
]

CORE_PHASE_KEYS = frozenset({"plugin", "timeout", "description", "enabled"})
BUILTIN = "<builtin default>"
#: Tables and arrays nested deeper than this are refused (documented in the README).
MAX_DEPTH = 32
_INT64 = (-(2**63), 2**63 - 1)
#: ``--config builtin:demo``: the built-in demo, asked for explicitly (CI runs it only so).
DEMO_CONFIG = "builtin:demo"


@dataclass(frozen=True, slots=True)
class Phase:
    """One configured phase.

    :param name: the table name (``[phases.<name>]``).
    :param plugin: the plugin that runs it (``plugin = ...``, default: ``name``).
    :param timeout: seconds, or ``None`` for no timeout.
    :param settings: the table's plugin-owned keys, validated, defaults applied.
    """

    name: str
    plugin: str
    timeout: float | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class HarnessSettings:
    """The ``[harness]`` table."""

    heartbeat_interval: float = 30.0
    runs_dir: str = "runs"
    plugins: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    required_plugins: tuple[str, ...] = ()
    on_failure: str = "stop"
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RawConfig:
    """A parsed but not yet validated configuration document."""

    document: dict[str, Any]
    path: Path | None
    source: str
    root: Path
    key_prefix: str = ""
    #: ``--set`` items applied (``KEY.PATH=VALUE``): an error under one of their keys names
    #: ``--set``, not the file.
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_values(self.document, self.display, self.key_prefix)

    @property
    def display(self) -> str:
        return str(self.path) if self.path else BUILTIN

    def _override(self, key: str) -> str | None:
        """The last ``--set`` item that set ``key`` or a table above it, if any."""
        for item in reversed(self.overrides):
            target = item.partition("=")[0].strip()
            if key == target or key.startswith((f"{target}.", f"{target}[")):
                return item
            if target.startswith(f"{key}."):  # it created the table that is wrong
                return item
        return None

    def error(self, key: str, expected: str, given: object) -> ConfigError:
        item = self._override(key) if key else None
        if item is not None:  # the value came from the command line: blame --set
            return ConfigError(
                f"expected {expected}, got {given}",
                path="--set",
                key=key,
                expected=expected,
                given=given,
            )
        full = f"{self.key_prefix}{key}" if key else self.key_prefix.rstrip(".")
        return ConfigError(
            f"expected {expected}, got {given}",
            path=self.display,
            key=full or None,
            expected=expected,
            given=given,
        )

    def settings(self) -> HarnessSettings:
        """Validate the ``[harness]`` table alone (plugins are not loaded yet)."""
        schema = load_schema("config")
        error = first_error(schema, self.document)
        if error is not None:
            raise self.error(*describe_error(error))
        table = apply_defaults(schema["properties"]["harness"], self.document.get("harness", {}))
        return HarnessSettings(
            heartbeat_interval=float(table["heartbeat_interval"]),
            runs_dir=table["runs_dir"],
            plugins=tuple(table["plugins"]),
            pythonpath=tuple(table["pythonpath"]),
            disable=tuple(table["disable"]),
            required_plugins=tuple(table["required_plugins"]),
            on_failure=table["on_failure"],
            dry_run=table["dry_run"],
        )


@dataclass(frozen=True, slots=True)
class PluginSchemas:
    """Schemas the loaded plugins contributed (plugin name -> schema)."""

    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    phase: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def builtin_default_text() -> str:
    return resources.files("harness").joinpath("default.toml").read_text("utf-8")


def _value_problem(value: Any) -> tuple[str, str] | None:
    """``(expected, given)`` when a parsed TOML value can never be a valid setting."""
    if isinstance(value, float) and not math.isfinite(value):
        return "a finite number", str(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        return "an integer within 64 bits", str(value)
    if isinstance(value, str) and "\0" in value:
        return "a string without NUL bytes", repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        kind = type(value).__name__.replace("datetime", "date-time")
        return (
            f'a string, not a TOML {kind} (quote it: "{value.isoformat()}")',
            value.isoformat(),
        )
    return None


def check_values(document: Mapping[str, Any], display: str, prefix: str = "") -> None:
    """Refuse, at start-up, every value no setting can take, wherever it is.

    JSON Schema cannot say "finite" and knows no dates, so this one walk over the
    whole document does it: NaN and infinities, integers past 64 bits, TOML
    date/time values (no setting takes one: dates are strings), NUL bytes in
    strings and keys, and nesting deeper than :data:`MAX_DEPTH`.

    :raises ConfigError: naming ``display``, the key path, expected and given.
    """

    def fail(path: str, expected: str, given: object) -> ConfigError:
        full = f"{prefix}{path}" if path else prefix.rstrip(".") or None
        return ConfigError(
            f"expected {expected}, got {given}",
            path=display,
            key=full,
            expected=expected,
            given=given,
        )

    def walk(value: Any, path: str, depth: int) -> None:
        if isinstance(value, Mapping):
            items: Iterable[tuple[str, Any]] = (
                (f"{path}.{k}" if path else str(k), v) for k, v in value.items()
            )
        elif isinstance(value, list):
            items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
        else:
            problem = _value_problem(value)
            if problem is not None:
                raise fail(path, *problem)
            return
        if depth >= MAX_DEPTH:
            raise fail(path, f"at most {MAX_DEPTH} levels of nested tables and arrays", "deeper")
        for sub, item in items:
            if "\0" in sub:
                raise fail(path, "a key without NUL bytes", repr(sub.rsplit(".", 1)[-1]))
            walk(item, sub, depth + 1)

    walk(document, "", 0)


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_toml(text: str, display: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(
            f"invalid TOML: nested too deeply (at most {MAX_DEPTH} levels of tables and arrays)",
            path=display,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        line = column = None
        if match := _TOML_POS.search(msg):
            line, column = int(match[1]), int(match[2])
            msg = msg[: match.start()].strip()
        elif "(at end of document)" in msg:
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
            msg = msg.replace("(at end of document)", "").strip() + " at end of file"
        raise ConfigError(f"invalid TOML: {msg}", path=display, line=line, column=column) from None


def load_raw(path: Path) -> RawConfig:
    """Parse ``path`` (a ``harness.toml`` or a ``pyproject.toml``)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from None
    document = _parse_toml(text, str(path))
    root = path.absolute().parent
    if path.name == "pyproject.toml":
        tool = document.get("tool", {}).get("harness")
        if not isinstance(tool, dict):
            raise ConfigError("has no [tool.harness] table", path=str(path))
        return RawConfig(tool, path, "pyproject.toml", root, "tool.harness.")
    return RawConfig(document, path, "file", root)


def discover(explicit: Path | None, cwd: Path) -> RawConfig:
    """Find the configuration the way DESIGN.md says: closest file wins, no merging.

    ``--config PATH``; else the nearest ``harness.toml`` from ``cwd`` upwards; else
    ``[tool.harness]`` in the nearest ``pyproject.toml`` that has it; else the
    built-in default (the shipped offline smoke run).
    """
    if explicit is not None:
        if explicit.name == DEMO_CONFIG and not explicit.exists():  # --config builtin:demo
            return RawConfig(_parse_toml(builtin_default_text(), BUILTIN), None, "builtin", cwd)
        return load_raw(explicit)
    folders = [cwd, *cwd.parents]
    for folder in folders:
        candidate = folder / "harness.toml"
        if candidate.is_file():
            return load_raw(candidate)
    for folder in folders:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                document = tomllib.loads(text)
            except (tomllib.TOMLDecodeError, RecursionError):
                if "tool.harness" in text:  # ours, broken: say so rather than run the default
                    return load_raw(candidate)
                continue
            if isinstance(document.get("tool", {}).get("harness"), dict):
                return load_raw(candidate)
    return RawConfig(_parse_toml(builtin_default_text(), BUILTIN), None, "builtin", cwd)


def _parse_value(text: str, item: str, key: str) -> Any:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except RecursionError:
        raise ConfigError(
            f"expected at most {MAX_DEPTH} levels of nesting, got deeper", path="--set", key=key
        ) from None
    except tomllib.TOMLDecodeError as exc:
        if text[:1] in "[{\"'" or not text:  # meant as TOML: say what is wrong with it
            reason = _TOML_POS.sub("", str(exc)).strip()
            raise ConfigError(
                f"expected a TOML value, got {text!r} ({reason})", path="--set", key=key
            ) from None
        return text  # a bare word: take it as a string (--set phases.data.calendar=weekdays)
    check_values({key: value}, "--set")  # its problems name --set, not the file
    return value


def apply_overrides(raw: RawConfig, overrides: Iterable[str]) -> RawConfig:
    """Apply ``--set key.path=VALUE`` (VALUE in TOML syntax, bare words are strings)."""
    document = json.loads(json.dumps(raw.document))
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = [p.strip() for p in key.strip().split(".")]
        if not sep or not all(parts):
            raise ConfigError(
                f"--set expects KEY.PATH=VALUE, got {item!r}", path="--set", key=key or None
            )
        table = document
        for depth, part in enumerate(parts[:-1]):
            nxt = table.setdefault(part, {})
            if not isinstance(nxt, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {item!r}: {where} is not a table", path="--set", key=key)
            table = nxt
        table[parts[-1]] = _parse_value(value.strip(), item, key.strip())
    applied = (*raw.overrides, *(item.strip() for item in overrides))
    return RawConfig(document, raw.path, raw.source, raw.root, raw.key_prefix, applied)


class Config:
    """The validated configuration of a run (read-only).

    :ivar path: the file used (``None`` for the built-in default).
    :ivar source: ``"file"``, ``"pyproject.toml"`` or ``"builtin"``.
    :ivar root: the folder relative paths resolve against.
    :ivar harness: the ``[harness]`` table as :class:`HarnessSettings`.
    :ivar phases: every configured phase, in file order.
    :ivar document: the whole document, plugin defaults applied.
    :ivar hash: ``sha256:`` of the canonical JSON of the document.
    """

    def __init__(
        self,
        raw: RawConfig,
        schemas: PluginSchemas,
        *,
        loaded: Iterable[str],
        disabled: Iterable[str] = (),
    ) -> None:
        self.path = raw.path
        self.source = raw.source
        self.root = raw.root
        self.display = raw.display
        self.harness = raw.settings()
        self._raw = raw
        loaded_set, disabled_set = set(loaded), set(disabled)
        doc = raw.document
        self.hash = (
            "sha256:"
            + hashlib.sha256(
                json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
        )
        self._plugins = self._check_plugins(
            doc.get("plugins", {}), schemas, loaded_set, disabled_set
        )
        phases: list[Phase] = []
        self._phase_plugins: dict[str, dict[str, dict[str, Any]]] = {}
        for name, table in doc.get("phases", {}).items():
            phases.append(self._check_phase(name, table, schemas, loaded_set, disabled_set))
        self.phases = tuple(phases)
        self.document = {
            **doc,
            "harness": apply_defaults(
                load_schema("config")["properties"]["harness"], doc.get("harness", {})
            ),
            "plugins": self._plugins,
            "phases": {
                p.name: {
                    **{k: v for k, v in doc["phases"][p.name].items() if k in CORE_PHASE_KEYS},
                    **p.settings,
                    **self._phase_plugins.get(p.name, {}),
                }
                for p in self.phases
            },
        }

    # -- validation -----------------------------------------------------------
    def _validate(
        self, schema: Mapping[str, Any], value: Any, prefix: list[Any], also: Iterable[str] = ()
    ) -> None:
        error = first_error(schema, value)
        if error is not None:
            raise self._raw.error(*describe_error(error, prefix, also))

    def _check_plugins(
        self,
        tables: Mapping[str, Any],
        schemas: PluginSchemas,
        loaded: set[str],
        disabled: set[str],
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in loaded:
            schema = schemas.settings.get(name)
            table = tables.get(name, {})
            if schema is not None:
                self._validate(schema, table, ["plugins", name])
                out[name] = apply_defaults(schema, table)
            elif name in tables:
                out[name] = dict(table)
        for name in tables:
            if name not in loaded and name not in disabled:
                known = ", ".join(sorted(loaded)) or "none"
                given = repr(name) + did_you_mean(name, loaded)
                raise self._raw.error(f"plugins.{name}", f"a loaded plugin ({known})", given)
        return out

    def _check_phase(
        self,
        name: str,
        table: Mapping[str, Any],
        schemas: PluginSchemas,
        loaded: set[str],
        disabled: set[str],
    ) -> Phase:
        plugin = table.get("plugin", name)
        timeout = table.get("timeout")
        if plugin not in loaded and plugin not in disabled:
            known = ", ".join(sorted(loaded)) or "none"
            key = f"phases.{name}.plugin" if "plugin" in table else f"phases.{name}"
            given = repr(plugin) + did_you_mean(plugin, loaded)
            raise self._raw.error(key, f"a loaded plugin to run it ({known})", given)
        owner_schema = dict(schemas.phase.get(plugin) or {})
        # a plugin's phase schema may declare its phases' default `timeout` (a core key)
        properties = dict(owner_schema.get("properties", {}))
        declared = properties.pop("timeout", None)
        if declared is not None:
            owner_schema["properties"] = properties
            if timeout is None and isinstance(declared, Mapping):
                timeout = declared.get("default")
        owned_keys = set(properties)
        settings: dict[str, Any] = {}
        overrides: dict[str, dict[str, Any]] = {}
        for key, value in table.items():
            if key in CORE_PHASE_KEYS:
                continue
            if key not in owned_keys and key in loaded and key in schemas.settings:
                self._validate(schemas.settings[key], value, ["phases", name, key])
                overrides[key] = dict(value)
            elif key not in owned_keys and key in disabled:
                continue
            else:
                settings[key] = value
        if plugin in loaded:
            if owner_schema:
                self._validate(owner_schema, settings, ["phases", name], CORE_PHASE_KEYS)
                settings = apply_defaults(owner_schema, settings)
            elif settings:
                key = next(iter(settings))
                raise self._raw.error(
                    f"phases.{name}.{key}",
                    f"no settings (plugin {plugin!r} declares none)",
                    f"unknown key {key!r}",
                )
        self._phase_plugins[name] = overrides
        return Phase(
            name=name,
            plugin=plugin,
            timeout=float(timeout) if timeout is not None else None,
            settings=settings,
            description=table.get("description", ""),
            enabled=table.get("enabled", True),
        )

    # -- access -----------------------------------------------------------------
    def plugin_settings(self, name: str, *, phase: str | None = None) -> Mapping[str, Any]:
        """``[plugins.<name>]`` (defaults applied), updated by ``[phases.<phase>.<name>]``."""
        base = dict(self._plugins.get(name, {}))
        if phase is not None:
            base.update(self._phase_plugins.get(phase, {}).get(name, {}))
        return base

    def error(self, key: str, expected: str, given: object) -> ConfigError:
        """A :class:`ConfigError` naming this config's file and ``key`` (a dotted path).

        For plugins' ``configure``: ``raise config.error("phases.data.timezone",
        "an IANA time zone", "'Mars/Olympus'")``.
        """
        return self._raw.error(key, expected, given)

    def resolve_path(self, path: str | Path) -> Path:
        """``path`` relative to the config file's folder (absolute paths unchanged)."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.root / p
