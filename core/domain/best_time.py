"""Best-time-to-post math: labels, the seed's formula, and Herald's shrunk, recency-weighted score.

A *slot* is one org x platform x weekday x hour, in the org's timezone. The seed scored a slot by
its raw engagement rate, so a slot with two lucky posts beat a slot with thirty good ones. Herald
keeps the seed's numbers for comparison (``avg_engagement_rate``, ``raw_score``) and ranks by
``engagement_score``, computed from a rate that is

* weighted toward recent posts (half-life ``half_life_days``), and
* shrunk toward the platform's prior rate, as if ``prior_strength`` average-sized posts at the
  prior rate had been added to the slot.

With no history at all (a new account) the prior and the industry-typical pattern in
:func:`default_score` stand in, flagged as such by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

DAYS: tuple[str, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)  # index == datetime.weekday()

HIGH_ENGAGEMENT_SCORE = 70.0
GREEN_SCORE = 80.0
YELLOW_SCORE = 60.0
SCORE_COLOR_HEX: Mapping[str, str] = MappingProxyType(
    {"green": "#16a34a", "yellow": "#ca8a04", "red": "#dc2626"}
)

# One slot's average is weak evidence: single posts' rates vary by about +-100% around their
# mean while real differences between hours are a few tens of percent, so the prior is worth
# roughly (1.0 / 0.25)**2 ~ 16-20 posts. With 5, two posts at 20% (7.9%) would still beat thirty
# at 6% (5.6%) against a 3% prior; with 20 the thirty-post slot wins (4.8% vs 4.5%).
DEFAULT_PRIOR_STRENGTH_POSTS = 20.0
DEFAULT_HALF_LIFE_DAYS = 90.0
MIN_SAMPLES_FOR_HISTORY = 10  # per platform; below it the defaults are shown and flagged


# --- labels ----------------------------------------------------------------------------------

def day_label(day: str) -> str:
    """``"monday" -> "Monday"``; raises ``ValueError`` for anything not in :data:`DAYS`."""
    key = day.strip().lower()
    if key not in DAYS:
        raise ValueError(f"unknown day {day!r}; expected one of {', '.join(DAYS)}")
    return key.capitalize()


def time_label(hour: int) -> str:
    """12-hour clock label: ``0 -> "12:00 AM"``, ``12 -> "12:00 PM"``, ``13 -> "1:00 PM"``."""
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    suffix = "AM" if hour < 12 else "PM"
    return f"{hour % 12 or 12}:00 {suffix}"


def is_high_engagement(score: float) -> bool:
    return score >= HIGH_ENGAGEMENT_SCORE


def score_color(score: float) -> str:
    """``"green"`` (>= 80), ``"yellow"`` (>= 60) or ``"red"``; see :data:`SCORE_COLOR_HEX`."""
    if score >= GREEN_SCORE:
        return "green"
    if score >= YELLOW_SCORE:
        return "yellow"
    return "red"


# --- the seed's formula ----------------------------------------------------------------------

def seed_engagement_rate(total_engagement: float, total_views: float) -> float:
    """``total_engagement / total_views * 100``, or 0 when there are no views (unrounded)."""
    if total_views <= 0:
        return 0.0
    return total_engagement / total_views * 100


def seed_engagement_score(rate: float) -> float:
    """``min(rate * 10, 100)``: a 10% engagement rate or better scores 100."""
    return min(rate * 10, 100.0)


# --- Herald's estimate -----------------------------------------------------------------------

@dataclass(frozen=True)
class SlotSample:
    """One published post in a slot: its engagement, its views, and how many days ago it went out."""

    engagement: int
    views: int
    age_days: float

    def __post_init__(self) -> None:
        if self.engagement < 0 or self.views < 0:
            raise ValueError("engagement and views cannot be negative")


@dataclass(frozen=True)
class SlotScore:
    sample_size: int
    total_engagement: int
    total_views: int
    avg_engagement_rate: float  # the seed's raw rate, 2 dp
    raw_score: float  # the seed's score from the raw rate, 2 dp
    shrunk_rate: float  # recency-weighted rate shrunk toward the prior, in %
    engagement_score: float  # min(shrunk_rate * 10, 100), 2 dp: what Herald ranks by
    confidence: float  # 0..1: effective_n / (effective_n + prior_strength)
    effective_n: float  # recency-weighted count of posts that had views


def recency_weight(age_days: float, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> float:
    """``0.5 ** (age_days / half_life_days)``; a post from the future (clock skew) counts as new."""
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    return math.pow(0.5, max(age_days, 0.0) / half_life_days)


def _weighted_totals(samples: Iterable[SlotSample], half_life_days: float) -> tuple[float, float, float]:
    """(effective_n, weighted engagement, weighted views) over posts somebody saw.

    A post with no views says nothing about the rate, so it adds no weight.
    """
    n = eng = views = 0.0
    for s in samples:
        if s.views <= 0:
            continue
        w = recency_weight(s.age_days, half_life_days)
        n += w
        eng += w * s.engagement
        views += w * s.views
    return n, eng, views


def score_slot(
    samples: Iterable[SlotSample], *, prior_rate: float,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH_POSTS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> SlotScore:
    """Score one slot.

    Adding ``k = prior_strength`` pseudo-posts, each with the slot's weighted average views and the
    prior rate, gives ``shrunk = (n * slot_rate + k * prior_rate) / (n + k)`` with ``n`` the
    recency-weighted post count and ``slot_rate`` the weighted pooled rate (engagement over views,
    as in the seed). An empty slot scores exactly the prior with confidence 0.
    """
    if prior_rate < 0 or prior_strength < 0:
        raise ValueError("prior_rate and prior_strength cannot be negative")
    samples = list(samples)
    total_engagement = sum(s.engagement for s in samples)
    total_views = sum(s.views for s in samples)
    raw_rate = seed_engagement_rate(total_engagement, total_views)
    n, w_eng, w_views = _weighted_totals(samples, half_life_days)
    if w_views > 0:
        slot_rate = w_eng / w_views * 100
        shrunk = (n * slot_rate + prior_strength * prior_rate) / (n + prior_strength)
    else:
        shrunk = prior_rate
    return SlotScore(
        sample_size=len(samples),
        total_engagement=total_engagement,
        total_views=total_views,
        avg_engagement_rate=round(raw_rate, 2),
        raw_score=round(seed_engagement_score(raw_rate), 2),
        shrunk_rate=round(shrunk, 4),
        engagement_score=round(seed_engagement_score(shrunk), 2),
        confidence=n / (n + prior_strength) if n > 0 else 0.0,
        effective_n=n,
    )


def platform_prior_rate(
    samples: Iterable[SlotSample], *, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
) -> float | None:
    """Pooled recency-weighted rate (%) over every slot of a platform; ``None`` with no views."""
    _, w_eng, w_views = _weighted_totals(samples, half_life_days)
    if w_views <= 0:
        return None
    return w_eng / w_views * 100


# --- cold start ------------------------------------------------------------------------------

# Typical organic engagement rates (%) as published in industry benchmark reports, rounded.
DEFAULT_PRIOR_RATE: Mapping[str, float] = MappingProxyType({
    "facebook": 1.5,
    "instagram": 3.0,
    "twitter": 1.0,
    "linkedin": 2.5,
    "tiktok": 5.0,
    "youtube": 3.5,
    "snapchat": 2.0,
})


def has_enough_history(sample_count: int) -> bool:
    """Whether a platform has enough posts for its own scores to be shown instead of the defaults."""
    return sample_count >= MIN_SAMPLES_FOR_HISTORY


def choose_prior_rate(platform: str, samples: Iterable[SlotSample]) -> float:
    """The platform's own pooled rate once it has enough history, else :data:`DEFAULT_PRIOR_RATE`."""
    samples = list(samples)
    if has_enough_history(len(samples)):
        pooled = platform_prior_rate(samples)
        if pooled is not None:
            return pooled
    _profile(platform)  # an unknown network is a bug, not a cold start
    return DEFAULT_PRIOR_RATE[platform]


