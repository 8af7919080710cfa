"""Property tests of the delay schedule (harness.plugins.backoff)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.plugins.backoff import (
    JITTER_MODES,
    BackoffPolicy,
    delay_bounds,
    nominal_delay,
    schedule,
)


def reals(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


policies = st.builds(
    BackoffPolicy,
    max_retries=st.integers(min_value=0, max_value=40),
    base_delay=reals(0, 100),
    factor=reals(1, 10),
    max_delay=reals(0, 300),
    jitter=st.sampled_from(JITTER_MODES),
    max_elapsed=st.none() | reals(0.001, 1000),
    seed=st.integers(min_value=0, max_value=2**63),
)
keys = st.tuples(st.text(max_size=8), st.none() | st.text(max_size=8))


@settings(max_examples=300)
@given(policy=policies, key=keys)
def test_every_delay_within_its_jitter_bounds(
    policy: BackoffPolicy, key: tuple[str, str | None]
) -> None:
    delays = schedule(policy, phase=key[0], operation=key[1])
    prev = None
    for n, delay in enumerate(delays, start=1):
        low, high = delay_bounds(policy, n, prev)
        assert low - 1e-9 <= delay <= high + 1e-9, (n, delay, low, high)
        assert 0 <= delay <= policy.max_delay
        prev = delay


@settings(max_examples=300)
@given(policy=policies, key=keys)
def test_sum_never_above_budget_and_length_bounded(
    policy: BackoffPolicy, key: tuple[str, str | None]
) -> None:
    delays = schedule(policy, phase=key[0], operation=key[1])
    assert len(delays) <= policy.max_retries
    if policy.max_elapsed is not None:
        assert sum(delays) <= policy.max_elapsed
    else:
        assert len(delays) == policy.max_retries


@given(policy=policies, key=keys)
def test_same_seed_same_schedule(policy: BackoffPolicy, key: tuple[str, str | None]) -> None:
    assert schedule(policy, phase=key[0], operation=key[1]) == schedule(
        policy, phase=key[0], operation=key[1]
    )


@given(
    base=reals(0, 100),
    factor=reals(1, 10),
    cap=reals(0, 300),
    n=st.integers(min_value=1, max_value=5000),
)
def test_nominal_delay_formula_and_overflow(base: float, factor: float, cap: float, n: int) -> None:
    policy = BackoffPolicy(base_delay=base, factor=factor, max_delay=cap)
    got = nominal_delay(policy, n)
    try:
        expected = min(cap, base * factor ** (n - 1))
    except OverflowError:
        expected = cap if base > 0 else 0.0
    assert got == expected
    assert math.isfinite(got)


def test_none_jitter_is_the_seed_schedule() -> None:
    assert schedule(BackoffPolicy()) == [1.0, 2.0, 4.0]
    assert schedule(BackoffPolicy(max_retries=7)) == [1, 2, 4, 8, 16, 30, 30]
    assert schedule(BackoffPolicy(max_retries=7, max_elapsed=10)) == [1, 2, 4]


def test_jittered_streams_differ_by_phase_operation_and_seed() -> None:
    policy = BackoffPolicy(jitter="full", max_retries=5, seed=7)
    base = schedule(policy, phase="api")
    assert schedule(policy, phase="api") == base
    assert schedule(policy, phase="data") != base
    assert schedule(policy, phase="api", operation="fetch") != base
    assert schedule(policy, phase="api", seed=8) != base


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"base_delay": -1.0},
        {"factor": 0.5},
        {"max_delay": math.inf},
        {"jitter": "sometimes"},
        {"max_elapsed": 0.0},
    ],
)
def test_invalid_policy_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        BackoffPolicy(3)  # type: ignore[call-arg]
    policy = BackoffPolicy()
    with pytest.raises(AttributeError):
        policy.max_retries = 5  # type: ignore[misc]


def test_settings_round_trip() -> None:
    policy = BackoffPolicy(jitter="equal", retry_on=("OSError",), max_elapsed=9.0, seed=3)
    assert BackoffPolicy.from_settings(policy.to_settings()) == policy
    assert BackoffPolicy.from_settings({"base_delay": 2, "retry_on": ["X"]}) == BackoffPolicy(
        base_delay=2.0, retry_on=("X",)
    )
