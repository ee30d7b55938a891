"""``poll_until``: waiting for a network's asynchronous processing, and riding out a status
read that fails for a moment without giving up the whole publish."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.errors import PermanentPlatformError, RetryablePlatformError
from core.platforms.base import PollPolicy, ProcessingTimeout, poll_until
from tests.platforms.conftest import NOW, FakeSleep

POLICY = PollPolicy(initial_interval_seconds=1.0, max_interval_seconds=4.0, backoff=2.0,
                    max_wait_seconds=30.0, max_transient_errors=2)


class Status:
    """A status endpoint answering from a script: a value, or an exception to raise."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> tuple[bool, str]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer == "ready", str(answer)


def poll(status: Status, clock: FixedClock, sleep: FakeSleep) -> str:
    return poll_until(status, platform="tiktok", what="the upload", policy=POLICY, sleep=sleep,
                      now=clock.now)


def test_polls_with_a_growing_interval_until_ready(clock: FixedClock, sleep: FakeSleep) -> None:
    status = Status("processing", "processing", "processing", "ready")

    assert poll(status, clock, sleep) == "ready"
    assert sleep.calls == [1.0, 2.0, 4.0]


def test_a_transient_error_is_one_more_poll(clock: FixedClock, sleep: FakeSleep) -> None:
    status = Status("processing", RetryablePlatformError("tiktok", "HTTP 503"), "ready")

    assert poll(status, clock, sleep) == "ready"
    assert status.calls == 3


def test_a_rate_limited_status_read_waits_for_the_networks_reset(
    clock: FixedClock, sleep: FakeSleep,
) -> None:
    limited = RetryablePlatformError("tiktok", "rate limited", retry_after=NOW + timedelta(seconds=3.5))
    status = Status(limited, "ready")

    assert poll(status, clock, sleep) == "ready"
    assert sleep.calls == [3.5]


def test_too_many_transient_errors_in_a_row_are_raised(clock: FixedClock, sleep: FakeSleep) -> None:
    errors = [RetryablePlatformError("tiktok", f"HTTP 50{i}") for i in range(3)]
    status = Status("processing", errors[0], errors[1], "processing", errors[2], errors[0],
                    errors[1])

    with pytest.raises(RetryablePlatformError) as caught:
        poll(status, clock, sleep)

    assert caught.value is errors[1]  # the third in a row; the count restarts after an answer
    assert status.calls == 7


@pytest.mark.parametrize("reset", [timedelta(seconds=60), timedelta(hours=1)])
def test_a_reset_longer_than_a_poll_interval_is_raised_at_once(
    clock: FixedClock, sleep: FakeSleep, reset: timedelta,
) -> None:
    """A thread sleeping through Meta's minute-long reset is a thread not publishing; the queue
    defers the item to the reset instead (no attempt spent)."""
    limited = RetryablePlatformError("instagram", "throttled", retry_after=NOW + reset)

    with pytest.raises(RetryablePlatformError):
        poll(Status(limited, "ready"), clock, sleep)
    assert sleep.calls == []


def test_permanent_errors_are_not_polled_through(clock: FixedClock, sleep: FakeSleep) -> None:
    status = Status(PermanentPlatformError("tiktok", "processing failed"), "ready")

    with pytest.raises(PermanentPlatformError):
        poll(status, clock, sleep)
    assert status.calls == 1


def test_running_out_of_time_keeps_the_last_status(clock: FixedClock, sleep: FakeSleep) -> None:
    status = Status(*["processing"] * 20)

    with pytest.raises(ProcessingTimeout) as caught:
        poll(status, clock, sleep)

    assert caught.value.last_value == "processing"
    assert sleep.total <= POLICY.max_wait_seconds
