"""Simulated engagement: how a published post's counts grow over time.

Deterministic given the network, the post id, when it was published and "now": a post's
quality comes from a hash of its id; its final reach depends on the weekday and hour it went
out (each network has its own audience rhythm, in ``audience_timezone``); engagement *rates*
rise with the slot too (a good slot brings more engaged people, not only more of them), so the
seed's best-time formula (engagement / views) finds real structure. Counts approach their final
value along ``1 - exp(-age / tau)``: fast on X, slow on YouTube.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

_RATES = ("likes", "comments", "shares", "saves", "clicks", "quotes", "bookmarks")


def _hours(*peaks: tuple[float, float, float], floor: float = 0.15) -> tuple[float, ...]:
    """24 hourly factors: ``floor`` plus Gaussian bumps ``(hour, height, width)``."""
    values = []
    for hour in range(24):
        value = floor
        for centre, height, width in peaks:
            distance = min(abs(hour - centre), 24 - abs(hour - centre))
            value += height * math.exp(-(distance**2) / (2 * width**2))
        values.append(round(value, 4))
    return tuple(values)


@dataclass(frozen=True)
class AudienceProfile:
    base_views: float
    tau_hours: float  # growth time constant
    weekday: tuple[float, ...]  # Monday .. Sunday
    hours: tuple[float, ...]  # 0 .. 23
    rates: dict[str, float]  # per view, at an average slot
    reach_ratio: float = 0.8  # unique viewers per view

    def slot(self, weekday: int, hour: int) -> float:
        return self.weekday[weekday] * self.hours[hour]


PROFILES: dict[str, AudienceProfile] = {
    # Office-hours reading with a lunch peak; Wednesday best, weekends quiet.
    "facebook": AudienceProfile(
        base_views=900, tau_hours=8,
        weekday=(0.95, 1.05, 1.2, 1.05, 0.9, 0.6, 0.55),
        hours=_hours((9, 0.8, 1.5), (13, 1.0, 1.5), (19, 0.5, 2.0)),
        rates={"likes": 0.045, "comments": 0.008, "shares": 0.006, "clicks": 0.02}),
    # Lunch and evening scrolling; Tuesday-Thursday strong, Sunday moderate.
    "instagram": AudienceProfile(
        base_views=1400, tau_hours=14,
        weekday=(0.85, 1.15, 1.2, 1.1, 0.95, 0.75, 0.9),
        hours=_hours((12, 0.9, 1.5), (20, 1.1, 1.8)),
        rates={"likes": 0.07, "comments": 0.006, "shares": 0.01, "saves": 0.012},
        reach_ratio=0.7),
    # Morning news and commute; weekdays, fast decay.
    "twitter": AudienceProfile(
        base_views=2500, tau_hours=2,
        weekday=(1.1, 1.2, 1.15, 1.1, 0.9, 0.5, 0.5),
        hours=_hours((8, 1.1, 1.2), (12, 0.7, 1.0), (17, 0.6, 1.5)),
        rates={"likes": 0.012, "comments": 0.002, "shares": 0.0025, "quotes": 0.0006,
               "bookmarks": 0.0015, "clicks": 0.004}),
    # Business hours only; Tuesday-Thursday mornings; weekends nearly dead.
    "linkedin": AudienceProfile(
        base_views=700, tau_hours=20,
        weekday=(1.0, 1.3, 1.25, 1.15, 0.8, 0.25, 0.2),
        hours=_hours((8, 1.2, 1.2), (12, 0.6, 1.0), (17, 0.4, 1.0), floor=0.08),
        rates={"likes": 0.03, "comments": 0.005, "shares": 0.003, "clicks": 0.015}),
    # Evenings and weekends.
    "tiktok": AudienceProfile(
        base_views=5000, tau_hours=30,
        weekday=(0.8, 0.85, 0.9, 1.0, 1.2, 1.3, 1.15),
        hours=_hours((19, 1.0, 2.0), (22, 0.9, 1.5), floor=0.2),
        rates={"likes": 0.08, "comments": 0.004, "shares": 0.006, "saves": 0.005}),
    # Afternoons, and weekends for long watching.
    "youtube": AudienceProfile(
        base_views=1200, tau_hours=72,
        weekday=(0.85, 0.9, 0.95, 1.0, 1.05, 1.25, 1.2),
        hours=_hours((15, 1.0, 2.5), (20, 0.6, 1.5), floor=0.25),
        rates={"likes": 0.04, "comments": 0.004, "shares": 0.002}),
    # Late evenings; weekends.
    "snapchat": AudienceProfile(
        base_views=1800, tau_hours=10,
        weekday=(0.85, 0.85, 0.9, 0.95, 1.15, 1.3, 1.2),
        hours=_hours((21, 1.2, 1.8), (13, 0.4, 1.0), floor=0.15),
        rates={"likes": 0.0, "comments": 0.0, "shares": 0.01, "saves": 0.004}),
}


@dataclass(frozen=True)
class Engagement:
    views: int
    reach: int
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int
    quotes: int
    bookmarks: int

    @property
    def reposts(self) -> int:
        return self.shares


ZERO = Engagement(0, 0, 0, 0, 0, 0, 0, 0, 0)


def _rng(platform: str, post_id: str) -> random.Random:
    digest = hashlib.sha256(f"{platform}:{post_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def engagement(
    platform: str, post_id: str, published_at: datetime, now: datetime, *, tz: str = "UTC"
) -> Engagement:
    """Counts of one post at ``now``; never decreasing as ``now`` advances."""
    profile = PROFILES.get(platform)
    if profile is None or now <= published_at:
        return ZERO
    rng = _rng(platform, post_id)
    local = published_at.astimezone(ZoneInfo(tz))
    slot = profile.slot(local.weekday(), local.hour)
    quality = rng.lognormvariate(0.0, 0.35)
    final_views = profile.base_views * quality * slot
    age_hours = (now - published_at).total_seconds() / 3600
    grown = 1.0 - math.exp(-age_hours / profile.tau_hours)
    keenness = math.sqrt(slot)  # better slots also bring a more engaged audience
    counts = {}
    for name in _RATES:
        rate = profile.rates.get(name, 0.0) * keenness * rng.uniform(0.8, 1.2)
        counts[name] = int(final_views * rate * grown)
    views = int(final_views * grown)
    return Engagement(views=views, reach=int(views * profile.reach_ratio), **counts)
