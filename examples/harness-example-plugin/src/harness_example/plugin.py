"""The ``example`` plugin: a phase that ticks, with its own event type and heartbeat metrics.

Loaded in every run through the ``harness`` entry point, so each hook does
nothing unless one of its phases is configured::

    [phases.hello]
    plugin = "example"
    count = 3          # ticks
    interval = 0.0     # seconds between ticks (ctx.sleep: interruptible, skipped in tests)
    fail_at = 2        # optional: fail the phase at this tick

Every tick is an ``example.tick`` event (its ``data`` schema is declared in
``event_schemas``); the live tick rate goes into heartbeats; the summary gets
an ``example`` section.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness import PhaseFailed, PhaseResult, hookimpl

if TYPE_CHECKING:
    from harness import Phase, PhaseContext, Session

NAME = "example"

PHASE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "count": {"type": "integer", "minimum": 0, "default": 3},
        "interval": {"type": "number", "minimum": 0, "default": 0.0},
        "fail_at": {"type": ["integer", "null"], "minimum": 1, "default": None},
    },
}

TICK_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tick", "total"],
    "properties": {
        "tick": {"type": "integer", "minimum": 1},
        "total": {"type": "integer", "minimum": 0},
    },
}


@hookimpl
def phase_schema() -> Mapping[str, Any]:
    """Validates ``[phases.<name>]`` tables whose ``plugin = "example"``."""
    return PHASE_SCHEMA


@hookimpl
def event_schemas() -> Mapping[str, Mapping[str, Any]]:
    """The event types this plugin emits (namespaced ``example.*``)."""
    return {"example.tick": TICK_SCHEMA}


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    """Tick ``count`` times; fail at ``fail_at`` (called only for phases of this plugin)."""
    count = int(phase.settings["count"])
    fail_at = phase.settings["fail_at"]
    ctx.metrics["ticks"] = 0
    for tick in range(1, count + 1):
        ctx.metrics["ticks"] = tick
        ctx.emit("example.tick", f"tick {tick}/{count}", data={"tick": tick, "total": count})
        if fail_at is not None and tick == fail_at:
            raise PhaseFailed(f"tick {tick} of {count}: fail_at = {fail_at} reached")
        ctx.sleep(float(phase.settings["interval"]))
    return PhaseResult.passed(f"{count} ticks", metrics={"ticks": count})


@hookimpl
def heartbeat(phase: Phase, ctx: PhaseContext) -> Mapping[str, float | int] | None:
    """The tick rate of a running example phase (other phases: nothing)."""
    if phase.plugin != NAME:
        return None
    elapsed = max(time.monotonic() - ctx.started, 1e-9)
    return {"ticks_per_s": round(float(ctx.metrics.get("ticks", 0)) / elapsed, 3)}


@hookimpl
def summarize(session: Session) -> Mapping[str, Any] | None:
    """An ``example`` section, only when an example phase was selected."""
    mine = [r for r in session.reports if r.plugin == NAME]
    if not mine:
        return None
    return {
        "example": {
            "phases": [r.name for r in mine],
            "ticks": sum(int(r.metrics.get("ticks", 0)) for r in mine),
        }
    }
