"""Each network's rate-limit signals, turned into the ``retry_after`` datetime before which
Herald does not call it again (``RetryablePlatformError.retry_after``): X's reset headers, Meta's
usage headers and throttle codes, LinkedIn's and YouTube's daily quotas, TikTok's one-minute
windows, and the standard ``Retry-After``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo


def _unix(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(float(value or "")), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def x_retry_after(headers: Mapping[str, str]) -> datetime | None:
    """X: ``x-rate-limit-reset`` (unix seconds) of the 15-minute window; when a 24-hour user or
    app limit is the one exhausted (remaining 0), its reset instead. The latest exhausted reset
    wins; without any ``remaining: 0`` the window reset is used."""
    exhausted: list[datetime] = []
    resets: list[datetime] = []
    for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        reset = _unix(headers.get(f"{prefix}-reset"))
        if reset is None:
            continue
        resets.append(reset)
        if headers.get(f"{prefix}-remaining", "").strip() == "0":
            exhausted.append(reset)
    if exhausted:
        return max(exhausted)
    return resets[0] if resets else None


META_THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80010), 80014})


def is_meta_throttle(code: object) -> bool:
    try:
        return int(code) in META_THROTTLE_CODES  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def meta_usage(headers: Mapping[str, str]) -> float | None:
    """Highest usage percentage in ``X-App-Usage`` / ``X-Business-Use-Case-Usage``."""
    values: list[float] = []
    app = _json_header(headers, "x-app-usage")
    if isinstance(app, Mapping):
        values += [float(v) for v in app.values() if isinstance(v, int | float)]
    for entry in _buc_entries(headers):
        values += [float(entry[k]) for k in ("call_count", "total_cputime", "total_time")
                   if isinstance(entry.get(k), int | float)]
    return max(values) if values else None


def _buc_entries(headers: Mapping[str, str]) -> list[Mapping[str, Any]]:
    buc = _json_header(headers, "x-business-use-case-usage")
    entries: list[Mapping[str, Any]] = []
    if isinstance(buc, Mapping):
        for items in buc.values():
            if isinstance(items, list):
                entries += [item for item in items if isinstance(item, Mapping)]
    return entries


def meta_retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """Meta: the longest ``estimated_time_to_regain_access`` (minutes) in
    ``X-Business-Use-Case-Usage``; ``None`` when no header gives a time."""
    minutes = [float(e["estimated_time_to_regain_access"]) for e in _buc_entries(headers)
               if isinstance(e.get("estimated_time_to_regain_access"), int | float)]
    longest = max(minutes, default=0.0)
    return now + timedelta(minutes=longest) if longest > 0 else None


META_DEFAULT_THROTTLE_WAIT = timedelta(hours=1)
"""Meta's limits are rolling one-hour windows; without an estimate, wait one (mixpost)."""


def next_utc_midnight(now: datetime) -> datetime:
    """LinkedIn's daily limits reset at 00:00 UTC."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


PACIFIC = ZoneInfo("America/Los_Angeles")


def next_pacific_midnight(now: datetime) -> datetime:
    """YouTube quota resets at midnight Pacific time (DST-aware)."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return midnight.astimezone(UTC)


def linkedin_retry_after(status: int, now: datetime) -> datetime | None:
    """LinkedIn: a bare 429 means the daily quota is spent until 00:00 UTC."""
    return next_utc_midnight(now) if status == 429 else None


TIKTOK_WINDOW = timedelta(minutes=1)


def tiktok_retry_after(status: int, body: Any, now: datetime) -> datetime | None:
    """TikTok: 429 ``rate_limit_exceeded``; its windows are one minute (sliding)."""
    code = body.get("error", {}).get("code") if isinstance(body, Mapping) else None
    if status == 429 or code == "rate_limit_exceeded":
        return now + TIKTOK_WINDOW
    return None


def youtube_retry_after(status: int, body: Any, now: datetime) -> datetime | None:
    """YouTube: 403 ``quotaExceeded`` -> next midnight Pacific; per-minute rate reasons -> one
    minute; ``uploadLimitExceeded`` -> 24 hours."""
    error = body.get("error") if isinstance(body, Mapping) else None
    errors = error.get("errors") if isinstance(error, Mapping) else None
    reasons = {e.get("reason") for e in errors or [] if isinstance(e, Mapping)}
    if "quotaExceeded" in reasons or "dailyLimitExceeded" in reasons:
        return next_pacific_midnight(now)
    if "uploadLimitExceeded" in reasons:
        return now + timedelta(hours=24)
    if reasons & {"rateLimitExceeded", "userRateLimitExceeded"} or status == 429:
        return now + timedelta(minutes=1)
    return None


def retry_after_header(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """The standard ``Retry-After`` (seconds or an HTTP date), when a network sends one."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
