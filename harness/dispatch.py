"""The one way hooks are called: through pluggy's caller, isolated or by owner.

Every hook call of a run goes through pluggy's ``HookCaller``, so the order of
implementations, ``tryfirst`` / ``trylast`` and wrappers (new-style
``wrapper=True`` and old-style ``hookwrapper=True``) behave exactly as pluggy
documents. Two ways of calling add to that, each in this module only:

* :func:`call_isolated`: one implementation raising must not silence the others
  (sinks, heartbeat contributors, summaries, session hooks, start-up hooks).
  The hook is still called *once* through pluggy's caller; each plain
  implementation runs inside a guard that records its value or exception as a
  :class:`HookResult` naming its plugin, instead of letting the exception end
  pluggy's loop. Wrappers are not guarded: they wrap the whole call, as pluggy
  documents; a wrapper that raises fails the call, and the failure is reported
  under the wrapper's plugin.
* :func:`call_owner`: the phase hooks (``phase_start``, ``phase_run``,
  ``phase_resume``) reach only the plugin that owns the phase, through pluggy's
  :meth:`~pluggy.PluginManager.subset_hook_caller`; every wrapper still runs.

Guards are installed lazily on each plain implementation the first time an
isolated call reaches it, and are transparent outside an isolated call.

Deadlines: while a run is going, its plugin manager is *watched*
(:func:`watch`, :mod:`harness.deadlines`). Every implementation an isolated
call reaches then runs under a deadline by hook kind, and with signals let
through (plugin code never runs with SIGINT/SIGTERM held), except the essential
sink (``jsonl``), whose write runs with signals held so that a line is never
lost or torn. An implementation past its deadline becomes a
:class:`~harness.deadlines.HookTimedOut` result naming its plugin, and the
plugin is skipped by every later isolated call of the run.
"""

from __future__ import annotations

import contextvars
import time
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import pluggy

from harness.deadlines import IDLE, Entry, HookTimeout, Watch

__all__ = [
    "Control",
    "HookResult",
    "call_isolated",
    "call_owner",
    "control_for",
    "unwatch",
    "watch",
]


@dataclass(frozen=True, slots=True)
class HookResult:
    """What one plugin's implementation of an isolated hook gave.

    :param plugin: the plugin's registered name.
    :param value: what it returned (``None`` when it raised).
    :param error: the exception it raised, else ``None``.
    """

    plugin: str
    value: Any = None
    error: Exception | None = None


@dataclass(slots=True, eq=False)
class Control:
    """One watched isolated call: its deadline, the plugins it reached, cancellation.

    :param watch: the run's watch (deadlines, signal scopes).
    :param timeout: seconds each implementation may run.
    :param entered: plugins whose implementation was entered, in call order.
    :param cancelled: set by whoever abandons the call (a thread stuck past its
        deadline): the rest of its implementations are not called.
    """

    watch: Watch
    timeout: float
    entered: list[str] = field(default_factory=list)
    cancelled: bool = False
    entry: Entry | None = None


_monotonic = time.monotonic

#: the watch of each plugin manager while its run is going
_WATCHES: Final[weakref.WeakKeyDictionary[pluggy.PluginManager, Watch]] = (
    weakref.WeakKeyDictionary()
)

#: (hook name, results, keep values, control) of the isolated call running in this context
_CURRENT: Final[
    contextvars.ContextVar[tuple[str, list[HookResult], bool, Control | None] | None]
] = contextvars.ContextVar("harness_isolated_call", default=None)


def watch(pm: pluggy.PluginManager, how: Watch) -> None:
    """Watch every isolated call on ``pm`` from now on (deadlines, signal scopes)."""
    _WATCHES[pm] = how


def unwatch(pm: pluggy.PluginManager) -> None:
    """Stop watching ``pm`` (the run has ended)."""
    _WATCHES.pop(pm, None)


def control_for(pm: pluggy.PluginManager, name: str) -> Control | None:
    """A fresh :class:`Control` for an isolated call of ``name``, or ``None`` if unwatched."""
    how = _WATCHES.get(pm)
    return Control(how, how.timeout(name)) if how is not None else None


