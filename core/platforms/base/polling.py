"""Waiting for a network's asynchronous processing: ``PollPolicy``, ``poll_until`` and the
``ProcessingTimeout`` it raises when the bounded wait runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from core.errors import RetryablePlatformError

T = TypeVar("T")

# --- polling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollPolicy:
    """How long a connector waits for a network's asynchronous processing."""

    initial_interval_seconds: float = 1.0
    max_interval_seconds: float = 15.0
    backoff: float = 1.5
    max_wait_seconds: float = 600.0
    # A status read that fails transiently (5xx, 429, no answer) is one more poll, this many
    # times in a row: redoing the whole publish for it would repeat every upload before it.
    max_transient_errors: int = 3


class ProcessingTimeout(RetryablePlatformError):
    """The network was still processing media when the bounded wait ran out."""

    last_value: Any = None  # what the last status check returned


def poll_until(
    step: Callable[[], tuple[bool, T]],
    *,
    platform: str,
    what: str,
    policy: PollPolicy,
    sleep: Callable[[float], None],
    hint: Callable[[T], float | None] | None = None,
    now: Callable[[], datetime] | None = None,
) -> T:
    """Call ``step`` until it reports done, sleeping between calls (the network's own hint
    when it gives one, else a growing interval). Raises ``ProcessingTimeout`` once the total
    time slept would exceed ``policy.max_wait_seconds``; the value last seen is attached.
    A ``RetryablePlatformError`` from ``step`` is polled through up to
    ``policy.max_transient_errors`` times in a row, never before its ``retry_after`` (read
    against ``now``); after that, or when its reset is further off than one poll interval may
    be (``policy.max_interval_seconds``), it is raised."""
    waited = 0.0
    delay = policy.initial_interval_seconds
    errors = 0
    value: Any = None
    while True:
        try:
            done, value = step()
            errors = 0
        except ProcessingTimeout:
            raise
        except RetryablePlatformError as exc:
            errors += 1
            pause = _transient_pause(exc, delay, now)
            if (errors > policy.max_transient_errors or pause > policy.max_interval_seconds
                    or waited + pause > policy.max_wait_seconds):
                raise  # a long reset is waited out by the queue, not by a publishing thread
            sleep(pause)
            waited += pause
            delay = min(delay * policy.backoff, policy.max_interval_seconds)
            continue
        if done:
            return cast(T, value)
        suggested = hint(value) if hint is not None else None
        pause = max(0.0, suggested) if suggested is not None else delay
        if waited + pause > policy.max_wait_seconds:
            error = ProcessingTimeout(
                platform, f"{what} was still processing after {waited:.0f} s "
                f"(Herald waits at most {policy.max_wait_seconds:.0f} s)")
            error.last_value = value
            raise error
        sleep(pause)
        waited += pause
        delay = min(delay * policy.backoff, policy.max_interval_seconds)


def _transient_pause(exc: RetryablePlatformError, delay: float,
                     now: Callable[[], datetime] | None) -> float:
    if exc.retry_after is None or now is None:
        return delay
    return max(delay, (exc.retry_after - now()).total_seconds())

