"""The retry policy as pure data and functions: settings, delay schedule, decision.

Nothing here sleeps, emits or reads configuration; the ``retry`` plugin
(:mod:`harness.plugins.retry`) builds a :class:`BackoffPolicy` from the
``[plugins.retry]`` table (merged with ``[phases.<phase>.retry]``) and hands each
failed attempt to :func:`decide`.

Delay formulas
==============

Retry ``n`` (``n = 1`` after the first failed attempt) has the *nominal* delay::

    nominal(n) = min(max_delay, base_delay * factor ** (n - 1))

and the delay actually scheduled depends on ``jitter`` (``U(a, b)`` is a uniform
draw from the run's seeded random stream)::

    none          d(n) = nominal(n)
    full          d(n) = U(0, nominal(n))
    equal         d(n) = nominal(n) / 2 + U(0, nominal(n) / 2)
    decorrelated  d(n) = min(max_delay, U(base_delay, 3 * d(n - 1))),  d(0) = base_delay

(``decorrelated`` is the AWS Architecture Blog's "decorrelated jitter".) So every
delay lies in ``[0, max_delay]``; ``none`` and ``equal`` never go below
``nominal(n) / 2``; ``decorrelated`` never goes below ``min(base_delay, max_delay)``.

Reproducibility: the random stream of a phase (``operation = None``) or of one
named operation is ``random.Random(json.dumps([seed, phase, operation]))``, and
the delay of retry ``n`` is the ``n``-th draw of the schedule from the start of
that stream. So a delay is a pure function of ``(policy, seed, phase, operation,
n)``: the same seed gives the same delays in every run, on every machine.

Decision
========

For a failed attempt number ``a`` (``call.attempt``) :func:`decide` gives up when

1. the exception is not an :class:`Exception` (``KeyboardInterrupt``, ...);
2. it is a :class:`~harness.errors.NonRetryableError` (which includes
   :class:`~harness.errors.PhaseFailed`), whatever the settings say;
3. a name in ``never_retry`` matches it;
4. ``retry_on`` is non-empty, no name in it matches, and it is not a
   :class:`~harness.errors.RetryableError` (an error that says it is retryable
   is retried unless ``never_retry`` names it);
5. ``a > max_retries`` (so at most ``max_retries + 1`` attempts in all);
6. with ``max_elapsed`` set, ``call.elapsed + delay > max_elapsed`` (the budget
   counts from the start of the first attempt and includes the attempts' own
   run time);
7. with a phase timeout, ``delay >= call.deadline_in`` (the retry would start
   after the phase is already over).

Otherwise it answers ``Retry(delay)`` with ``delay = d(a)``; when the error is a
:class:`~harness.errors.RetryableError` with ``retry_after`` set, the delay is
``min(retry_after, max_delay, max_elapsed - call.elapsed)`` instead (the last
term only with a budget), never below 0.

A name matches an exception when it equals, for some class ``C`` in
``type(exc).__mro__``, either ``C.__name__`` (``"TimeoutError"``) or
``C.__module__ + "." + C.__qualname__`` (``"httpx.ConnectTimeout"``,
``"builtins.TimeoutError"``): matching is by subclass.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any, Literal, Protocol, get_args

from harness import GiveUp, NonRetryableError, Retry, RetryableError

__all__ = [
    "JITTER_MODES",
    "SCHEMA",
    "BackoffPolicy",
    "Failure",
    "decide",
    "delay_bounds",
    "delays",
    "matches",
    "nominal_delay",
    "schedule",
    "stream",
]

Jitter = Literal["none", "full", "equal", "decorrelated"]
JITTER_MODES: tuple[str, ...] = get_args(Jitter)

#: JSON Schema (draft 2020-12) of ``[plugins.retry]`` and ``[phases.<phase>.retry]``.
SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "retry plugin settings",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 1000,
            "default": 3,
            "description": "Retries after the first attempt (attempts = max_retries + 1).",
        },
        "base_delay": {
            "type": "number",
            "minimum": 0,
            "maximum": 86400,
            "default": 1.0,
            "description": "Seconds before the first retry (before jitter).",
        },
        "factor": {
            "type": "number",
            "minimum": 1,
            "maximum": 100,
            "default": 2.0,
            "description": "Growth of the nominal delay per retry.",
        },
        "max_delay": {
            "type": "number",
            "minimum": 0,
            "maximum": 86400,
            "default": 30.0,
            "description": "Cap on every single delay, in seconds.",
        },
        "jitter": {
            "enum": list(JITTER_MODES),
            "default": "none",
            "description": "How delays are randomised; see the formulas in the README.",
        },
        "max_elapsed": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 604800,
            "description": "Total retry budget in seconds from the first attempt's start.",
        },
        "retry_on": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "Exception type names to retry (by subclass); empty: any Exception.",
        },
        "never_retry": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "Exception type names never retried (by subclass).",
        },
        "seed": {
            "type": "integer",
            "minimum": 0,
            "maximum": 2**63 - 1,
            "description": "Seed of the jitter streams; picked at start-up and recorded if absent.",
        },
    },
}


@dataclass(frozen=True, kw_only=True, slots=True)
class BackoffPolicy:
    """The retry policy's settings (see the module docstring for the formulas).

    :param max_retries: retries after the first attempt.
    :param base_delay: seconds before the first retry, before jitter.
    :param factor: growth of the nominal delay per retry (``>= 1``).
    :param max_delay: cap on every delay.
    :param jitter: ``"none"``, ``"full"``, ``"equal"`` or ``"decorrelated"``.
    :param max_elapsed: total budget in seconds, ``None`` for none.
    :param retry_on: exception type names to retry; empty means any ``Exception``.
    :param never_retry: exception type names never to retry.
    :param seed: seed of the jitter streams (``None``: the caller must supply one).
    """

    max_retries: int = 3
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: Jitter = "none"
    max_elapsed: float | None = None
    retry_on: tuple[str, ...] = ()
    never_retry: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise ValueError(f"factor must be a finite number >= 1, got {self.factor}")
        if self.jitter not in JITTER_MODES:
            raise ValueError(f"jitter must be one of {', '.join(JITTER_MODES)}, got {self.jitter}")
        if self.max_elapsed is not None and not (
            math.isfinite(self.max_elapsed) and self.max_elapsed > 0
        ):
            raise ValueError(f"max_elapsed must be a finite number > 0, got {self.max_elapsed}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> BackoffPolicy:
        """Build a policy from a (schema-validated) settings table; missing keys take defaults."""
        known = {k: v for k, v in settings.items() if k in cls.__dataclass_fields__}
        for key in ("retry_on", "never_retry"):
            if key in known:
                known[key] = tuple(known[key])
        for key in ("base_delay", "factor", "max_delay", "max_elapsed"):
            if known.get(key) is not None:
                known[key] = float(known[key])
        return cls(**known)

    def to_settings(self) -> dict[str, Any]:
        """The policy as a JSON-serialisable settings table (``None`` values left out)."""
        out = asdict(self)
        out["retry_on"] = list(self.retry_on)
        out["never_retry"] = list(self.never_retry)
        return {k: v for k, v in out.items() if v is not None}


class Failure(Protocol):
    """What :func:`decide` reads of a failed attempt (:class:`harness.outcomes.CallInfo`)."""

    @property
    def phase(self) -> str: ...
    @property
    def operation(self) -> str | None: ...
    @property
    def attempt(self) -> int: ...
    @property
    def excinfo(self) -> BaseException | None: ...
    @property
    def elapsed(self) -> float: ...
    @property
    def deadline_in(self) -> float | None: ...


# -------------------------------------------------------------------------
# Schedule
# -------------------------------------------------------------------------


def nominal_delay(policy: BackoffPolicy, n: int) -> float:
    """``min(max_delay, base_delay * factor ** (n - 1))`` for retry ``n >= 1``, overflow-safe."""
    if n < 1:
        raise ValueError(f"retry number must be >= 1, got {n}")
    try:
        grown = policy.base_delay * policy.factor ** (n - 1)
    except OverflowError:
        grown = math.inf if policy.base_delay > 0 else 0.0
    return min(policy.max_delay, grown)


def stream(seed: int, phase: str, operation: str | None) -> random.Random:
    """The seeded random stream of one phase (``operation=None``) or one named operation."""
    return random.Random(json.dumps([seed, phase, operation]))


def delays(policy: BackoffPolicy, rng: random.Random) -> Iterator[float]:
    """The endless sequence ``d(1), d(2), ...`` drawn from ``rng`` (budget not applied)."""
    prev = policy.base_delay
    n = 0
    while True:
        n += 1
        nominal = nominal_delay(policy, n)
        if policy.jitter == "none":
            delay = nominal
        elif policy.jitter == "full":
            delay = rng.uniform(0.0, nominal)
        elif policy.jitter == "equal":
            delay = nominal / 2 + rng.uniform(0.0, nominal / 2)
        else:  # decorrelated
            delay = min(policy.max_delay, rng.uniform(policy.base_delay, prev * 3))
            prev = delay
        yield min(max(delay, 0.0), policy.max_delay)


def delay_bounds(policy: BackoffPolicy, n: int, prev: float | None = None) -> tuple[float, float]:
    """The closed interval retry ``n``'s delay lies in (``prev``: d(n-1), for decorrelated)."""
    nominal = nominal_delay(policy, n)
    if policy.jitter == "none":
        return nominal, nominal
    if policy.jitter == "full":
        return 0.0, nominal
    if policy.jitter == "equal":
        return nominal / 2, nominal
    before = policy.base_delay if prev is None else prev
    low, high = sorted((policy.base_delay, 3 * before))
    return min(policy.max_delay, low), min(policy.max_delay, high)


