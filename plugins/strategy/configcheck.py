"""Start-up checks of the strategy phases: what the JSON Schema cannot see.

``configure`` runs :func:`check_config` before anything runs (also for
``harness plugins --check``): every ``[[phases.<name>.strategies]]`` entry of a
phase run by the ``strategy`` plugin must name a known strategy, its ``params``
and ``sweep`` keys must be parameters of the strategy function, its labels must
be unique, and the parameters of a built-in strategy must follow its rules
(:mod:`.params`). Each problem is a ``config.error`` naming the key, with the
list index as the schema errors do: ``phases.strategy.strategies[0].params.fats``.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.plugins.strategy.params import ParamError, ParamRules

if TYPE_CHECKING:
    from harness import Config, ConfigError

__all__ = [
    "MAX_CHECKED_SETS",
    "Signature",
    "check_baseline",
    "check_config",
    "check_executor",
    "signature_of",
]

#: a sweep larger than this is not searched for a valid set at start-up
MAX_CHECKED_SETS = 100_000


@dataclass(frozen=True, slots=True)
class Signature:
    """The keyword parameters a strategy function accepts after ``bars``.

    :param names: parameters that may be passed by keyword, in order.
    :param any_name: the function takes ``**kwargs``: every name is accepted.
    :param required: parameters without a default.
    :param defaults: the defaults of the others.
    """

    names: tuple[str, ...]
    any_name: bool = False
    required: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def accepts(self, name: str) -> bool:
        return self.any_name or name in self.names

    def listing(self) -> str:
        """``"fast, slow"``, ``"fast, slow, or any name"``, or ``"none"``."""
        names = ", ".join(self.names)
        if self.any_name:
            return f"{names}, or any name" if names else "any name"
        return names or "none"


def signature_of(fn: Callable[..., Any]) -> Signature | None:
    """What ``fn(bars, **params)`` accepts as ``params``; ``None`` when unknown.

    The first positional parameter receives ``bars``; positional-only and
    ``*args`` parameters cannot receive a keyword and are left out.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a callable inspect cannot read: accept any name
    kind = inspect.Parameter
    names: list[str] = []
    required: list[str] = []
    defaults: dict[str, Any] = {}
    any_name = False
    bars_taken = False
    for p in sig.parameters.values():
        if p.kind is kind.VAR_KEYWORD:
            any_name = True
            continue
        if p.kind is kind.VAR_POSITIONAL:
            bars_taken = True
            continue
        if not bars_taken and p.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD):
            bars_taken = True
            continue
        if p.kind is kind.POSITIONAL_ONLY:
            continue
        names.append(p.name)
        if p.default is p.empty:
            required.append(p.name)
        else:
            defaults[p.name] = p.default
    return Signature(tuple(names), any_name, tuple(required), defaults)


def check_config(
    config: Config,
    strategies: Mapping[str, Callable[..., Any]],
    rules: Mapping[str, ParamRules],
    plugin: str = "strategy",
) -> None:
    """Check every phase run by ``plugin``; raise the first problem as ``config.error``.

    :param strategies: every known strategy by name.
    :param rules: parameter rules by strategy name (the built-ins whose function is
        the one in ``strategies``).
    :raises ConfigError: naming the file and key of the first problem.
    """
    for phase in config.phases:
        if phase.plugin != plugin:
            continue
        entries: Sequence[Mapping[str, Any]] = phase.settings.get("strategies", ())
        labels: dict[str, int] = {}
        for i, entry in enumerate(entries):
            prefix = f"phases.{phase.name}.strategies[{i}]"
            _EntryCheck(config, prefix, entry, strategies, rules).run()
            label = str(entry.get("label", entry["name"]))
            if label in labels:
                key = f"{prefix}.label" if "label" in entry else f"{prefix}.name"
                raise config.error(
                    key,
                    f"a label no other entry has (strategies[{labels[label]}] is "
                    f"labelled {label!r}; set 'label' to tell them apart)",
                    repr(label),
                )
            labels[label] = i
        check_baseline(config, phase.name, phase.settings)
        check_executor(config, phase.name, phase.settings, plugin)