class _Guard:
    """A plain hook implementation that reports instead of raising inside an isolated call."""

    __slots__ = ("function", "hook", "plugin")

    def __init__(self, function: Callable[..., Any], hook: str, plugin: str) -> None:
        self.function = function
        self.hook = hook
        self.plugin = plugin

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        current = _CURRENT.get()
        if current is None or current[0] != self.hook:  # not inside call_isolated: transparent
            return self.function(*args, **kwargs)
        if current[3] is not None:
            return self._watched(current[1], current[2], current[3], args, kwargs)
        try:
            value = self.function(*args, **kwargs)
        except Exception as exc:
            current[1].append(HookResult(self.plugin, error=exc))
            return None
        if current[2]:
            current[1].append(HookResult(self.plugin, value=value))
        return value

    def _watched(
        self,
        results: list[HookResult],
        values: bool,
        control: Control,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Run under the call's deadline; signals let through unless the plugin is essential."""
        if control.cancelled:  # abandoned by another thread: call nobody else
            return None
        entry = control.entry
        assert entry is not None
        control.entered.append(self.plugin)
        entry.plugin = self.plugin
        entry.serial = serial = entry.serial + 1
        entry.due = _monotonic() + entry.seconds
        try:
            with control.watch.scope(self.plugin):
                value = self.function(*args, **kwargs)
        except HookTimeout as exc:
            if exc.entry is not entry or exc.serial != serial:
                raise
            value, error = None, None
        except Exception as exc:
            value, error = None, exc
        else:
            error = None
        finally:
            entry.due = IDLE
        if control.cancelled:
            return None
        record = entry.expired
        if record is not None and record.serial == serial:
            if record.reported:
                return None
            record.reported = True
            error = record.error()
        if error is not None:
            results.append(HookResult(self.plugin, error=error))
            return None
        if values:
            results.append(HookResult(self.plugin, value=value))
        return value


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return bool(impl.wrapper or impl.hookwrapper)


def _guard(caller: pluggy.HookCaller) -> list[pluggy.HookImpl]:
    """Guard every plain implementation of ``caller``; returns its wrappers."""
    wrappers = []
    for impl in caller.get_hookimpls():
        if _is_wrapper(impl):
            wrappers.append(impl)
        elif not isinstance(impl.function, _Guard):
            # HookImpl.function is what pluggy's _multicall calls; replacing it with a
            # transparent guard keeps pluggy's ordering and wrapper semantics intact
            setattr(impl, "function", _Guard(impl.function, caller.name, impl.plugin_name))  # noqa: B010
    return wrappers


def _blame(exc: BaseException, wrappers: list[pluggy.HookImpl]) -> str:
    """The wrapper whose code raised ``exc`` (innermost frame first), else all wrappers."""
    codes: dict[object, str] = {}
    for impl in wrappers:
        function = getattr(impl.function, "__func__", impl.function)
        code = getattr(function, "__code__", None)
        if code is not None:
            codes[code] = impl.plugin_name
    frames: list[TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    for frame in reversed(frames):
        name = codes.get(frame.tb_frame.f_code)
        if name is not None:
            return name
    return ", ".join(impl.plugin_name for impl in wrappers) or "harness"


def call_isolated(
    pm: pluggy.PluginManager,
    name: str,
    /,
    *,
    skip: Collection[str] = (),
    values: bool = True,
    control: Control | None = None,
    **kwargs: Any,
) -> list[HookResult]:
    """Call hook ``name`` through pluggy's caller; one failing plugin silences nobody.

    :param pm: the plugin manager.
    :param name: the hook's name (a core hook or one a plugin added).
    :param skip: names of plugins not to call (switched off earlier); their
        wrappers are left out too.
    :param values: ``False`` to collect only failures (a hook whose results
        nobody reads, such as ``sink_event``: cheaper on the hot path).
    :param control: the watched call's :class:`Control` when the caller needs
        to see it (the emitter: which sinks an event reached); by default one
        is made when ``pm`` is watched.
    :param kwargs: the hook's arguments.
    :returns: one :class:`HookResult` per plain implementation that ran (with
        ``values=False``: per one that raised or passed its deadline), in
        pluggy's call order, plus one naming the wrapper's plugin if a wrapper
        raised. ``BaseException`` (interrupts, timeouts) propagates.
    """
    caller: pluggy.HookCaller = getattr(pm.hook, name)
    wrappers = _guard(caller)
    if control is None:
        control = control_for(pm, name)
    if control is not None:
        timed_out = control.watch.watchdog.timed_out()
        if timed_out:  # switched off for the rest of the run
            skip = {*skip, *timed_out}
    if skip:
        removed = [p for p in (pm.get_plugin(n) for n in skip) if p is not None]
        caller = pm.subset_hook_caller(name, removed)
    results: list[HookResult] = []
    token = _CURRENT.set((name, results, values, control))
    if control is not None:
        watchdog = control.watch.watchdog
        control.entry = watchdog.enter(name, control.timeout)
    try:
        caller(**kwargs)
    except Exception as exc:  # only wrappers can raise here: plain implementations are guarded
        results.append(HookResult(_blame(exc, wrappers), error=exc))
    finally:
        _CURRENT.reset(token)
        if control is not None and control.entry is not None:
            watchdog.leave(control.entry)
    return results


def call_owner(pm: pluggy.PluginManager, name: str, owner: str, /, **kwargs: Any) -> Any:
    """Call hook ``name`` on the plugin ``owner`` only (and on every wrapper).

    Used for the phase hooks: a plugin that implements ``phase_run`` is asked
    to run only the phases whose ``plugin`` is its name. Exceptions propagate
    to the caller (the run loop turns them into the phase's outcome).
    """
    caller: pluggy.HookCaller = getattr(pm.hook, name)
    others = [
        impl.plugin
        for impl in caller.get_hookimpls()
        if impl.plugin_name != owner and not _is_wrapper(impl)
    ]
    return pm.subset_hook_caller(name, others)(**kwargs)
