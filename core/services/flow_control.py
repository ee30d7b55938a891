"""Flow control inside one daemon: a circuit breaker per network, and per-account rate limits
(this daemon's share of the network's, see ``AccountRateLimiter``).

Both only ever *defer* work (the item goes back to pending, no attempt spent); neither fails it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

log = logging.getLogger("herald.flow_control")

# How many of an account's posts on a network went out since a time, and the oldest's time.
ClusterCount = Callable[[datetime], tuple[int, datetime | None]]

FAILURES_TO_OPEN = 5  # consecutive retryable failures on one network
COOL_DOWN_SECONDS = 30  # first pause; doubles while the network keeps failing, up to the cap
MAX_COOL_DOWN_SECONDS = 600

# Publishes per account per window, from the networks' published limits (PLATFORMS.md), kept a
# little under them. None: the network publishes no number; its own 429 signals govern.
PUBLISH_LIMITS: dict[str, tuple[int, int] | None] = {
    "twitter": (100, 15 * 60),  # POST /2/tweets: 100 / 15 min per user
    "instagram": (50, 24 * 3600),  # content_publishing_limit: 50 / rolling 24 h
    "tiktok": (6, 60),  # video/init: 6 / min per token
    "youtube": (100, 24 * 3600),  # videos.insert bucket: 100 calls / day
    "facebook": None,
    "linkedin": None,
    "snapchat": None,
}


@dataclass
class _Circuit:
    failures: int = 0
    open_until: datetime | None = None
    cool_down: float = COOL_DOWN_SECONDS
    last_error: str = ""


@dataclass
class CircuitBreaker:
    failures_to_open: int = FAILURES_TO_OPEN
    _circuits: dict[str, _Circuit] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record_success(self, platform: str) -> None:
        with self._lock:
            self._circuits[platform] = _Circuit()

    def record_failure(self, platform: str, now: datetime, error: str = "") -> None:
        with self._lock:
            c = self._circuits.setdefault(platform, _Circuit())
            c.failures += 1
            c.last_error = error
            if c.failures >= self.failures_to_open and (c.open_until is None or c.open_until <= now):
                c.open_until = now + timedelta(seconds=c.cool_down)
                c.cool_down = min(c.cool_down * 2, MAX_COOL_DOWN_SECONDS)
                c.failures = self.failures_to_open - 1  # one more failure after reopening trips it again

    def open_platforms(self, now: datetime) -> dict[str, datetime]:
        with self._lock:
            return {p: c.open_until for p, c in self._circuits.items() if c.open_until and c.open_until > now}

    def snapshot(self, now: datetime) -> dict[str, dict[str, object]]:
        with self._lock:
            return {
                p: {"state": "open" if c.open_until and c.open_until > now else ("half-open" if c.failures else "closed"),
                    "failures": c.failures, "open_until": c.open_until.isoformat() if c.open_until else None,
                    "last_error": c.last_error}
                for p, c in self._circuits.items()
            }


@dataclass
class AccountRateLimiter:
    """Sliding-window count of publishes per (platform, account), this daemon's share of them.

    Every daemon may claim any account's items, so each keeps to its share of the network's
    limit: the limit divided by the daemons alive (``daemons``, set from the heartbeats), at
    least one. Within its share a daemon asks nobody (a shared counter would cost a database
    round trip per publish). Past it, it asks the cluster (``cluster``: how many of the
    account's posts went out in the window, and the oldest): an uneven spread, say one daemon
    holding most of an account's burst, is let through while the account is under the network's
    limit, and deferred to when the oldest of those leaves the window once it is not. What the
    count cannot see (posts being sent at that moment, outcomes not yet written) or a count the
    database cannot give are left to the network's own 429 and its reset, which the queue waits
    for without spending an attempt.
    """

    limits: dict[str, tuple[int, int] | None] = field(default_factory=lambda: dict(PUBLISH_LIMITS))
    daemons: int = 1
    _sent: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def share(self, platform: str) -> int | None:
        """This daemon's publishes per window for one account of ``platform``, or None (no limit)."""
        limit = self.limits.get(platform)
        return None if limit is None else max(1, limit[0] // max(1, self.daemons))

    def acquire(self, platform: str, account_key: str, now: datetime,
                cluster: ClusterCount | None = None) -> datetime | None:
        """Take a slot now (returns None), or say when the next slot frees up."""
        limit, count = self.limits.get(platform), self.share(platform)
        if limit is None or count is None:
            return None
        window = timedelta(seconds=limit[1])
        with self._lock:
            sent = self._sent.setdefault((platform, account_key), deque())
            while sent and sent[0] <= now - window:
                sent.popleft()
            if len(sent) < count:
                sent.append(now)
                return None
            local_free_at = sent[0] + window
        if cluster is None:
            return local_free_at
        try:
            went_out, oldest = cluster(now - window)
        except Exception:  # noqa: BLE001 - the database cannot say: keep to the share
            log.warning("could not count %s publishes of account %s; keeping to this daemon's share",
                        platform, account_key, exc_info=True)
            return local_free_at
        if went_out < limit[0]:  # room for this one
            with self._lock:
                sent.append(now)
            return None
        return (oldest or now) + window
