"""Hook deadlines and the stop watchdog: no plugin can make a run unkillable.

Every isolated hook call of a run (:func:`harness.dispatch.call_isolated`) is
watched: each implementation gets a deadline by hook kind (:data:`DEFAULT_TIMEOUTS`,
overridden by ``[harness.hook_timeout]``). One watchdog thread per run checks
the running implementations a few times a second:

* in the **main thread**, an implementation past its deadline gets
  :class:`HookTimeout` raised inside it (the watchdog sends ``SIGALRM`` to the
  main thread; :mod:`harness.interrupts` raises it there, which also ends a
  ``time.sleep`` or a blocking read);
* in **another thread** (the heartbeat thread), a thread cannot be pre-empted:
  the implementation is *abandoned*, the thread is left behind (daemon), and
  whoever waits for it (the emitter's lock, the heartbeat's join) goes on.

Either way the plugin is named in an ``error`` event and ``plugin_errors`` and
is switched off: no isolated hook of it is called again in this run.

The watchdog also enforces the stop grace: once the first SIGINT/SIGTERM has
arrived, the run has :data:`STOP_GRACE` seconds to end; then (or at a second
signal) the process exits at once with what is already on disk.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "DEFAULT_TIMEOUTS",
    "STOP_GRACE",
    "STOP_HOOK_TIMEOUT",
    "Entry",
    "Expired",
    "HookTimedOut",
    "HookTimeout",
    "Watch",
    "Watchdog",
    "hard_exit",
    "hook_timeouts",
]

#: Seconds an implementation of each isolated hook may run (``[harness.hook_timeout]``).
DEFAULT_TIMEOUTS: Final[Mapping[str, float]] = {
    "session_start": 30.0,
    "sink_event": 10.0,
    "sink_flush": 30.0,
    "heartbeat": 10.0,
    "on_error": 10.0,
    "summarize": 30.0,
    "session_finish": 30.0,
}
#: Deadline of any other isolated hook a plugin adds and calls during a run.
OTHER_TIMEOUT: Final = 60.0
#: After the first signal: each remaining hook call gets at most this long.
STOP_HOOK_TIMEOUT: Final = 2.0
#: After the first signal: the run must have ended within this many seconds.
STOP_GRACE: Final = 10.0
#: How often the watchdog looks (seconds); deadlines are this precise.
TICK: Final = 0.1

_monotonic = time.monotonic
_get_ident = threading.get_ident


def hook_timeouts(document: Mapping[str, Any]) -> dict[str, float]:
    """Per-hook deadlines: the defaults updated by ``[harness.hook_timeout]``."""
    timeouts = dict(DEFAULT_TIMEOUTS)
    table = document.get("harness", {}).get("hook_timeout", {})
    if isinstance(table, Mapping):
        for name, value in table.items():
            if isinstance(value, int | float) and math.isfinite(value) and value > 0:
                timeouts[str(name)] = float(value)
    return timeouts


class HookTimedOut(Exception):
    """What is reported for an implementation that passed its deadline."""

    def __init__(self, hook: str, plugin: str, seconds: float) -> None:
        self.hook = hook
        self.plugin = plugin
        self.seconds = seconds
        super().__init__(
            f"{hook} of plugin {plugin!r} did not return within its deadline of {seconds:g} s"
        )


class HookTimeout(BaseException):
    """Raised inside an implementation (main thread) that passed its deadline."""

    def __init__(self, entry: Entry, serial: int) -> None:
        self.entry = entry
        self.serial = serial
        super().__init__(f"{entry.hook} of plugin {entry.plugin!r} passed its deadline")


IDLE: Final = math.inf


class Expired:
    """An implementation that passed its deadline (reported once, by whoever sees it first)."""

    __slots__ = ("hook", "plugin", "reported", "seconds", "serial")

    def __init__(self, plugin: str, hook: str, seconds: float, serial: int) -> None:
        self.plugin = plugin
        self.hook = hook
        self.seconds = seconds
        self.serial = serial
        self.reported = False

    def error(self) -> HookTimedOut:
        return HookTimedOut(self.hook, self.plugin, self.seconds)


class Entry:
    """One watched isolated call (a plain class, made once per call: the hot path).

    The guard of each implementation sets ``plugin``, bumps ``serial`` and sets
    ``due`` when it starts, and sets ``due`` to :data:`IDLE` when it returns.
    """

    __slots__ = ("done", "due", "expired", "hook", "plugin", "seconds", "serial", "thread")

    def __init__(self, hook: str, seconds: float, thread: int) -> None:
        self.hook = hook
        self.seconds = seconds
        self.thread = thread
        self.plugin = ""
        self.serial = 0
        self.due = IDLE
        self.expired: Expired | None = None
        self.done = False

    def running(self, serial: int) -> bool:
        """``True`` while implementation number ``serial`` of this call still runs."""
        return self.serial == serial and self.due != IDLE and not self.done

    def expired_now(self) -> Expired | None:
        """The running implementation's expiry record, if it passed its deadline."""
        record = self.expired
        if record is not None and record.serial == self.serial and not self.done:
            return record
        return None


def hard_exit(code: int, why: str) -> None:
    """Leave now: one line on stderr, no plugin code, no waiting (``os._exit``)."""
    with contextlib.suppress(Exception):
        os.write(2, f"harness: {why}: exiting now (exit {code})\n".encode())
    os._exit(code)


