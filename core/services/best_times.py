"""Best time to post: the weekly calculation and the suggestions built on it.

The seed's formula is kept (``avg_engagement_rate`` and ``raw_score`` in performance_data), and
Herald ranks by a recency-weighted rate shrunk toward the platform's prior, so two lucky posts do
not make a slot; a network with too little history shows industry defaults, flagged as such.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from core.db.models import BestTimeRecommendation, Org, PlatformPost
from core.domain import best_time as bt
from core.domain.platforms import normalize_platform
from core.domain.timezones import local_date, local_to_utc, to_local
from core.errors import Conflict, Problem, ValidationFailed
from core.services.base import Service, load_org
from core.services.conflicts import conflicts_at, load_slots, window_for
from core.services.context import Actor

SUGGESTION_LEAD_MINUTES = 15  # a suggestion must leave time to review and queue the post
SEARCH_DAYS_WITHOUT_DATE = 7
MAX_DAYS_AHEAD = 366  # suggestions further out than a year would rest on stale patterns


@dataclass(frozen=True)
class BestTimeSlot:
    platform: str
    day_of_week: str
    hour_of_day: int
    engagement_score: float
    sample_size: int
    avg_engagement_rate: float
    confidence: float
    is_default: bool

    @property
    def day_label(self) -> str:
        return bt.day_label(self.day_of_week)

    @property
    def time_label(self) -> str:
        return bt.time_label(self.hour_of_day)

    @property
    def score_color(self) -> str:
        return bt.score_color(self.engagement_score)

    @property
    def is_high_engagement(self) -> bool:
        return bt.is_high_engagement(self.engagement_score)


@dataclass(frozen=True)
class BestTimes:
    platform: str
    timezone: str
    slots: list[BestTimeSlot]  # all 168 weekday x hour cells
    calculated_at: datetime | None
    is_default: bool  # True when the network has too little history and defaults are shown
    sample_total: int
    note: str | None = None

    def top(self, limit: int = 5) -> list[BestTimeSlot]:
        return sorted(self.slots, key=lambda s: (-s.engagement_score, -s.sample_size))[:limit]

    def cell(self, day: str, hour: int) -> BestTimeSlot:
        return self.slots[bt.DAYS.index(day) * 24 + hour]


@dataclass(frozen=True)
class SlotSuggestion:
    at: datetime  # aware UTC
    local_time: datetime  # the same instant in the org's timezone
    timezone: str
    score: float
    sample_size: int
    is_default: bool
    reason: str = ""
    conflicts_skipped: list[str] = field(default_factory=list)


def _default_grid(platform: str) -> list[BestTimeSlot]:
    return [
        BestTimeSlot(platform, day, hour, round(bt.default_score(platform, d, hour), 2), 0, 0.0, 0.0, True)
        for d, day in enumerate(bt.DAYS) for hour in range(24)
    ]


_GRID_COLUMNS = (BestTimeRecommendation.platform, BestTimeRecommendation.day_of_week,
                 BestTimeRecommendation.hour_of_day, BestTimeRecommendation.engagement_score,
                 BestTimeRecommendation.sample_size, BestTimeRecommendation.avg_engagement_rate,
                 BestTimeRecommendation.performance_data, BestTimeRecommendation.calculated_at)


def _grid(timezone: str, platform: str, rows: list[Any]) -> BestTimes:
    """All 168 cells of a network from its stored slots (``_GRID_COLUMNS`` rows)."""
    total = sum(r.sample_size for r in rows)
    grid = _default_grid(platform)
    calculated = max((r.calculated_at for r in rows if r.calculated_at), default=None)
    if not bt.has_enough_history(total):
        note = (f"Only {total} published {platform} post(s) with metrics so far; showing typical "
                f"{platform} engagement times until there are {bt.MIN_SAMPLES_FOR_HISTORY}.")
        return BestTimes(platform, timezone, grid, calculated, True, total, note)
    prior_score = bt.seed_engagement_score(
        float((rows[0].performance_data or {}).get("prior_rate", bt.DEFAULT_PRIOR_RATE[platform])))
    # A cell never posted in is worth at most the prior's score (what shrinkage gives an
    # empty slot), shaped by the network's typical pattern so the heatmap stays informative
    # and an untried hour never outranks one with evidence above the prior.
    peak = max(s.engagement_score for s in grid) or 1.0
    grid = [
        BestTimeSlot(platform, s.day_of_week, s.hour_of_day,
                     round(prior_score * s.engagement_score / peak, 2), 0, 0.0, 0.0, True)
        for s in grid
    ]
    for r in rows:
        i = bt.DAYS.index(r.day_of_week) * 24 + r.hour_of_day
        grid[i] = BestTimeSlot(platform, r.day_of_week, r.hour_of_day, float(r.engagement_score),
                               r.sample_size, float(r.avg_engagement_rate),
                               float((r.performance_data or {}).get("confidence", 0)), False)
    return BestTimes(platform, timezone, grid, calculated, False, total)


class BestTimeService(Service):
    # --- calculation -------------------------------------------------------------------------
    def calculate_best_times(self, actor: Actor) -> dict[str, dict[str, Any]]:
        actor.require("best_times.recalculate")
        return self.calculate_for_org(actor.org_id)

    def calculate_for_org(self, org_id: uuid.UUID) -> dict[str, dict[str, Any]]:
        """Recompute every platform's weekday x hour scores for one org, in its timezone.

        Replaces the org's rows in one transaction, so readers never see half a calculation.
        """
        now = self.now()
        with self.db.unit_of_work(org_id) as uow:
            org = load_org(uow.session, org_id)
            rows = uow.session.execute(
                select(PlatformPost.platform, PlatformPost.published_at, PlatformPost.engagement,
                       PlatformPost.views)
                .where(PlatformPost.org_id == org_id, PlatformPost.published_at.is_not(None),
                       PlatformPost.status == "published")
            )
            cells: dict[str, dict[tuple[int, int], list[bt.SlotSample]]] = defaultdict(lambda: defaultdict(list))
            for platform, published_at, engagement, views in rows:
                local = to_local(published_at, org.timezone)
                age = (now - published_at).total_seconds() / 86400
                cells[platform][(local.weekday(), local.hour)].append(
                    bt.SlotSample(max(engagement or 0, 0), max(views or 0, 0), age))
            uow.session.execute(delete(BestTimeRecommendation).where(BestTimeRecommendation.org_id == org_id))
            summary: dict[str, dict[str, Any]] = {}
            for platform, by_slot in cells.items():
                all_samples = [s for samples in by_slot.values() for s in samples]
                prior = bt.choose_prior_rate(platform, all_samples)
                for (weekday, hour), samples in by_slot.items():
                    score = bt.score_slot(samples, prior_rate=prior)
                    uow.session.add(BestTimeRecommendation(
                        org_id=org_id, platform=platform, day_of_week=bt.DAYS[weekday],
                        hour_of_day=hour, engagement_score=score.engagement_score,
                        sample_size=score.sample_size, avg_engagement_rate=score.avg_engagement_rate,
                        calculated_at=now,
                        performance_data={
                            "raw_score": score.raw_score, "shrunk_rate": score.shrunk_rate,
                            "confidence": round(score.confidence, 4), "prior_rate": round(prior, 4),
                            "total_engagement": score.total_engagement, "total_views": score.total_views,
                            "effective_n": round(score.effective_n, 3), "timezone": org.timezone,
                        }))
                summary[platform] = {"slots": len(by_slot), "samples": len(all_samples),
                                     "prior_rate": round(prior, 3),
                                     "is_default": not bt.has_enough_history(len(all_samples))}
            uow.commit()
        return summary

    # --- reading -----------------------------------------------------------------------------
    def get_best_times(self, actor: Actor, platform: str) -> BestTimes:
        platform = normalize_platform(platform)
        return self.get_best_times_for(actor, [platform])[platform]

    def get_best_times_for(self, actor: Actor, platforms: Iterable[str]) -> dict[str, BestTimes]:
        """The grids of several networks, in one read."""
        names = list(dict.fromkeys(normalize_platform(p) for p in platforms))
        with self.uow(actor, readonly=True) as uow:
            org = load_org(uow.session, actor.org_id)
            return self._grids(uow.session, org, names)

    def _grids(self, session: Any, org: Org, platforms: list[str]) -> dict[str, BestTimes]:
        rows = session.execute(select(*_GRID_COLUMNS).where(
            BestTimeRecommendation.org_id == org.org_id, BestTimeRecommendation.platform.in_(platforms))).all()
        by_platform: dict[str, list[Any]] = {p: [] for p in platforms}
        for row in rows:
            by_platform[row.platform].append(row)
        return {p: _grid(org.timezone, p, by_platform[p]) for p in platforms}

    def get_best_time_to_post(self, actor: Actor, platform: str, day_of_week: str | None = None) -> BestTimeSlot | None:
        """The seed's lookup: the highest-scoring slot (on a given weekday, if named)."""
        grid = self.get_best_times(actor, platform)
        slots = grid.slots
        if day_of_week:
            day = day_of_week.strip().lower()
            if day not in bt.DAYS:
                raise ValidationFailed([Problem(field="day_of_week", code="invalid",
                                                message=f"'{day_of_week}' is not a weekday name", actual=day_of_week)])
            slots = [s for s in slots if s.day_of_week == day]
        return max(slots, key=lambda s: (s.engagement_score, s.sample_size), default=None)

    # --- suggestions -------------------------------------------------------------------------
    def suggest_posting_times(
        self, actor: Actor, platform: str, preferred_date: date | None = None, *, count: int = 3,
        exclude_post_id: uuid.UUID | None = None,
    ) -> list[SlotSuggestion]:
        """The best free slots on the preferred local date (or the next days, when none given):
        in the future, clear of the org's minimum gap and under its daily cap, best score first."""
        platform = normalize_platform(platform)
        with self.uow(actor, readonly=True) as uow:
            org = load_org(uow.session, actor.org_id)
            grid = self._grids(uow.session, org, [platform])[platform]
            today = local_date(self.now(), org.timezone)
            if preferred_date is not None and preferred_date < today:
                raise ValidationFailed([Problem(
                    field="preferred_date", code="in_past",
                    message=f"{preferred_date.isoformat()} is in the past in {org.timezone}; pick today or later",
                    actual=preferred_date.isoformat())])
            if preferred_date is not None and (preferred_date - today).days > MAX_DAYS_AHEAD:
                raise ValidationFailed([Problem(
                    field="preferred_date", code="out_of_range", limit=MAX_DAYS_AHEAD,
                    message=f"Pick a date within {MAX_DAYS_AHEAD} days from today",
                    actual=preferred_date.isoformat())])
            days = [preferred_date] if preferred_date else [today + timedelta(days=i) for i in range(SEARCH_DAYS_WITHOUT_DATE)]
            for day in days:
                found = self._free_slots(uow.session, org, grid, day, exclude_post_id)
                if found:
                    return found[:count]
        return []

    def suggest_posting_time(
        self, actor: Actor, platform: str, preferred_date: date | None = None
    ) -> SlotSuggestion:
        found = self.suggest_posting_times(actor, platform, preferred_date, count=1)
        if not found:
            when = preferred_date.isoformat() if preferred_date else "the next 7 days"
            raise Conflict(f"No free {platform} slot on {when}: every hour left is taken by the "
                           "org's minimum gap or daily cap. Try another date.")
        return found[0]

    def _free_slots(self, session: Any, org: Org, grid: BestTimes, day: date,
                    exclude_post_id: uuid.UUID | None) -> list[SlotSuggestion]:
        earliest = self.now() + timedelta(minutes=SUGGESTION_LEAD_MINUTES)
        candidates: list[tuple[datetime, BestTimeSlot]] = []
        for hour in range(24):
            try:
                wall = datetime(day.year, day.month, day.day, hour)  # noqa: DTZ001 - a wall time in the org's zone
                at = local_to_utc(wall, org.timezone)
            except ValidationFailed:
                continue  # the hour does not exist on a spring-forward day
            if at >= earliest:
                candidates.append((at, grid.cell(bt.DAYS[day.weekday()], hour)))
        if not candidates:
            return []
        lo, _ = window_for(candidates[0][0], org)
        _, hi = window_for(candidates[-1][0], org)
        slots = load_slots(session, org.org_id, [grid.platform], lo, hi, exclude_post_id)
        free = []
        for at, cell in candidates:
            if conflicts_at(at, [grid.platform], slots, org):
                continue
            basis = ("typical times for the network" if cell.is_default
                     else f"{cell.sample_size} past post(s) in this hour")
            free.append(SlotSuggestion(at, to_local(at, org.timezone), org.timezone, cell.engagement_score,
                                       cell.sample_size, cell.is_default,
                                       f"Score {cell.engagement_score:.0f} from {basis}"))
        return sorted(free, key=lambda s: (-s.score, s.at))
