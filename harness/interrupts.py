"""How a running phase is stopped: signals, per-phase timeouts, hook deadlines.

Phases run in the main thread. SIGINT/SIGTERM and the phase timer (SIGALRM,
``setitimer``) raise an exception *inside* the running phase code, at the next
Python bytecode; that also ends a ``time.sleep``, a blocking socket read or a
``subprocess.wait`` at once. Code running inside a C extension that does not
return to Python (a long numpy kernel, a blocking C library call that retries
on ``EINTR``) is interrupted only when it returns.

Signals are held only around the harness's *own* short writes
(:meth:`Interrupts.critical`: assigning an event's ``seq`` and handing it to the
essential ``jsonl`` sink, writing ``state.json``), so no line or file is left
half written and no ``seq`` is lost. Plugin code never runs with signals held:
:mod:`harness.dispatch` runs every other implementation inside
:meth:`Interrupts.opened`.

* The **first** SIGINT/SIGTERM raises :class:`Interrupted` (held ones: when the
  write ends); the run ends gracefully (exit 2, ``interrupted``, a summary).
  From then on every hook gets at most
  :data:`~harness.deadlines.STOP_HOOK_TIMEOUT` seconds, and the whole run
  :data:`~harness.deadlines.STOP_GRACE` seconds, after which it exits at once.
* A **second** signal exits at once (``os._exit``) with what is on disk, as
  pytest's second Ctrl-C does; with the summary's exit code once
  ``summary.json`` is written, else 2.
* Once the run's outcome is decided (teardown, :meth:`Interrupts.hold`), a
  first signal changes nothing: it only shortens the remaining deadlines.
* A hook past its deadline in the main thread gets
  :class:`~harness.deadlines.HookTimeout` raised inside it (the watchdog sends
  SIGALRM to the main thread).
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from harness.deadlines import (
    STOP_GRACE,
    STOP_HOOK_TIMEOUT,
    Entry,
    HookTimeout,
    Watchdog,
    hard_exit,
    signal_main,
)

__all__ = ["Interrupted", "Interrupts", "PhaseTimeout"]


def _restore(signum: int, handler: Any) -> None:
    signal.signal(signum, handler)


def _close_wakeup(previous: int, read: int, write: int) -> None:
    signal.set_wakeup_fd(previous)
    os.close(read)
    os.close(write)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; derives from ``BaseException`` like ``KeyboardInterrupt``."""

    def __init__(self, signame: str) -> None:
        self.signame = signame
        super().__init__(f"interrupted by {signame}")


class PhaseTimeout(BaseException):
    """The running phase passed its timeout."""

    def __init__(self, phase: str, timeout: float) -> None:
        self.phase = phase
        self.timeout = timeout
        super().__init__(f"phase {phase!r} timed out after {timeout:g} s")


