"""Queue item transitions and retry timing."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.queue import (
    QUEUE_TRANSITIONS,
    QueueStatus,
    backoff_ceiling_seconds,
    backoff_delay,
    check_queue_transition,
    next_attempt_at,
)
from core.errors import InvalidTransition

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BOUNDED = settings(max_examples=200, deadline=None)

EXPECTED_MOVES = {
    ("pending", "processing"), ("pending", "cancelled"),
    ("processing", "completed"), ("processing", "failed"), ("processing", "pending"),
    ("processing", "unconfirmed"),
    ("unconfirmed", "completed"), ("unconfirmed", "failed"), ("unconfirmed", "pending"),
    ("failed", "pending"),
}


def test_transition_table_matches_the_design() -> None:
    assert {(a, b) for a, targets in QUEUE_TRANSITIONS.items() for b in targets} == EXPECTED_MOVES
    assert set(QUEUE_TRANSITIONS) == set(QueueStatus)


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED_MOVES))
def test_allowed_queue_transition(current: str, target: str) -> None:
    assert check_queue_transition(current, target) is QueueStatus(target)


@pytest.mark.parametrize(
    ("current", "target"),
    [p for p in itertools.product(QueueStatus, QueueStatus) if p not in EXPECTED_MOVES],
)
def test_forbidden_queue_transition(current: QueueStatus, target: QueueStatus) -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        check_queue_transition(current, target)
    assert (excinfo.value.entity, excinfo.value.current, excinfo.value.target) == (
        "queue item", current.value, target.value
    )


def test_unconfirmed_item_is_never_resent_blindly() -> None:
    with pytest.raises(InvalidTransition, match="reconciled"):
        check_queue_transition("unconfirmed", "processing")


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_final_items_stay_final(status: str) -> None:
    with pytest.raises(InvalidTransition, match="final"):
        check_queue_transition(status, "pending")


def test_unknown_queue_status_raises_invalid_transition() -> None:
    with pytest.raises(InvalidTransition, match="unknown queue status"):
        check_queue_transition("stuck", "pending")


# --- backoff -------------------------------------------------------------------------------------

def test_backoff_ceiling_doubles_then_caps() -> None:
    assert [backoff_ceiling_seconds(n) for n in range(1, 9)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600,
    ]
    assert backoff_ceiling_seconds(10_000) == 3600


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_start_at_one(attempt: int) -> None:
    with pytest.raises(ValueError):
        backoff_delay(attempt)


@BOUNDED
@given(attempt=st.integers(min_value=1, max_value=200), seed=st.integers(0, 2**32))
def test_backoff_stays_between_half_base_and_the_ceiling(attempt: int, seed: int) -> None:
    delay = backoff_delay(attempt, rng=random.Random(seed)).total_seconds()
    assert 15 <= delay <= min(3600, backoff_ceiling_seconds(attempt))


@BOUNDED
@given(attempt=st.integers(min_value=1, max_value=50), seed=st.integers(0, 2**32))
def test_backoff_never_shrinks_for_the_same_draw(attempt: int, seed: int) -> None:
    this = backoff_delay(attempt, rng=random.Random(seed))
    following = backoff_delay(attempt + 1, rng=random.Random(seed))
    assert following >= this


@BOUNDED
@given(
    base=st.floats(min_value=0.5, max_value=600),
    cap=st.floats(min_value=0.5, max_value=86_400),
    attempt=st.integers(min_value=1, max_value=100),
    seed=st.integers(0, 2**32),
)
def test_backoff_respects_any_base_and_cap(base: float, cap: float, attempt: int, seed: int) -> None:
    delay = backoff_delay(attempt, base_seconds=base, cap_seconds=cap, rng=random.Random(seed))
    seconds = delay.total_seconds()
    assert seconds <= cap + 1e-6
    assert seconds >= min(base / 2, cap) - 1e-6


def test_backoff_is_jittered() -> None:
    rng = random.Random(7)
    delays = {backoff_delay(6, rng=rng) for _ in range(50)}
    assert len(delays) > 40  # many items failing together do not retry in lockstep


def test_backoff_grows_on_average() -> None:
    rng = random.Random(11)
    means = [
        sum(backoff_delay(n, rng=rng).total_seconds() for _ in range(400)) / 400
        for n in range(1, 7)
    ]
    assert means == sorted(means) and means[-1] > 4 * means[0]


@BOUNDED
@given(
    attempt=st.integers(min_value=1, max_value=20),
    retry_in=st.one_of(st.none(), st.integers(min_value=-7200, max_value=7200)),
    seed=st.integers(0, 2**32),
)
def test_next_attempt_is_never_before_retry_after(
    attempt: int, retry_in: int | None, seed: int
) -> None:
    retry_after = None if retry_in is None else NOW + timedelta(seconds=retry_in)
    at = next_attempt_at(NOW, attempt, retry_after=retry_after, rng=random.Random(seed))
    assert at > NOW and at.tzinfo is UTC
    if retry_after is not None:
        assert at >= retry_after
    assert at <= max(NOW + timedelta(seconds=3600), retry_after or NOW)


@BOUNDED
@given(attempt=st.integers(min_value=1, max_value=20), seed=st.integers(0, 2**32))
def test_the_two_speed_schedule_retries_a_blip_at_once_and_waits_out_an_outage(attempt: int, seed: int) -> None:
    delay = (next_attempt_at(NOW, attempt, first_retry_seconds=0.5, base_seconds=30,
                             rng=random.Random(seed)) - NOW).total_seconds()
    if attempt == 1:
        assert 0.25 <= delay <= 0.5
    else:  # the plain schedule from 30 s, one step behind
        assert 15 <= delay <= min(3600, backoff_ceiling_seconds(attempt - 1, base_seconds=30))
        assert delay == backoff_delay(attempt - 1, base_seconds=30, rng=random.Random(seed)).total_seconds()


def test_platform_reset_time_wins_over_a_short_backoff() -> None:
    reset = NOW + timedelta(minutes=15)
    assert next_attempt_at(NOW, 1, retry_after=reset, rng=random.Random(1)) == reset


def test_next_attempt_needs_aware_times() -> None:
    with pytest.raises(ValueError):
        next_attempt_at(datetime(2026, 3, 1, 12, 0), 1, retry_after=None)
    with pytest.raises(ValueError):
        next_attempt_at(NOW, 1, retry_after=datetime(2026, 3, 1, 12, 0))
