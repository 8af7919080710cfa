"""How a running phase is stopped: signals and per-phase timeouts.

Phases run in the main thread. SIGINT/SIGTERM and the phase timer (SIGALRM,
``setitimer``) raise an exception *inside* the running phase code, at the next
Python bytecode; that also ends a ``time.sleep``, a blocking socket read or a
``subprocess.wait`` at once. Code running inside a C extension that does not
return to Python (a long numpy kernel, a blocking C library call that retries
on ``EINTR``) is interrupted only when it returns.

The harness's own bookkeeping (emitting an event, writing a file) runs inside
:meth:`Interrupts.critical`: a signal arriving then is held and raised when the
critical section ends, so no line or file is ever left half written.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["Interrupted", "Interrupts", "PhaseTimeout"]


def _restore(signum: int, handler: Any) -> None:
    signal.signal(signum, handler)


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
    """Installs the signal handlers for one run and defers them in critical sections."""

    def __init__(self) -> None:
        self._depth = 0
        self._pending: BaseException | None = None
        self._timer: PhaseTimeout | None = None
        self.signame: str | None = None
        self.timer_fired = False
        self.stopped = threading.Event()
        self._restore: list[Callable[[], None]] = []
        self._critical = _Critical(self)

    # -- installation -----------------------------------------------------
    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # in-process runs from a worker thread: no signal handling
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            old = signal.signal(signum, self._handle)
            self._restore.append(functools.partial(_restore, signum, old))

    def uninstall(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        while self._restore:
            self._restore.pop()()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        exc: BaseException
        if signum == signal.SIGALRM:
            if self._timer is None:
                return
            self.timer_fired = True
            exc = self._timer
        else:
            self.signame = signal.Signals(signum).name
            self.stopped.set()
            exc = Interrupted(self.signame)
        if self._depth:
            if self._pending is None or isinstance(exc, Interrupted):
                self._pending = exc
            return
        raise exc

    # -- scopes -------------------------------------------------------------
    def critical(self) -> _Critical:
        """Hold signals until the block ends (nests; a no-op off the main thread)."""
        return self._critical

    @contextmanager
    def deadline(self, phase: str, timeout: float | None) -> Iterator[None]:
        """Raise :class:`PhaseTimeout` inside the block once ``timeout`` seconds pass."""
        self.timer_fired = False  # a timeout of an earlier phase must not leak into this one
        if timeout is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        self._timer = PhaseTimeout(phase, timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._timer = None
            if isinstance(self._pending, PhaseTimeout):
                self._pending = None

    def hold(self) -> None:
        """Enter a critical section that never ends (run teardown): signals only recorded."""
        self._depth += 1


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
            pending, owner._pending = owner._pending, None
            raise pending