class Interrupts:
    """Installs the signal handlers for one run; defers them in the harness's own writes."""

    def __init__(self, *, grace: float = STOP_GRACE) -> None:
        self._depth = 0
        self._opened: list[int] = []
        self._pending: BaseException | None = None
        self._timer: PhaseTimeout | None = None
        self._timer_due = 0.0
        self._overdue: tuple[Entry, int] | None = None
        self._holding = False
        self._signals = 0
        self.grace = grace
        self.signame: str | None = None
        self.final_code: int | None = None
        self.timer_fired = False
        self.stopped = threading.Event()
        self._restore: list[Callable[[], None]] = []
        self._critical = _Critical(self)
        self._open = _Opened(self)
        self.watchdog = Watchdog(self._fire_main)

    # -- installation -----------------------------------------------------
    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.watchdog.start()
            return  # in-process runs from a worker thread: no signal handling
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            old = signal.signal(signum, self._handle)
            self._restore.append(functools.partial(_restore, signum, old))
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        self._restore.append(functools.partial(_close_wakeup, previous, read, write))
        self.watchdog.listen(read, self._seen)
        self.watchdog.start()

    def uninstall(self) -> None:
        self.watchdog.stop()
        if threading.current_thread() is threading.main_thread():
            signal.setitimer(signal.ITIMER_REAL, 0)
        while self._restore:
            self._restore.pop()()

    def _seen(self, signum: int) -> None:
        """The watchdog's call for every signal, whichever thread it landed on."""
        if signum not in (signal.SIGINT, signal.SIGTERM):
            return
        self._signals += 1
        if self._signals >= 2:
            code = self.final_code if self.final_code is not None else 2
            hard_exit(code, f"second signal ({signal.Signals(signum).name})")
        self.watchdog.arm_exit(
            self.grace,
            lambda: self.final_code if self.final_code is not None else 2,
            f"{signal.Signals(signum).name}: the run did not end within {self.grace:g} s",
        )
        signal_main()  # the main thread runs its handler now, even inside a blocking call

    def _fire_main(self, entry: Entry, serial: int) -> None:
        """The watchdog's call: implementation ``serial`` of ``entry`` (main thread) is late."""
        self._overdue = (entry, serial)
        signal_main()

    def stopping(self) -> bool:
        """``True`` once SIGINT/SIGTERM arrived (remaining hooks get short deadlines)."""
        return self.signame is not None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        exc: BaseException
        if signum == signal.SIGALRM:
            overdue, self._overdue = self._overdue, None
            if overdue is not None and overdue[0].running(overdue[1]):
                exc = HookTimeout(*overdue)
            elif self._timer is not None and time.monotonic() >= self._timer_due:
                self.timer_fired = True
                exc = self._timer
            else:
                return
        else:
            name = signal.Signals(signum).name
            if self.signame is not None:  # the second signal: leave now
                code = self.final_code if self.final_code is not None else 2
                hard_exit(code, f"second signal ({name})")
            self.signame = name
            self.stopped.set()
            self.watchdog.arm_exit(
                self.grace,
                lambda: self.final_code if self.final_code is not None else 2,
                f"{name}: the run did not end within {self.grace:g} s",
            )
            self.watchdog.shorten(STOP_HOOK_TIMEOUT)
            if self._holding:  # the outcome is decided: only the deadlines shrink
                return
            exc = Interrupted(name)
        if self._depth:
            if self._pending is None or isinstance(exc, Interrupted):
                self._pending = exc
            return
        raise exc

    def _take_pending(self) -> BaseException | None:
        """The held exception to raise now, if it still means anything."""
        pending, self._pending = self._pending, None
        if isinstance(pending, HookTimeout) and not pending.entry.running(pending.serial):
            return None  # that hook has returned meanwhile
        if isinstance(pending, Interrupted) and self._holding:
            return None
        return pending

    # -- scopes -------------------------------------------------------------
    def critical(self) -> _Critical:
        """Hold signals until the block ends (nests; a no-op off the main thread).

        For the harness's own short writes only: never around plugin code.
        """
        return self._critical

    def opened(self) -> _Opened:
        """Let signals through in the block (plugin code), even inside a critical section."""
        return self._open

    @contextmanager
    def deadline(self, phase: str, timeout: float | None) -> Iterator[None]:
        """Raise :class:`PhaseTimeout` inside the block once ``timeout`` seconds pass."""
        self.timer_fired = False  # a timeout of an earlier phase must not leak into this one
        if timeout is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        self._timer = PhaseTimeout(phase, timeout)
        self._timer_due = time.monotonic() + timeout
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._timer = None
            if isinstance(self._pending, PhaseTimeout):
                self._pending = None

    def hold(self) -> None:
        """The run's outcome is decided (teardown): signals no longer raise, only shorten
        deadlines; a second one still exits at once."""
        if not self._holding:
            self._holding = True
            self._depth += 1

    def finished(self, exit_code: int) -> None:
        """``summary.json`` is written: from now on the exit code is ``exit_code``."""
        self.final_code = exit_code


_MAIN_IDENT = threading.main_thread().ident


class _Critical:
    """The context manager behind :meth:`Interrupts.critical` (a class: it is on the hot path)."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Interrupts) -> None:
        self._owner = owner

    def __enter__(self) -> None:
        if threading.get_ident() == _MAIN_IDENT:
            self._owner._depth += 1

    def __exit__(self, *exc: object) -> None:
        owner = self._owner
        if threading.get_ident() != _MAIN_IDENT:
            return
        owner._depth -= 1
        if owner._depth == 0 and owner._pending is not None:
            pending = owner._take_pending()
            if pending is not None:
                raise pending


class _Opened:
    """The context manager behind :meth:`Interrupts.opened`: depth 0 for plugin code."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Interrupts) -> None:
        self._owner = owner

    def __enter__(self) -> None:
        owner = self._owner
        if threading.get_ident() != _MAIN_IDENT:
            return
        owner._opened.append(owner._depth)
        owner._depth = 0
        if owner._pending is not None:
            pending = owner._take_pending()
            if pending is not None:
                owner._depth = owner._opened.pop()
                raise pending

    def __exit__(self, *exc: object) -> None:
        owner = self._owner
        if threading.get_ident() != _MAIN_IDENT:
            return
        owner._depth = owner._opened.pop()
