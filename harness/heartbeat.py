"""The heartbeat thread: deadline-scheduled ``heartbeat`` events while a phase runs."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

from harness.dispatch import call_isolated

if TYPE_CHECKING:
    from harness.context import PhaseContext
    from harness.runstate import RunState

__all__ = ["Heartbeat"]


class Heartbeat:
    """Emits a ``heartbeat`` event every ``interval`` seconds on its own thread.

    Beats are scheduled at ``start + k * interval`` (no drift: a slow beat does
    not push the next one later; beats missed entirely are skipped, not
    bunched). Metrics are the phase's ``ctx.metrics`` updated by every
    ``heartbeat`` implementation; one that raises or returns a non-number is
    reported once and skipped for the rest of the run.
    """

    def __init__(
        self, state: RunState, ctx: PhaseContext, interval: float, broken: set[str]
    ) -> None:
        self._state = state
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
        # a beat stuck in a plugin past its deadline is abandoned (daemon thread): the
        # emitter takes its lock over, the hook is reported when the run ends
        self._thread.join(timeout=1)

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
        ctx, state = self._ctx, self._state
        metrics: dict[str, float | int] = dict(ctx.metrics)
        results = call_isolated(state.pm, "heartbeat", skip=self._broken, phase=ctx.phase, ctx=ctx)
        for result in results:
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
                state.fault(result.plugin, "heartbeat", problem, phase=ctx.phase.name)
        metrics = {
            k: v
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        }
        self.beats += 1
        state.emit(
            "heartbeat",
            "Heartbeat",
            phase=ctx.phase.name,
            level="debug",
            metrics=metrics,
            data={"elapsed_s": round(elapsed, 3), "attempt": ctx.attempt},
        )