def schedule(
    policy: BackoffPolicy, *, phase: str = "", operation: str | None = None, seed: int | None = None
) -> list[float]:
    """The delays of retries ``1..max_retries`` when every attempt fails instantly.

    Truncated where the running sum would pass ``max_elapsed``, so ``sum(schedule)``
    never exceeds the budget. ``seed`` defaults to ``policy.seed`` (then 0).
    """
    rng = stream(_seed(policy, seed), phase, operation)
    out: list[float] = []
    total = 0.0
    for delay in islice(delays(policy, rng), policy.max_retries):
        if policy.max_elapsed is not None and total + delay > policy.max_elapsed:
            break
        total += delay
        out.append(delay)
    return out


# -------------------------------------------------------------------------
# Decision
# -------------------------------------------------------------------------


def matches(exc: BaseException, names: Sequence[str]) -> str | None:
    """The first class name of ``type(exc).__mro__`` found in ``names`` (bare or qualified)."""
    wanted = set(names)
    if not wanted:
        return None
    for cls in type(exc).__mro__:
        for name in (cls.__name__, f"{cls.__module__}.{cls.__qualname__}"):
            if name in wanted:
                return name
    return None


def decide(policy: BackoffPolicy, call: Failure, *, seed: int | None = None) -> Retry | GiveUp:
    """Retry or give up after the failed attempt ``call`` (rules in the module docstring).

    ``seed`` defaults to ``policy.seed`` (then 0). ``Retry.data`` records how the
    delay was chosen: ``jitter``, ``seed``, ``scheduled_s``, ``retry_after_s``,
    ``max_retries``.
    """
    exc = call.excinfo
    kind = type(exc).__name__
    if exc is None:
        return GiveUp("the attempt raised nothing")
    if not isinstance(exc, Exception):
        return GiveUp(f"{kind} is not retried")
    if isinstance(exc, NonRetryableError):
        return GiveUp(f"{kind} is not retryable")
    hit = matches(exc, policy.never_retry)
    if hit is not None:
        return GiveUp(f"{kind} matches never_retry ({hit})")
    if (
        policy.retry_on
        and not isinstance(exc, RetryableError)
        and matches(exc, policy.retry_on) is None
    ):
        return GiveUp(f"{kind} is not in retry_on")
    if call.attempt > policy.max_retries:
        return GiveUp(f"{policy.max_retries} retries exhausted after {call.attempt} attempts")

    used_seed = _seed(policy, seed)
    rng = stream(used_seed, call.phase, call.operation)
    scheduled = next(islice(delays(policy, rng), call.attempt - 1, None))
    delay = scheduled
    retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
    if retry_after is not None and not math.isfinite(retry_after):
        retry_after = None  # a nonsense header value: fall back to the schedule
    if retry_after is not None:
        delay = min(max(retry_after, 0.0), policy.max_delay)
        if policy.max_elapsed is not None:
            delay = max(0.0, min(delay, policy.max_elapsed - call.elapsed))
    if policy.max_elapsed is not None and call.elapsed + delay > policy.max_elapsed:
        return GiveUp(
            f"retry budget spent: {call.elapsed:.2f}s elapsed + {delay:.2f}s delay"
            f" > max_elapsed {policy.max_elapsed:g}s"
        )
    if call.deadline_in is not None and delay >= call.deadline_in:
        return GiveUp(
            f"a {delay:.2f}s delay would pass the phase timeout"
            f" ({max(call.deadline_in, 0.0):.2f}s left)"
        )
    source = "retry_after" if retry_after is not None else policy.jitter
    data: dict[str, Any] = {
        "jitter": policy.jitter,
        "seed": used_seed,
        "scheduled_s": scheduled,
        "max_retries": policy.max_retries,
    }
    if retry_after is not None:
        data["retry_after_s"] = retry_after
    return Retry(
        delay,
        f"{kind}: retry {call.attempt}/{policy.max_retries} in {delay:.2f}s ({source})",
        data,
    )


def _seed(policy: BackoffPolicy, seed: int | None) -> int:
    if seed is not None:
        return seed
    return policy.seed if policy.seed is not None else 0
