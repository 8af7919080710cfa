"""The built-in ``retry`` plugin: the run's error policy, answering ``on_error``.

The run loop (phase attempts) and ``ctx.retry(fn, name=...)`` (operations inside
a phase) both ask :hook:`on_error` what to do after an attempt raised; this
plugin answers with :class:`~harness.Retry` or :class:`~harness.GiveUp` from the
pure policy in :mod:`harness.plugins.backoff` (settings, formulas and rules are
documented there). The waiting, the ``retry`` / ``error`` events and the
summary's recovery record belong to the core.

Settings: ``[plugins.retry]``, overridden per phase by ``[phases.<phase>.retry]``
(both validated by :func:`config_schema`). Without a ``seed`` one is drawn at
start-up; it is recorded in ``summary.json`` under ``retry.seed`` so that a
jittered run can be replayed with ``--set plugins.retry.seed=N``.

Turn retries off with ``-p no:retry`` or ``[harness] disable = ["retry"]``; any
other plugin implementing ``on_error`` then decides instead (or nobody does, and
every failure fails at once).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness import hookimpl

from .backoff import SCHEMA, BackoffPolicy, decide

if TYPE_CHECKING:
    from harness import CallInfo, Config, GiveUp, Phase, PhaseContext, Retry, Session

__all__ = ["config_schema", "configure", "on_error", "summarize"]

NAME = "retry"


@dataclass(frozen=True, slots=True)
class _State:
    """What :func:`configure` read: the run-wide policy and the seed in use."""

    policy: BackoffPolicy
    seed: int
    phases: Mapping[str, BackoffPolicy]


_state: _State | None = None


def _pick_seed() -> int:
    return random.SystemRandom().randrange(2**32)


@hookimpl
def config_schema() -> Mapping[str, Any]:
    """The schema of ``[plugins.retry]`` and of every ``[phases.<phase>.retry]``."""
    return SCHEMA


@hookimpl
def configure(config: Config) -> None:
    """Build the run-wide policy and fix the jitter seed for this run."""
    global _state
    policy = BackoffPolicy.from_settings(config.plugin_settings(NAME))
    seed = policy.seed if policy.seed is not None else _pick_seed()
    phases: dict[str, BackoffPolicy] = {}
    for phase in config.phases:
        own = BackoffPolicy.from_settings(config.plugin_settings(NAME, phase=phase.name))
        if own != policy:
            phases[phase.name] = own
    _state = _State(policy, seed, phases)


@hookimpl
def on_error(phase: Phase, ctx: PhaseContext, call: CallInfo) -> Retry | GiveUp:
    """Retry after the scheduled delay, or give up (rules in :mod:`harness.plugins.backoff`)."""
    global _state
    if _state is None:  # configure did not run (a bare plugin manager in a test)
        _state = _State(BackoffPolicy(), _pick_seed(), {})
    policy = BackoffPolicy.from_settings(ctx.settings(NAME))
    return decide(policy, call, seed=policy.seed if policy.seed is not None else _state.seed)


@hookimpl
def summarize(session: Session) -> Mapping[str, Any] | None:
    """Record the seed and the settings (run-wide and per-phase overrides) for replays."""
    if _state is None:
        return None
    section: dict[str, Any] = {"seed": _state.seed, "settings": _state.policy.to_settings()}
    if _state.phases:
        section["phases"] = {name: p.to_settings() for name, p in _state.phases.items()}
    return {"retry": section}