@dataclass(slots=True, eq=False)
class Watch:
    """What :mod:`harness.dispatch` needs to watch the hook calls of one run.

    :param timeouts: deadline per hook name.
    :param watchdog: the thread that enforces them.
    :param hold: a context manager holding signals (:meth:`Interrupts.critical`).
    :param open: a context manager letting signals through (:meth:`Interrupts.opened`).
    :param essential: plugins whose implementations run with signals held (the
        ``jsonl`` sink: its line must be written whole).
    :param stopping: ``True`` once the run is being stopped (deadlines shrink).
    """

    timeouts: Mapping[str, float]
    watchdog: Watchdog
    hold: AbstractContextManager[None]
    open: AbstractContextManager[None]
    essential: frozenset[str] = frozenset()
    stopping: Callable[[], bool] = lambda: False
    _scopes: dict[str, AbstractContextManager[None]] = field(default_factory=dict)

    def timeout(self, hook: str) -> float:
        seconds = self.timeouts.get(hook, OTHER_TIMEOUT)
        if self.stopping():
            seconds = min(seconds, STOP_HOOK_TIMEOUT)
        return seconds

    def essential_plugin(self, plugin: str) -> bool:
        return plugin.split(".", 1)[0] in self.essential

    def scope(self, plugin: str) -> AbstractContextManager[None]:
        """Signals held (an essential plugin) or let through (any other), cached per plugin."""
        scope = self._scopes.get(plugin)
        if scope is None:
            scope = self._scopes[plugin] = self.hold if self.essential_plugin(plugin) else self.open
        return scope


class Watchdog:
    """One daemon thread per run: hook deadlines and the stop grace period."""

    def __init__(self, fire_main: Callable[[Entry, int], None]) -> None:
        self._fire_main = fire_main
        self._active: dict[int, Entry] = {}
        self._expired: list[Expired] = []
        self._timed_out: frozenset[str] = frozenset()
        self._exit_at: float | None = None
        self._exit_code: Callable[[], int] = lambda: 2
        self._exit_why = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._main = threading.main_thread().ident
        self._wakeup: int | None = None
        self._on_signal: Callable[[int], None] = lambda signum: None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="harness-watchdog", daemon=True)
            self._thread.start()

    def listen(self, fd: int, on_signal: Callable[[int], None]) -> None:
        """Read signal numbers from ``fd`` (``signal.set_wakeup_fd``) and report each one.

        A signal may land on any thread; the main thread then runs its Python
        handler only when it next executes Python code, which a blocking call in
        a plugin can postpone forever. This thread sees every signal at once.
        """
        self._wakeup, self._on_signal = fd, on_signal

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)
        self._thread = None

    # -- watching -------------------------------------------------------------
    def enter(self, hook: str, seconds: float) -> Entry:
        entry = Entry(hook, seconds, _get_ident())
        self._active[id(entry)] = entry
        return entry

    def leave(self, entry: Entry) -> None:
        entry.done = True
        self._active.pop(id(entry), None)

    def timed_out(self) -> frozenset[str]:
        """Plugins that passed a deadline in this run (switched off)."""
        return self._timed_out

    def unreported(self) -> list[Expired]:
        """Expired implementations nobody has reported yet (marks them reported)."""
        out = [e for e in self._expired if not e.reported]
        for record in out:
            record.reported = True
        return out

    def arm_exit(self, seconds: float, code: Callable[[], int], why: str) -> None:
        """Exit the process ``seconds`` from now unless the run has ended by then."""
        if self._exit_at is None:
            self._exit_at = time.monotonic() + seconds
            self._exit_code, self._exit_why = code, why

    def shorten(self, seconds: float) -> None:
        """Give every running implementation at most ``seconds`` more (the run is stopping)."""
        due = time.monotonic() + seconds
        for entry in list(self._active.values()):
            if entry.due == IDLE:  # between implementations: the next ones get less
                entry.seconds = min(entry.seconds, seconds)
            elif entry.due > due:
                start = entry.due - entry.seconds
                entry.due, entry.seconds = due, due - start

    def disarm_exit(self) -> None:
        self._exit_at = None

    # -- the thread -----------------------------------------------------------
    def _wait(self) -> bool:
        """Sleep one tick (reporting signals meanwhile); ``False`` once stopped."""
        fd = self._wakeup
        if fd is None:
            return not self._stop.wait(TICK)
        with contextlib.suppress(OSError, ValueError):
            ready, _, _ = select.select([fd], [], [], TICK)
            if ready:
                for signum in os.read(fd, 64):
                    self._on_signal(signum)
        return not self._stop.is_set()

    def _loop(self) -> None:
        while self._wait():
            now = time.monotonic()
            if self._exit_at is not None and now >= self._exit_at:
                hard_exit(self._exit_code(), self._exit_why)
            for entry in list(self._active.values()):
                serial = entry.serial
                if entry.done or now < entry.due:
                    continue
                if entry.expired is None or entry.expired.serial != serial:
                    record = Expired(entry.plugin, entry.hook, entry.seconds, serial)
                    entry.expired = record
                    self._timed_out = self._timed_out | {record.plugin}
                    self._expired.append(record)
                if entry.thread == self._main:
                    # again every second until it returns: a hook may swallow one exception
                    entry.due = now + 1.0
                    self._fire_main(entry, serial)
                else:
                    self._active.pop(id(entry), None)  # abandoned: nobody can stop it


def signal_main() -> None:
    """Wake the main thread with ``SIGALRM`` (its handler raises the pending timeout)."""
    ident = threading.main_thread().ident
    if ident is not None and sys.platform != "win32":
        with contextlib.suppress(OSError, ValueError):
            signal.pthread_kill(ident, signal.SIGALRM)
