"""Unit tests of the retry decision (harness.plugins.backoff.decide) on real CallInfo objects."""

from __future__ import annotations

import pytest

from harness.errors import NonRetryableError, PhaseFailed, RetryableError
from harness.outcomes import CallInfo, GiveUp, Retry
from harness.plugins.backoff import BackoffPolicy, decide, matches, schedule


def failed(
    exc: BaseException,
    attempt: int = 1,
    *,
    elapsed: float = 0.0,
    deadline_in: float | None = None,
    operation: str | None = None,
) -> CallInfo:
    return CallInfo(
        phase="api",
        operation=operation,
        attempt=attempt,
        start=0.0,
        duration=0.0,
        excinfo=exc,
        elapsed=elapsed,
        deadline_in=deadline_in,
    )


class FlakyTimeout(TimeoutError):
    pass


def test_default_policy_follows_the_schedule_then_gives_up() -> None:
    policy = BackoffPolicy()
    got = [decide(policy, failed(OSError("x"), n)) for n in (1, 2, 3, 4)]
    assert [d.delay for d in got[:3] if isinstance(d, Retry)] == [1.0, 2.0, 4.0]
    assert isinstance(got[3], GiveUp)
    assert "3 retries exhausted" in got[3].reason


def test_jittered_decision_matches_the_schedule_of_its_stream() -> None:
    policy = BackoffPolicy(jitter="decorrelated", max_retries=5, seed=11)
    expected = schedule(policy, phase="api", operation="fetch")
    got = [decide(policy, failed(OSError(), n, operation="fetch")) for n in range(1, 6)]
    assert [d.delay for d in got if isinstance(d, Retry)] == expected
    first = got[0]
    assert isinstance(first, Retry)
    assert first.data["seed"] == 11
    assert first.data["jitter"] == "decorrelated"


def test_seed_argument_overrides_policy_seed() -> None:
    policy = BackoffPolicy(jitter="full", seed=1)
    a = decide(policy, failed(OSError()), seed=2)
    b = decide(BackoffPolicy(jitter="full", seed=2), failed(OSError()))
    assert isinstance(a, Retry)
    assert isinstance(b, Retry)
    assert a.delay == b.delay


@pytest.mark.parametrize("exc", [NonRetryableError("bad key"), PhaseFailed("row 3: price < 0")])
def test_non_retryable_always_gives_up(exc: Exception) -> None:
    policy = BackoffPolicy(retry_on=("NonRetryableError", "Exception"))
    decision = decide(policy, failed(exc))
    assert isinstance(decision, GiveUp)
    assert "not retryable" in decision.reason


def test_base_exceptions_are_not_retried() -> None:
    assert isinstance(decide(BackoffPolicy(), failed(KeyboardInterrupt())), GiveUp)


def test_retry_on_matches_by_subclass_bare_or_qualified() -> None:
    for name in ("TimeoutError", "OSError", "builtins.OSError", f"{__name__}.FlakyTimeout"):
        policy = BackoffPolicy(retry_on=(name,))
        assert isinstance(decide(policy, failed(FlakyTimeout())), Retry), name
    policy = BackoffPolicy(retry_on=("ConnectionError",))
    decision = decide(policy, failed(FlakyTimeout()))
    assert isinstance(decision, GiveUp)
    assert "not in retry_on" in decision.reason
    assert isinstance(decide(policy, failed(ConnectionResetError())), Retry)


def test_retryable_error_is_retried_even_outside_retry_on() -> None:
    policy = BackoffPolicy(retry_on=("ConnectionError",))
    assert isinstance(decide(policy, failed(RetryableError("429"))), Retry)


def test_never_retry_matches_by_subclass_and_beats_retry_on() -> None:
    policy = BackoffPolicy(retry_on=("OSError",), never_retry=("TimeoutError",))
    decision = decide(policy, failed(FlakyTimeout()))
    assert isinstance(decision, GiveUp)
    assert "never_retry (TimeoutError)" in decision.reason
    assert isinstance(decide(policy, failed(ConnectionError())), Retry)
    assert isinstance(
        decide(BackoffPolicy(never_retry=("RetryableError",)), failed(RetryableError("x"))),
        GiveUp,
    )


def test_matches_returns_the_name_found() -> None:
    assert matches(FlakyTimeout(), ["OSError"]) == "OSError"
    assert matches(FlakyTimeout(), []) is None
    assert matches(ValueError(), ["OSError"]) is None


def test_retry_after_overrides_the_schedule() -> None:
    decision = decide(BackoffPolicy(), failed(RetryableError("429", retry_after=7.5)))
    assert isinstance(decision, Retry)
    assert decision.delay == 7.5
    assert decision.data["retry_after_s"] == 7.5
    assert decision.data["scheduled_s"] == 1.0
    assert "retry_after" in decision.reason


def test_retry_after_capped_by_max_delay() -> None:
    decision = decide(BackoffPolicy(max_delay=5), failed(RetryableError("x", retry_after=60)))
    assert isinstance(decision, Retry)
    assert decision.delay == 5.0


def test_retry_after_capped_by_remaining_budget() -> None:
    policy = BackoffPolicy(max_elapsed=10)
    decision = decide(policy, failed(RetryableError("x", retry_after=20), elapsed=4.0))
    assert isinstance(decision, Retry)
    assert decision.delay == 6.0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -3.0])
def test_nonsense_retry_after(value: float) -> None:
    decision = decide(BackoffPolicy(), failed(RetryableError("x", retry_after=value)))
    assert isinstance(decision, Retry)
    assert decision.delay == (0.0 if value == -3.0 else 1.0)


def test_budget_spent_gives_up() -> None:
    policy = BackoffPolicy(max_elapsed=10)
    assert isinstance(decide(policy, failed(OSError(), 3, elapsed=5.0)), Retry)  # 5 + 4 <= 10
    decision = decide(policy, failed(OSError(), 3, elapsed=6.5))  # 6.5 + 4 > 10
    assert isinstance(decision, GiveUp)
    assert "budget" in decision.reason


def test_delay_past_the_phase_timeout_gives_up() -> None:
    policy = BackoffPolicy()
    assert isinstance(decide(policy, failed(OSError(), 2, deadline_in=2.5)), Retry)
    decision = decide(policy, failed(OSError(), 2, deadline_in=2.0))
    assert isinstance(decision, GiveUp)
    assert "phase timeout" in decision.reason
    assert isinstance(decide(policy, failed(OSError(), 1, deadline_in=-1.0)), GiveUp)


def test_max_retries_zero_never_retries() -> None:
    assert isinstance(decide(BackoffPolicy(max_retries=0), failed(OSError())), GiveUp)


def test_reasons_carry_no_exception_message() -> None:
    secret = "sk-live-abcdef"
    for exc in (OSError(secret), NonRetryableError(secret)):
        decision = decide(BackoffPolicy(), failed(exc))
        assert secret not in decision.reason
        assert secret not in repr(getattr(decision, "data", {}))
