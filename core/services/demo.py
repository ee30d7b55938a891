"""The demo organisation: what a newcomer sees on the embedded default's first start.

One org (Europe/London), four users (password ``herald-demo``), a sandbox account on each of the
seven networks, 90 days of published history whose metrics follow each network's weekday/hour
rhythm (the sandbox's engagement model), upcoming posts over the next weeks (approved, pending,
one rejected, drafts), one failed post with the network's message, and a small content library.
Seeded only into an empty database.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.db.models import Org, PlatformPost, PublishingQueueItem, ScheduledPost
from core.domain.metrics import PostMetrics
from core.domain.timezones import local_to_utc
from core.platforms.sandbox import Sandbox, engagement
from core.services.container import Herald
from core.services.context import Actor

DEMO_PASSWORD = "herald-demo"  # noqa: S105 - documented demo credentials, demo mode only
DEMO_TIMEZONE = "Europe/London"
DEMO_USERS = (("admin@demo.herald", "Ada Admin", "admin"), ("manager@demo.herald", "Max Manager", "manager"),
              ("editor@demo.herald", "Eddie Editor", "editor"), ("analyst@demo.herald", "Ana Analyst", "viewer"))
NETWORKS = ("facebook", "instagram", "twitter", "linkedin", "tiktok", "youtube", "snapchat")
# One post type per network that it supports, and the media it needs.
SHAPES: dict[str, tuple[str, str | None]] = {
    "facebook": ("text", None), "twitter": ("text", None), "linkedin": ("text", None),
    "instagram": ("image", "https://sandbox.herald.local/media/demo-photo.jpg?bytes=40000"),
    "tiktok": ("video", "https://sandbox.herald.local/media/demo-clip.mp4?bytes=60000"),
    "youtube": ("video", "https://sandbox.herald.local/media/demo-video.mp4?bytes=60000"),
    "snapchat": ("story", "https://sandbox.herald.local/media/demo-story.jpg?bytes=40000"),
}
TOPICS = ("Behind the scenes at our studio", "Five tips for a calmer Monday", "Our new spring collection",
          "Customer story: how Brightside doubled sign-ups", "Team spotlight: meet the support crew",
          "Product update: faster exports", "Weekend reading list", "Live Q&A this Thursday",
          "How we plan a launch in three weeks", "Thank you for 10k followers!")


@dataclass(frozen=True)
class DemoSummary:
    org_id: uuid.UUID
    users: list[str]
    history_posts: int
    upcoming_posts: int


def is_empty(herald: Herald) -> bool:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        return (uow.session.scalar(select(func.count()).select_from(Org)) or 0) == 0


def seed_demo(herald: Herald, sandbox: Sandbox | None = None, *, seed: int = 7) -> DemoSummary | None:
    """Seed the demo org into an empty database; None when the database already has data."""
    if not is_empty(herald):
        return None
    rng = random.Random(seed)
    org = herald.orgs.create_org("Brightside Coffee", DEMO_TIMEZONE, approval_required=True, min_gap_minutes=60)
    actors: dict[str, Actor] = {}
    for email, name, role in DEMO_USERS:
        actors[role] = herald.users.create_user(None, org_id=org.org_id, email=email, name=name, role=role,
                                                password=DEMO_PASSWORD).actor()
    accounts = _connect_accounts(herald, sandbox, actors["admin"])
    history = _history(herald, org.org_id, actors["editor"], accounts, rng)
    upcoming = _upcoming(herald, actors, accounts, rng)
    _library(herald, actors["editor"])
    herald.best_times.calculate_for_org(org.org_id)
    return DemoSummary(org.org_id, [u[0] for u in DEMO_USERS], history, upcoming)


def _connect_accounts(herald: Herald, sandbox: Sandbox | None, admin: Actor) -> dict[str, uuid.UUID]:
    from core.platforms.registry import default_sandbox

    sandbox = sandbox or default_sandbox()
    accounts = {}
    for i, platform in enumerate(NETWORKS):
        if platform not in sandbox.networks:
            continue
        # Snapchat's public profile ids are UUIDs (the others' are numeric): a numeric one made
        # every demo Snapchat post fail with 404 when it came due.
        external = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://demo.herald/snapchat")) if platform == "snapchat" \
            else str(10**14 + 4200 + i)
        token = f"demo-{platform}-{uuid.uuid4().hex}"
        refresh = f"demo-refresh-{uuid.uuid4().hex}"
        username = f"brightside_{platform}" if platform != "facebook" else "Brightside Coffee"
        account = sandbox.register_account(platform, external, username, token, refresh)
        view = herald.accounts.connect(admin, org_id=admin.org_id, platform=platform, external_account_id=external,
                                       username=account.username, access_token=token, refresh_token=refresh,
                                       extra=dict(account.extra))
        accounts[platform] = view.account_id
    return accounts


def posting_slot(rng: random.Random, day: datetime) -> datetime:
    """A time on ``day`` (a local date in the demo's timezone) as a social team posts: 07:00 to
    21:45, busiest mid-morning and early evening, on the quarter hour. Aware UTC."""
    hour = rng.choices(range(7, 22), weights=[1, 2, 3, 3, 2, 3, 3, 2, 2, 2, 2, 3, 3, 2, 1])[0]
    wall = datetime(day.year, day.month, day.day, hour, rng.choice((0, 15, 30, 45)))  # noqa: DTZ001
    return local_to_utc(wall, DEMO_TIMEZONE)


def sandbox_metrics(platform: str, post_id: uuid.UUID, published_at: datetime, now: datetime) -> PostMetrics:
    """A post's counters at ``now`` from the sandbox's engagement model, whose audience has the
    network's weekday/hour rhythm in the demo's timezone (saves only where the network has them)."""
    e = engagement(platform, str(post_id), published_at, now, tz=DEMO_TIMEZONE)
    saves = e.saves if platform in ("instagram", "tiktok") else None
    return PostMetrics(likes=e.likes, comments=e.comments, shares=e.shares + e.quotes, views=e.views,
                       saves=saves, reach=e.reach, clicks=e.clicks)


def _history(herald: Herald, org_id: uuid.UUID, editor: Actor, accounts: dict[str, uuid.UUID],
             rng: random.Random) -> int:
    now = herald.clock.now()
    count = 0
    with herald.db.unit_of_work(org_id) as uow:
        for days_ago in range(90, 0, -1):
            day = now - timedelta(days=days_ago)
            for _ in range(rng.randint(2, 4)):
                platform = rng.choice(list(accounts))
                at = posting_slot(rng, day)
                post_type, media = SHAPES[platform]
                topic = rng.choice(TOPICS)
                post = ScheduledPost(
                    post_id=uuid.uuid4(), org_id=org_id, created_by=editor.user_id, title=topic,
                    content=f"{topic} #brightside", post_type=post_type, platforms=[platform],
                    media_urls=[media] if media else [], status="published", approval_status="approved",
                    scheduled_at=at, published_at=at, approval_round=1)
                uow.session.add(post)
                uow.session.flush()  # the post row first: its queue and result rows refer to it
                external = str(rng.randrange(10**15, 10**16))
                uow.session.add(PublishingQueueItem(
                    org_id=org_id, scheduled_post_id=post.post_id, platform=platform, status="completed",
                    scheduled_for=at, next_attempt_at=at, attempts=1, processed_at=at,
                    idempotency_key=f"{post.post_id}:{platform}", account_id=accounts[platform]))
                row = PlatformPost(org_id=org_id, scheduled_post_id=post.post_id, platform=platform,
                                   account_id=accounts[platform], likes=0, comments=0, shares=0, views=0,
                                   engagement=0, engagement_rate=0.0)
                row.mark_published(external, f"https://sandbox.herald.local/{platform}/posts/{external}", at)
                row.update_metrics(sandbox_metrics(platform, post.post_id, at, now), now)
                uow.session.add(row)
                count += 1
        _failed_post(uow.session, org_id, editor, accounts, now)
        uow.commit()
    return count


def _failed_post(session: Any, org_id: uuid.UUID, editor: Actor, accounts: dict[str, uuid.UUID], now: datetime) -> None:
    at = now - timedelta(hours=5)
    message = "You are not allowed to create a Tweet with duplicate content. (HTTP 403)"
    post = ScheduledPost(post_id=uuid.uuid4(), org_id=org_id, created_by=editor.user_id, title="Flash sale reminder",
                         content="Flash sale ends tonight! #brightside", post_type="text", platforms=["twitter"],
                         status="failed", approval_status="approved", scheduled_at=at, approval_round=1,
                         error_message=f"Failed on twitter: {message}")
    session.add(post)
    session.flush()
    session.add(PublishingQueueItem(org_id=org_id, scheduled_post_id=post.post_id, platform="twitter",
                                    status="failed", scheduled_for=at, next_attempt_at=at, attempts=1,
                                    last_attempt_at=at, error_message=message,
                                    idempotency_key=f"{post.post_id}:twitter", account_id=accounts["twitter"]))
    row = PlatformPost(org_id=org_id, scheduled_post_id=post.post_id, platform="twitter", likes=0, comments=0,
                       shares=0, views=0, engagement=0, engagement_rate=0.0)
    row.mark_failed(message)
    session.add(row)


def _upcoming(herald: Herald, actors: dict[str, Actor], accounts: dict[str, uuid.UUID], rng: random.Random) -> int:
    s, editor, manager = herald.scheduling, actors["editor"], actors["manager"]
    now = herald.clock.now()
    created = 0
    networks = [p for p in NETWORKS if p in accounts]
    for i in range(24):
        platform = networks[i % len(networks)]
        post_type, media = SHAPES[platform]
        day = now + timedelta(days=1 + i * 21 // 24)
        topic, slot = rng.choice(TOPICS), posting_slot(rng, day)
        # The day in the text keeps two posts of one topic apart: networks refuse a status
        # identical to a recent one (Facebook's "duplicate status message", X's 403).
        data = {"title": topic, "content": f"{topic} ({slot:%A %d %B}) #brightside",
                "platforms": [platform], "post_type": post_type, "media_urls": [media] if media else [],
                "scheduled_at": slot.isoformat()}
        post = s.schedule_post(editor, data, force=True).post
        created += 1
        if i % 3 == 0:
            continue  # left pending approval
        if i == 4:
            herald.approvals.reject(manager, post.post_id, "Please add the store opening hours")
        else:
            herald.approvals.approve(manager, post.post_id, "Looks good")
    for title in ("Ideas for the autumn menu", "Barista of the month"):
        s.schedule_post(editor, {"title": title, "content": f"{title} (draft)", "platforms": ["facebook", "linkedin"]})
        created += 1
    return created


def _library(herald: Herald, editor: Actor) -> None:
    items: list[dict[str, Any]] = [
        {"title": "Weekly offer", "content_type": "template", "category": "promotions",
         "content": "This week at [COMPANY]: [OFFER]. Valid until [DATE]!", "hashtags": ["brightside", "coffee"]},
        {"title": "New hire welcome", "content_type": "template", "category": "team",
         "content": "Please welcome [NAME] to the [COMPANY] team!"},
        {"title": "Core hashtags", "content_type": "hashtag_set", "hashtags": ["brightside", "coffee", "localcafe"]},
        {"title": "Storefront photo", "content_type": "image", "category": "brand",
         "media_urls": ["https://sandbox.herald.local/media/storefront.jpg?bytes=40000"]},
    ]
    for item in items:
        herald.library.add(editor, item)
