"""Per-token request rate limit: a token bucket per token, in this API process.

Each token may make ``per_minute`` requests a minute on average and ``burst`` at once. Buckets
live in memory, so with N API processes a token gets N times the rate; that is the price of not
making every request a database write, and ops size ``HERALD_API_RATE_LIMIT_PER_MINUTE`` for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

# A bucket that has filled up again is the same as no bucket: forget it when there are many.
PRUNE_ABOVE = 10_000


class TokenBuckets:
    def __init__(self, per_minute: int, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go ahead (and it is counted); otherwise the seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > PRUNE_ABOVE:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


def retry_after_header(wait_seconds: float) -> str:
    """Retry-After in whole seconds, never 0 (a client told 0 would come straight back)."""
    return str(max(1, math.ceil(wait_seconds)))
