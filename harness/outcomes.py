"""Outcomes passed between the run loop and plugins as data.

The run loop wraps every phase attempt (and every ``ctx.retry`` operation
attempt) in a frozen :class:`CallInfo`, as pytest's ``CallInfo`` does, and
hands it to the ``on_error`` hook; the hook answers with :class:`Retry` or
:class:`GiveUp`. A phase's own verdict is a :class:`PhaseResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CallInfo", "GiveUp", "PhaseResult", "PhaseStatus", "Retry"]

PhaseStatus = Literal["passed", "failed", "timeout", "skipped"]


@dataclass(frozen=True, slots=True)
class PhaseResult:
    """What ``phase_run`` returns: the phase's outcome.

    :param status: ``"passed"``, ``"failed"`` or ``"skipped"`` (``"timeout"`` is
        set by the run loop only).
    :param message: one line for people: why it failed or was skipped.
    :param metrics: numbers to record on the ``phase_end`` event.
    :param data: JSON-serialisable details (for example a command's output tail).
    """

    status: PhaseStatus = "passed"
    message: str = ""
    metrics: Mapping[str, float | int] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, message: str = "", **kwargs: Any) -> PhaseResult:
        return cls("passed", message, **kwargs)

    @classmethod
    def failed(cls, message: str, **kwargs: Any) -> PhaseResult:
        return cls("failed", message, **kwargs)

    @classmethod
    def skipped(cls, message: str, **kwargs: Any) -> PhaseResult:
        return cls("skipped", message, **kwargs)


@dataclass(frozen=True, slots=True)
class CallInfo:
    """One attempt at a phase or at an operation inside a phase.

    :param phase: the phase's name.
    :param operation: ``None`` for the phase itself, else the name given to
        ``ctx.retry(..., name=...)``.
    :param attempt: 1 for the first try, 2 for the first retry, ...
    :param start: wall-clock start (``time.time()``).
    :param duration: seconds the attempt took.
    :param excinfo: the exception the attempt raised, ``None`` if it returned.
    :param result: what the attempt returned (``None`` when it raised).
    :param elapsed: seconds since the first attempt of this phase or operation
        started (budget accounting for the policy).
    :param deadline_in: seconds left before the phase timeout, ``None`` if the
        phase has no timeout. A policy must not schedule a retry past it.
    """

    phase: str
    operation: str | None
    attempt: int
    start: float
    duration: float
    excinfo: BaseException | None = None
    result: Any = None
    elapsed: float = 0.0
    deadline_in: float | None = None

    @property
    def failed(self) -> bool:
        return self.excinfo is not None

    @classmethod
    def from_call(
        cls,
        fn: Callable[[], Any],
        *,
        phase: str,
        operation: str | None,
        attempt: int,
        first: float,
        deadline_in: Callable[[], float | None] = lambda: None,
    ) -> CallInfo:
        r"""Call ``fn`` once and record how it went (pytest's ``CallInfo.from_call``).

        :param first: ``time.monotonic()`` when the first attempt started.
        :param deadline_in: seconds left before the phase timeout, asked after the call.

        ``Exception``\ s are captured in ``excinfo``; ``BaseException`` (interrupts,
        the phase timeout) propagates.
        """
        start, t0 = time.time(), time.monotonic()
        result: Any = None
        excinfo: Exception | None = None
        try:
            result = fn()
        except Exception as exc:
            excinfo = exc
        now = time.monotonic()
        return cls(
            phase,
            operation,
            attempt,
            start,
            now - t0,
            excinfo=excinfo,
            result=result,
            elapsed=now - first,
            deadline_in=deadline_in(),
        )


@dataclass(frozen=True, slots=True)
class Retry:
    """``on_error``'s answer: run the attempt again after ``delay`` seconds.

    :param delay: seconds to wait (the wait is interruptible and heartbeats go on).
    :param reason: one line for the ``retry`` event.
    :param data: extra JSON-serialisable details recorded on the ``retry`` event
        (for example the jitter mode or the seed).
    """

    delay: float
    reason: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GiveUp:
    """``on_error``'s answer: stop trying; the phase (or operation) fails."""

    reason: str = ""