def check_executor(
    config: Config, phase: str, settings: Mapping[str, Any], plugin: str = "strategy"
) -> None:
    """Where sweeps run: the workers exist, the Dask extra is there, the scheduler answers.

    ``workers`` above the usable CPUs (for a local pool or a LocalCluster), ``executor
    = "dask"`` without the ``harness[dask]`` extra, a ``scheduler`` that does not
    accept a connection, and ``scheduler`` without ``executor = "dask"`` are
    configuration errors. Keys set in ``[plugins.<plugin>]`` are named there.

    :raises ConfigError: naming the key.
    """
    table = config.plugin_settings(plugin)

    def get(key: str, default: Any) -> Any:
        return settings[key] if key in settings else table.get(key, default)

    def key_of(key: str) -> str:
        return f"phases.{phase}.{key}" if key in settings else f"plugins.{plugin}.{key}"

    executor = str(get("executor", "local"))
    scheduler = get("scheduler", None)
    workers = get("workers", 1)
    if scheduler is not None and executor != "dask":
        raise config.error(
            key_of("scheduler"), "a scheduler only with executor = 'dask'", repr(executor)
        )
    if workers != "auto" and (executor == "local" or scheduler is None):
        from harness.plugins.strategy.sweep import usable_cpus

        limit = usable_cpus()
        if int(workers) > limit:
            raise config.error(
                key_of("workers"),
                f"at most {limit} (the CPUs harness may use on this machine) or 'auto'",
                repr(workers),
            )
    if executor != "dask":
        return
    from harness.plugins.strategy.dask_executor import (
        DASK_EXTRA,
        DaskMissing,
        SchedulerUnreachable,
        check_reachable,
        import_distributed,
    )

    try:
        import_distributed()
    except DaskMissing as exc:
        raise config.error(
            key_of("executor"),
            f"the {DASK_EXTRA} extra installed (pip install '{DASK_EXTRA}')",
            f"'dask' ({exc.reason})",
        ) from None
    if scheduler is not None:
        timeout = float(get("scheduler_timeout", 10.0))
        try:
            check_reachable(str(scheduler), timeout=min(timeout, 5.0))
        except SchedulerUnreachable as exc:
            raise config.error(
                key_of("scheduler"),
                "the address of a running Dask scheduler",
                f"{scheduler!r} ({str(exc).split(': ', 1)[-1]})",
            ) from None


def check_baseline(config: Config, phase: str, settings: Mapping[str, Any]) -> None:
    """A phase's ``baseline`` file must exist and hold this phase's figures (:mod:`.baseline`).

    :raises ConfigError: at ``phases.<phase>.baseline``, naming the file and the problem.
    """
    if settings.get("baseline") is None:
        return
    from harness.plugins.strategy.baseline import BaselineError, load

    try:
        load(config.resolve_path(str(settings["baseline"])), phase)
    except BaselineError as exc:
        raise config.error(
            f"phases.{phase}.baseline",
            "a baseline file written by `harness baseline save`",
            str(exc),
        ) from None


@dataclass(slots=True)
class _EntryCheck:
    config: Config
    prefix: str
    entry: Mapping[str, Any]
    strategies: Mapping[str, Callable[..., Any]]
    rules: Mapping[str, ParamRules]

    def error(self, key: str, expected: str, given: str) -> ConfigError:
        return self.config.error(f"{self.prefix}.{key}" if key else self.prefix, expected, given)

    def run(self) -> None:
        name = str(self.entry["name"])
        fn = self.strategies.get(name)
        if fn is None:
            known = ", ".join(sorted(self.strategies)) or "none"
            close = difflib.get_close_matches(name, list(self.strategies), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.error("name", f"a known strategy ({known})", repr(name) + hint)
        params: Mapping[str, Any] = self.entry.get("params", {})
        sweep: Mapping[str, Sequence[Any]] = self.entry.get("sweep", {})
        sig = signature_of(fn)
        if sig is not None:
            self.check_names(name, sig, params, sweep)
        rules = self.rules.get(name)
        if rules is not None:
            defaults = dict(sig.defaults) if sig is not None else {}
            self.check_rules(rules, defaults, params, sweep)

    def check_names(
        self,
        name: str,
        sig: Signature,
        params: Mapping[str, Any],
        sweep: Mapping[str, Sequence[Any]],
    ) -> None:
        expected = f"a parameter of {name} ({sig.listing()})"
        for table, keys in (("params", params), ("sweep", sweep)):
            for key in keys:
                if not sig.accepts(key):
                    raise self.error(f"{table}.{key}", expected, repr(key))
        for key in sig.required:
            if key not in params and key not in sweep:
                raise self.error(
                    "params",
                    f"required key {key!r} (a parameter of {name} without a default)",
                    "missing",
                )

    def check_rules(
        self,
        rules: ParamRules,
        defaults: Mapping[str, Any],
        params: Mapping[str, Any],
        sweep: Mapping[str, Sequence[Any]],
    ) -> None:
        try:
            rules.check({**defaults, **params}, explicit=tuple(params))
        except ParamError as exc:
            raise self.error(f"params.{exc.param}", exc.expected, repr(exc.given)) from None
        for key, values in sweep.items():
            for j, value in enumerate(values):
                try:
                    rules.check_value(key, value)
                except ParamError as exc:
                    raise self.error(f"sweep.{key}[{j}]", exc.expected, repr(exc.given)) from None
        if sweep:
            self.check_some_set_runs(rules, {**defaults, **params}, sweep)

    def check_some_set_runs(
        self, rules: ParamRules, base: Mapping[str, Any], sweep: Mapping[str, Sequence[Any]]
    ) -> None:
        """At least one set of the grid must be valid (fast < slow in one of them)."""
        keys = list(sweep)
        total = 1
        for column in sweep.values():
            total *= len(column)
        if total > MAX_CHECKED_SETS:
            return  # too many to search at start-up: the phase reports failed sets
        first: str | None = None
        for combo in itertools.product(*sweep.values()):
            chosen = dict(zip(keys, combo, strict=True))
            try:
                rules.check({**base, **chosen}, explicit=keys)
            except ParamError as exc:
                first = first or f"{chosen}: {exc}"
                continue
            return
        raise self.error(
            "sweep",
            "a grid with at least one valid parameter set",
            f"{total} sets, none valid (first {first})",
        )