@dataclass(frozen=True)
class _Profile:
    peaks: tuple[tuple[float, float, float], ...]  # (hour, width in hours, height 0..1)
    day_factor: tuple[float, ...]  # Monday..Sunday, 0..1


# Shapes follow the commonly reported patterns (Sprout Social / Hootsuite style benchmarks),
# smoothed: they only need to rank hours sensibly until the org has its own history.
_PROFILES: Mapping[str, _Profile] = MappingProxyType({
    "facebook": _Profile(((9.5, 2.0, 1.0), (13.0, 2.0, 0.8), (19.0, 2.5, 0.45)),
                         (0.9, 1.0, 1.0, 0.95, 0.85, 0.6, 0.6)),
    "instagram": _Profile(((11.0, 2.0, 1.0), (19.5, 2.0, 0.9), (7.0, 1.5, 0.4)),
                          (0.85, 0.95, 1.0, 0.95, 0.9, 0.75, 0.75)),
    "twitter": _Profile(((9.0, 1.8, 1.0), (12.0, 1.5, 0.7), (17.0, 2.0, 0.5)),
                        (0.95, 1.0, 1.0, 0.95, 0.85, 0.55, 0.55)),
    "linkedin": _Profile(((8.5, 1.5, 1.0), (12.0, 1.5, 0.85), (17.0, 1.5, 0.45)),
                         (0.85, 1.0, 1.0, 1.0, 0.75, 0.3, 0.25)),
    "tiktok": _Profile(((20.0, 2.5, 1.0), (12.5, 2.0, 0.5), (7.0, 1.5, 0.3)),
                       (0.85, 0.95, 0.9, 1.0, 1.0, 0.9, 0.85)),
    "youtube": _Profile(((16.0, 3.0, 1.0), (20.0, 2.5, 0.7), (11.0, 2.0, 0.4)),
                        (0.85, 0.85, 0.85, 0.9, 1.0, 1.0, 0.95)),
    "snapchat": _Profile(((21.0, 2.5, 1.0), (13.0, 2.0, 0.4)),
                         (0.85, 0.85, 0.85, 0.9, 1.0, 1.0, 0.95)),
})
_NIGHT_FLOOR = 0.08  # even 3 AM gets some engagement; keeps the heatmap from going blank


def _profile(platform: str) -> _Profile:
    try:
        return _PROFILES[platform]
    except KeyError:
        raise ValueError(
            f"unknown platform {platform!r}; expected one of {', '.join(_PROFILES)}"
        ) from None


def _circular_hour_distance(a: float, b: float) -> float:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def default_score(platform: str, weekday_index: int, hour: int) -> float:
    """Industry-typical score (0-100, 1 dp) for a slot, used before a platform has history.

    Each network has a few Gaussian peaks over the hour of day, combined so overlapping peaks never
    exceed 1, scaled by how busy that weekday is on the network.
    """
    if not 0 <= weekday_index <= 6:
        raise ValueError(f"weekday_index must be 0 (Monday) to 6 (Sunday), got {weekday_index}")
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    profile = _profile(platform)
    quiet = 1.0
    for peak_hour, width, height in profile.peaks:
        bump = height * math.exp(-0.5 * (_circular_hour_distance(hour, peak_hour) / width) ** 2)
        quiet *= 1.0 - bump
    activity = _NIGHT_FLOOR + (1.0 - _NIGHT_FLOOR) * (1.0 - quiet)
    return round(100.0 * profile.day_factor[weekday_index] * activity, 1)
