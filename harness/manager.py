"""Plugin loading: built-ins, entry points, config and command-line plugins.

Built-ins get no special access: each is a module under ``harness.plugins``
implementing the same public hooks a third-party plugin does, listed once in
:data:`BUILTIN_PLUGINS`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pluggy

from harness import hookspecs
from harness.errors import PluginError
from harness.version import __version__

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "ESSENTIAL_PLUGINS",
    "PluginInfo",
    "Plugins",
    "load_plugins",
    "plugin_name",
]

ENTRY_POINT_GROUP = "harness"
AUTOLOAD_ENV = "HARNESS_DISABLE_PLUGIN_AUTOLOAD"

#: The built-in plugins, in registration order (module ``harness.plugins.<name>``).
BUILTIN_PLUGINS: tuple[str, ...] = (
    "jsonl",
    "console",
    "command",
    "retry",
    "data",
    "strategy",
    "orders",
    "api",
    "junit",
    "github",
    "report",
)


#: Built-ins that cannot be disabled (pytest's ``essential_plugins``), and why.
ESSENTIAL_PLUGINS: dict[str, str] = {
    "jsonl": "it writes the run's events.jsonl, which --resume, `harness validate` and "
    "harness.testing read",
}


@dataclass(slots=True)
class PluginInfo:
    """What ``harness plugins`` shows for one plugin."""

    name: str
    source: str  # "builtin" | "entry point" | "config" | "cli" | "python"
    module: str
    dist: str | None = None
    version: str | None = None
    disabled: bool = False
    hooks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Plugins:
    """The plugin manager of one run and what was loaded into it."""

    pm: pluggy.PluginManager
    infos: list[PluginInfo]

    @property
    def loaded(self) -> list[str]:
        return [i.name for i in self.infos if not i.disabled]

    @property
    def disabled(self) -> list[str]:
        return [i.name for i in self.infos if i.disabled]


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
    return pm


def _import_file(path: Path, name: str) -> ModuleType:
    module_name = f"harness_local_plugins.{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def plugin_name(spec: str) -> str:
    """The plugin name of a ``plugins = [...]`` / ``-p`` entry."""
    if spec.endswith(".py") or "/" in spec or os.sep in spec:
        return Path(spec).stem
    return spec.rsplit(".", 1)[-1]


def _import(spec: str, root: Path) -> ModuleType:
    name = plugin_name(spec)
    if spec.endswith(".py") or "/" in spec or os.sep in spec:
        path = Path(spec).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise PluginError(name, f"no such file: {path}")
        return _import_file(path, name)
    return importlib.import_module(spec)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _register(plugins: Plugins, obj: object, info: PluginInfo) -> None:
    pm = plugins.pm
    if pm.has_plugin(info.name) or any(
        i.name == info.name and not i.disabled for i in plugins.infos
    ):
        raise PluginError(info.name, "a plugin of that name is already loaded")
    try:
        pm.register(obj, name=info.name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(info.name, str(exc)) from None
    except ValueError as exc:
        raise PluginError(info.name, str(exc)) from None
    plugins.infos.append(info)


def load_plugins(
    *,
    extra: Iterable[str] = (),
    disable: Iterable[str] = (),
    cli: Iterable[str] = (),
    root: Path,
    required: Iterable[str] = (),
    autoload: bool | None = None,
    objects: Iterable[tuple[str, object]] = (),
    pythonpath: Iterable[Path] = (),
) -> Plugins:
    """Load every plugin of a run into a fresh plugin manager.

    :param extra: ``[harness] plugins`` entries (modules or ``.py`` files relative to ``root``).
    :param disable: ``[harness] disable`` names.
    :param cli: ``-p`` values: ``NAME`` loads a plugin, ``no:NAME`` disables one.
    :param required: ``required_plugins`` requirement strings.
    :param objects: ``(name, plugin)`` pairs registered as they are (in-process runs, tests).
    :param autoload: load entry-point plugins (default: unless ``HARNESS_DISABLE_PLUGIN_AUTOLOAD``).
    :param pythonpath: folders put first on ``sys.path`` before any plugin is imported
        (``[harness] pythonpath``, pytest's ``pythonpath``); ``root`` joins them when
        ``extra`` lists plugins, so a config's plugins import the project's own package
        from any working directory (pytest's rootdir).
    :raises PluginError: naming the plugin that failed to import, register or validate.
    """
    cli = list(cli)
    extra = list(extra)
    objects = list(objects)
    prepend_paths([*pythonpath, *([root] if extra else [])])
    blocked = set(disable) | {c[3:] for c in cli if c.startswith("no:")}
    for name in sorted(blocked & ESSENTIAL_PLUGINS.keys()):
        raise PluginError(name, f"cannot be disabled: {ESSENTIAL_PLUGINS[name]}")
    wanted = [(spec, "config") for spec in extra] + [
        (c, "cli") for c in cli if not c.startswith("no:")
    ]
    plugins = Plugins(_new_manager(), [])
    pm = plugins.pm
    for name in blocked:
        pm.set_blocked(name)

    def skip(
        name: str, source: str, module: str, dist: str | None = None, version: str | None = None
    ) -> bool:
        if name in blocked:
            plugins.infos.append(PluginInfo(name, source, module, dist, version, disabled=True))
            return True
        return False

    for name in BUILTIN_PLUGINS:
        module_name = f"harness.plugins.{name}"
        if skip(name, "builtin", module_name, "harness", __version__):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise PluginError(name, f"failed to import {module_name}: {_short(exc)}") from None
        info = PluginInfo(name, "builtin", module_name, "harness", __version__)
        _register(plugins, module, info)

    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if not autoload:
        # one rule for "plugin not loaded": an installed plugin that autoload-off leaves out
        # is listed as disabled, as `-p no:NAME` would (its phases are skipped, not exit 4)
        from importlib import metadata

        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            known = {i.name for i in plugins.infos} | {plugin_name(c) for c, _ in wanted}
            known |= {name for name, _ in objects}
            if ep.name not in known:
                dist = ep.dist.name if ep.dist else None
                version = ep.dist.version if ep.dist else None
                info = PluginInfo(ep.name, "entry point", ep.value, dist, version, disabled=True)
                plugins.infos.append(info)
    if autoload:
        from importlib import metadata

        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            if skip(ep.name, "entry point", ep.value, dist, version):
                continue
            if any(i.name == ep.name for i in plugins.infos):
                continue  # the same distribution seen twice on sys.path
            try:
                obj = ep.load()
            except Exception as exc:
                raise PluginError(ep.name, f"failed to import {ep.value}: {_short(exc)}") from None
            _register(plugins, obj, PluginInfo(ep.name, "entry point", ep.value, dist, version))

    for spec, source in wanted:
        name = plugin_name(spec)
        if skip(name, source, spec):
            continue
        try:
            module = _import(spec, root)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(name, f"failed to import {spec}: {_short(exc)}") from None
        _register(plugins, module, PluginInfo(name, source, module.__name__))

    for name, obj in objects:
        if skip(name, "python", type(obj).__name__):
            continue
        _register(
            plugins, obj, PluginInfo(name, "python", getattr(obj, "__name__", type(obj).__name__))
        )

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(pm.get_name(exc.plugin) or "?", _unknown_hook(pm, str(exc))) from None
    for info in plugins.infos:
        plugin = pm.get_plugin(info.name)
        if plugin is not None:
            info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    check_required(required)
    return plugins


def prepend_paths(folders: Iterable[Path]) -> None:
    """Put ``folders`` first on ``sys.path``, in order, each once.

    They stay for the process, as pytest's rootdir does: a plugin may import the
    project's code while its phase runs, not only when it is loaded.
    """
    for folder in reversed([str(Path(f).absolute()) for f in folders]):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    importlib.invalidate_caches()


def _unknown_hook(pm: pluggy.PluginManager, message: str) -> str:
    """pluggy's "unknown hook 'x' in plugin ..." with a "did you mean" among the hook specs."""
    import re

    from harness.suggest import did_you_mean

    match = re.search(r"unknown hook '(\w+)'", message)
    if match is None:
        return message
    specs = [name for name, caller in vars(pm.hook).items() if caller.spec is not None]
    hint = did_you_mean(match[1], specs)
    return message.replace(match[0], match[0] + hint, 1) if hint else message


def check_required(required: Iterable[str]) -> None:
    """Check ``required_plugins`` (``"dist>=1.2"``) against installed distributions."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    for text in required:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0] if str(exc) else "unparsable"
            raise PluginError(text, f"required_plugins: invalid requirement: {reason}") from None
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            raise PluginError(req.name, f"required ({text}) but not installed") from None
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            raise PluginError(req.name, f"required {text}, but {version} is installed")
