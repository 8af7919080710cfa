"""The heartbeat thread: deadline-scheduled ``heartbeat`` events while a phase runs."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

from harness.hookcall import call_each

if TYPE_CHECKING:
    from harness.context import PhaseContext

__all__ = ["Heartbeat"]


class Heartbeat:
    """Emits a ``heartbeat`` event every ``interval`` seconds on its own thread.

    Beats are scheduled at ``start + k * interval`` (no drift: a slow beat does
    not push the next one later; beats missed entirely are skipped, not
    bunched). Metrics are the phase's ``ctx.metrics`` updated by every
    ``heartbeat`` implementation; one that raises or returns a non-number is
    reported once and skipped for the rest of the run.
    """

    def __init__(self, ctx: PhaseContext, interval: float, broken: set[str]) -> None:
        self._ctx = ctx
        self._interval = interval
        self._broken = broken
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"harness-heartbeat-{ctx.phase.name}", daemon=True
        )
        self.beats = 0

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        start = time.monotonic()
        k = 1
        while True:
            due = start + k * self._interval
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self.beat(time.monotonic() - start)
            # next deadline strictly in the future
            k = max(k + 1, math.floor((time.monotonic() - start) / self._interval) + 1)

    def beat(self, elapsed: float) -> None:
        ctx = self._ctx
        session = ctx.session
        metrics: dict[str, float | int] = dict(ctx.metrics)
        for result in call_each(session.hook.heartbeat, self._broken, phase=ctx.phase, ctx=ctx):
            problem: BaseException | str | None = result.error
            if problem is None and result.value is not None:
                try:
                    contributed = dict(result.value)
                    bad = [
                        k
                        for k, v in contributed.items()
                        if isinstance(v, bool)
                        or not isinstance(v, int | float)
                        or not math.isfinite(v)
                    ]
                except (TypeError, ValueError) as exc:
                    problem = exc
                else:
                    if bad:
                        problem = (
                            f"metric {bad[0]!r} is {contributed[bad[0]]!r}, not a finite number"
                        )
                    else:
                        metrics.update(contributed)
            if problem is not None:
                self._broken.add(result.plugin)
                session.fault(result.plugin, "heartbeat", problem, phase=ctx.phase.name)
        metrics = {
            k: v
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        }
        self.beats += 1
        session.emit(
            "heartbeat",
            "Heartbeat",
            phase=ctx.phase.name,
            level="debug",
            metrics=metrics,
            data={"elapsed_s": round(elapsed, 3), "attempt": ctx.attempt},
        )
