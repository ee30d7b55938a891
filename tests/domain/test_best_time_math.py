"""Best-time math: labels, the seed's formula, shrinkage, recency and cold-start defaults."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.best_time import (
    DAYS,
    DEFAULT_PRIOR_RATE,
    MIN_SAMPLES_FOR_HISTORY,
    SCORE_COLOR_HEX,
    SlotSample,
    choose_prior_rate,
    day_label,
    default_score,
    has_enough_history,
    is_high_engagement,
    platform_prior_rate,
    recency_weight,
    score_color,
    score_slot,
    seed_engagement_rate,
    seed_engagement_score,
    time_label,
)

ALL_PLATFORMS = ["facebook", "instagram", "twitter", "linkedin", "tiktok", "youtube", "snapchat"]


def posts_at(rate_percent: float, count: int, *, views: int = 1000, age_days: float = 0.0) -> list[SlotSample]:
    return [SlotSample(engagement=round(views * rate_percent / 100), views=views, age_days=age_days)
            for _ in range(count)]


# --- labels --------------------------------------------------------------------------------------

def test_days_follow_python_weekday_order() -> None:
    assert DAYS[0] == "monday" and DAYS[6] == "sunday" and len(DAYS) == 7
    assert day_label("monday") == "Monday"
    assert day_label("Sunday") == "Sunday"
    with pytest.raises(ValueError):
        day_label("funday")


@pytest.mark.parametrize(
    ("hour", "label"),
    [(0, "12:00 AM"), (1, "1:00 AM"), (10, "10:00 AM"), (11, "11:00 AM"), (12, "12:00 PM"),
     (13, "1:00 PM"), (23, "11:00 PM")],
)
def test_time_label(hour: int, label: str) -> None:
    assert time_label(hour) == label


@pytest.mark.parametrize("hour", [-1, 24])
def test_time_label_rejects_impossible_hours(hour: int) -> None:
    with pytest.raises(ValueError):
        time_label(hour)


@pytest.mark.parametrize(
    ("score", "color", "high"),
    [(100, "green", True), (80, "green", True), (79.99, "yellow", True), (70, "yellow", True),
     (69.9, "yellow", False), (60, "yellow", False), (59.9, "red", False), (0, "red", False)],
)
def test_score_color_and_high_engagement(score: float, color: str, high: bool) -> None:
    assert score_color(score) == color
    assert is_high_engagement(score) is high
    assert SCORE_COLOR_HEX[color].startswith("#")


# --- the seed's formula --------------------------------------------------------------------------

def test_seed_formula() -> None:
    assert seed_engagement_rate(50, 1000) == 5.0
    assert seed_engagement_rate(50, 0) == 0.0
    assert seed_engagement_score(5.0) == 50.0
    assert seed_engagement_score(12.0) == 100.0


def test_slot_score_reports_the_seed_numbers_next_to_herald_s() -> None:
    score = score_slot(posts_at(4.0, 3, views=300), prior_rate=3.0)
    assert (score.sample_size, score.total_engagement, score.total_views) == (3, 36, 900)
    assert score.avg_engagement_rate == 4.0 and score.raw_score == 40.0


# --- shrinkage -----------------------------------------------------------------------------------

def test_two_lucky_posts_do_not_beat_thirty_consistently_good_posts() -> None:
    lucky = score_slot(posts_at(20.0, 2), prior_rate=3.0)
    steady = score_slot(posts_at(6.0, 30), prior_rate=3.0)
    assert lucky.raw_score > steady.raw_score  # the seed would have picked the lucky slot
    assert steady.engagement_score > lucky.engagement_score
    assert steady.confidence > lucky.confidence


def test_empty_slot_scores_the_prior_with_no_confidence() -> None:
    score = score_slot([], prior_rate=3.0)
    assert score.shrunk_rate == 3.0 and score.engagement_score == 30.0
    assert score.confidence == 0.0 and score.effective_n == 0.0 and score.sample_size == 0


def test_posts_without_views_carry_no_weight() -> None:
    score = score_slot([SlotSample(engagement=0, views=0, age_days=1)], prior_rate=2.0)
    assert score.shrunk_rate == 2.0 and score.confidence == 0.0 and score.sample_size == 1


def test_no_prior_strength_means_the_raw_weighted_rate() -> None:
    score = score_slot(posts_at(7.0, 4), prior_rate=3.0, prior_strength=0)
    assert score.shrunk_rate == pytest.approx(7.0)


def test_shrinkage_matches_pseudo_posts_at_the_prior() -> None:
    # 10 posts at 6% plus 20 pseudo-posts at 3%: (10*6 + 20*3) / 30 = 4%.
    score = score_slot(posts_at(6.0, 10), prior_rate=3.0, prior_strength=20)
    assert score.shrunk_rate == pytest.approx(4.0)
    assert score.confidence == pytest.approx(10 / 30)
    assert score.engagement_score == 40.0


@settings(max_examples=150, deadline=None)
@given(
    samples=st.lists(
        st.builds(SlotSample, engagement=st.integers(0, 5000), views=st.integers(0, 50_000),
                  age_days=st.floats(0, 400)),
        max_size=40,
    ),
    prior_rate=st.floats(min_value=0, max_value=20),
)
def test_shrunk_rate_lies_between_the_prior_and_the_slot_rate(
    samples: list[SlotSample], prior_rate: float
) -> None:
    score = score_slot(samples, prior_rate=prior_rate)
    slot_rate = score_slot(samples, prior_rate=prior_rate, prior_strength=0).shrunk_rate
    low, high = sorted([prior_rate, slot_rate])
    assert low - 1e-3 <= score.shrunk_rate <= high + 1e-3
    assert 0.0 <= score.confidence < 1.0
    assert 0.0 <= score.engagement_score <= 100.0


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=1, max_value=200))
def test_more_posts_mean_more_confidence(n: int) -> None:
    fewer = score_slot(posts_at(5.0, n), prior_rate=3.0)
    more = score_slot(posts_at(5.0, n + 1), prior_rate=3.0)
    assert more.confidence > fewer.confidence
    assert more.shrunk_rate >= fewer.shrunk_rate  # moves away from the prior toward 5%


# --- recency -------------------------------------------------------------------------------------

def test_recency_weight_halves_every_half_life() -> None:
    assert recency_weight(0) == 1.0
    assert recency_weight(90) == pytest.approx(0.5)
    assert recency_weight(180) == pytest.approx(0.25)
    assert recency_weight(-3) == 1.0  # clock skew: a post "from the future" counts as new


def test_recent_posts_count_more_than_old_ones() -> None:
    recent_good_old_bad = posts_at(8.0, 10, age_days=5) + posts_at(2.0, 10, age_days=300)
    recent_bad_old_good = posts_at(2.0, 10, age_days=5) + posts_at(8.0, 10, age_days=300)
    a = score_slot(recent_good_old_bad, prior_rate=3.0)
    b = score_slot(recent_bad_old_good, prior_rate=3.0)
    assert a.avg_engagement_rate == b.avg_engagement_rate  # the seed cannot tell them apart
    assert a.engagement_score > b.engagement_score


def test_old_posts_give_less_confidence() -> None:
    fresh = score_slot(posts_at(5.0, 10, age_days=0), prior_rate=3.0)
    stale = score_slot(posts_at(5.0, 10, age_days=180), prior_rate=3.0)
    assert fresh.effective_n == pytest.approx(10)
    assert stale.effective_n == pytest.approx(2.5)
    assert fresh.confidence > stale.confidence


# --- platform prior and cold start ---------------------------------------------------------------

def test_platform_prior_rate_pools_every_slot() -> None:
    samples = posts_at(2.0, 5, views=1000) + posts_at(6.0, 5, views=1000)
    assert platform_prior_rate(samples) == pytest.approx(4.0)
    assert platform_prior_rate([]) is None


def test_prior_falls_back_to_the_platform_default_without_history() -> None:
    few = posts_at(9.0, MIN_SAMPLES_FOR_HISTORY - 1)
    enough = posts_at(9.0, MIN_SAMPLES_FOR_HISTORY)
    assert not has_enough_history(len(few)) and has_enough_history(len(enough))
    assert choose_prior_rate("instagram", few) == DEFAULT_PRIOR_RATE["instagram"]
    assert choose_prior_rate("instagram", enough) == pytest.approx(9.0)


def test_every_network_has_a_plausible_default_rate() -> None:
    assert set(DEFAULT_PRIOR_RATE) == set(ALL_PLATFORMS)
    assert all(0 < rate < 10 for rate in DEFAULT_PRIOR_RATE.values())


@pytest.mark.parametrize("platform", ALL_PLATFORMS)
def test_default_scores_are_within_range_and_smooth(platform: str) -> None:
    for day in range(7):
        scores = [default_score(platform, day, hour) for hour in range(24)]
        assert all(0 <= s <= 100 for s in scores)
        assert max(scores) > 2 * min(scores)  # a real pattern, not a flat line
        steps = [abs(scores[h] - scores[h - 1]) for h in range(24)]  # wraps midnight
        assert max(steps) < 40


def best_hour(platform: str, day: int) -> int:
    return max(range(24), key=lambda hour: default_score(platform, day, hour))


def test_default_patterns_differ_per_network() -> None:
    tuesday = 1
    assert 7 <= best_hour("linkedin", tuesday) <= 12  # weekday mornings and lunch
    assert 10 <= best_hour("instagram", tuesday) <= 12 or best_hour("instagram", tuesday) >= 18
    assert best_hour("tiktok", tuesday) >= 18  # evenings
    patterns = {p: tuple(default_score(p, tuesday, h) for h in range(24)) for p in ALL_PLATFORMS}
    assert len(set(patterns.values())) == len(ALL_PLATFORMS)


def test_weekends_are_quiet_on_linkedin() -> None:
    saturday, wednesday = 5, 2
    assert default_score("linkedin", saturday, 9) < 0.5 * default_score("linkedin", wednesday, 9)


def test_tiktok_evening_beats_tiktok_morning() -> None:
    assert default_score("tiktok", 3, 20) > default_score("tiktok", 3, 8)


@pytest.mark.parametrize(
    ("platform", "day", "hour"), [("myspace", 0, 9), ("linkedin", 7, 9), ("linkedin", 0, 24)]
)
def test_default_score_rejects_bad_arguments(platform: str, day: int, hour: int) -> None:
    with pytest.raises(ValueError):
        default_score(platform, day, hour)
