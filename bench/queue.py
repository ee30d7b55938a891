"""Queue benchmark: how fast and how punctually the daemons publish, against a real PostgreSQL.

    python bench/queue.py [--posts 10000] [--daemons 2] [--concurrency N] [--window 16]
                          [--service-ms 20] [--rate-429 0.01] [--rate-5xx 0.01] [--burst 1000]
                          [--lead 60] [--no-staging] [--network-limits]

Steady phase: ``--posts`` posts spread evenly over ``--window`` seconds (10,000 over 16 s =
625/s, a quarter above the 500/s goal: offered exactly 500/s, no figure could show more), over
every network Herald has a connector for and many accounts (a few posts each, so no account
meets its network's own limits). The sandbox runs as a separate HTTP server on loopback with a
service time and injected 429s and 5xx; the networks' own quotas are off unless
``--network-limits`` (YouTube's is per project, 100 uploads a day, which no spread of accounts
avoids: with it on, every YouTube post past the 100th waits for tomorrow's quota). Lateness is
the time the sandbox received the publish minus ``scheduled_at``. Burst phase: ``--burst`` posts
due in the same second.
Posts are scheduled ``--lead`` seconds before their time (default 60), so the daemons stage their
media ahead (``HERALD_STAGE_AHEAD_SECONDS``, as in production where posts wait hours or days);
``--lead 0`` schedules them a few seconds before, too late to stage, and ``--no-staging`` turns
staging off. CPU is reported for the publishing phase and, separately, for the lead.
Ceiling: in the same run and database, the raw SQL claim + complete loop without HTTP.
Throughput (``publishes_per_s``) is 99% of the steady posts over the time from the first one's
scheduled time to that 99th-percentile publish; ``publishes_per_s_all`` counts every post up to the
last, so a post waiting a minute for Instagram's announced reset makes it a fifth of the rate the
daemons kept up. Lateness is reported three ways: of every post (the goal's figure); of the posts
published on their first attempt; and past the reset: from when Herald was allowed to publish (the
scheduled time, or the latest reset a network announced for the item, from ``publish_attempts.
retry_after``) to the publish, which is Herald's own part of the lateness. A few posts always meet
an injected 429: X and the others announce a reset a second away, Meta in whole minutes (at least
one), and Herald never calls before it.
The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``queue``: run as a script, its folder comes
# first on sys.path and would shadow it. Put the project root there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from bench._support import BenchDatabase, CpuMeter, DaemonProcess, SandboxProcess, summary  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.engine import Database  # noqa: E402
from core.db.migrate import upgrade  # noqa: E402
from core.db.models import (  # noqa: E402
    PlatformPost,
    PublishAttempt,
    PublishingQueueItem,
    ScheduledPost,
    SocialAccount,
)
from core.platforms.registry import available_platforms, staging_platforms  # noqa: E402
from core.services.container import Herald  # noqa: E402
from core.services.queue_store import QueueStore  # noqa: E402
from core.services.worker import DEFAULT_CONCURRENCY  # noqa: E402

SECRET = "T3ZXwf8YhH0u2S6r7W2p2i6u0t9l5vXJ0lKk9mJ1e0Q="
POSTS_PER_ACCOUNT = 5
MEDIA = {"image": "https://sandbox.herald.local/media/bench.jpg?bytes=2000",
         "video": "https://sandbox.herald.local/media/bench.mp4?bytes=4000"}
# One post type per network that it supports (media networks get small media).
SHAPE = {"facebook": ("text", None), "twitter": ("text", None), "linkedin": ("text", None),
         "instagram": ("image", "image"), "tiktok": ("video", "video"), "youtube": ("video", "video"),
         "snapchat": ("story", "image")}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--posts", type=int, default=10_000)
    p.add_argument("--window", type=float, default=16.0, help="seconds over which the posts fall due")
    p.add_argument("--daemons", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=None,
                   help=f"publishes in flight per daemon (default: the daemon's, {DEFAULT_CONCURRENCY})")
    p.add_argument("--ceiling-batch", type=int, default=16, help="claim batch of the ceiling loop")
    p.add_argument("--service-ms", type=float, default=20.0)
    p.add_argument("--rate-429", type=float, default=0.01)
    p.add_argument("--rate-5xx", type=float, default=0.01)
    p.add_argument("--burst", type=int, default=1000)
    p.add_argument("--lead", type=float, default=60.0,
                   help="seconds between scheduling the posts and the first falling due (staging happens then)")
    p.add_argument("--no-staging", action="store_true", help="daemons do not stage media ahead")
    p.add_argument("--ceiling-items", type=int, default=10_000)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--network-limits", action="store_true",
                   help="let the sandbox enforce the networks' own rate limits and quotas")
    return p.parse_args()


def setup_org(herald: Herald) -> tuple[Any, Any]:
    org = herald.orgs.create_org("Bench", "UTC", approval_required=False)
    user = herald.users.create_user(None, org_id=org.org_id, email=f"bench-{uuid.uuid4().hex[:6]}@bench.test",
                                    name="Bench", role="admin", password="bench password")
    return org.org_id, user.user_id


def create_accounts(herald: Herald, sandbox: SandboxProcess, org_id: Any, platforms: list[str],
                    posts: int) -> dict[str, list[Any]]:
    per_platform = -(-posts // len(platforms))
    count = max(1, -(-per_platform // POSTS_PER_ACCOUNT))
    rows, registrations, accounts = [], [], {p: [] for p in platforms}
    for p in platforms:
        for i in range(count):
            # Snapchat's public profile ids are UUIDs; the other networks' ids are numeric.
            external = str(uuid.uuid4()) if p == "snapchat" else str(10**15 + i)
            token = f"bench-{p}-{i}-{uuid.uuid4().hex[:6]}"
            account_id = uuid.uuid4()
            accounts[p].append(account_id)
            registrations.append({"platform": p, "external_account_id": external, "username": f"bench_{p}_{i}",
                                  "access_token": token})
            rows.append({"account_id": account_id, "org_id": org_id, "platform": p, "external_account_id": external,
                         "username": f"bench_{p}_{i}", "access_token_encrypted": herald.accounts.cipher.encrypt(token),
                         "status": "active", "scopes": [], "extra": {}})
    # As many kept-alive connections as threads: httpcore's sync pool, closing a surplus idle
    # connection, can close one just handed to a waiting thread (encode/httpcore#1110; seen
    # here as "Bad file descriptor").
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with ThreadPoolExecutor(32) as pool, httpx.Client(base_url=sandbox.url, timeout=30, limits=limits) as client:
        answers = list(pool.map(lambda body: client.post("/_sandbox/accounts", json=body), registrations))
    for body, answer in zip(registrations, answers, strict=True):
        answer.raise_for_status()
        extra = {k: v for k, v in answer.json().items() if k not in ("platform", "external_account_id", "username")}
        if extra:
            next(r for r in rows if r["external_account_id"] == body["external_account_id"]
                 and r["platform"] == body["platform"])["extra"] = extra
    with herald.db.unit_of_work(org_id) as uow:
        uow.session.execute(insert(SocialAccount), rows)
        uow.commit()
    return accounts


def insert_posts(herald: Herald, org_id: Any, user_id: Any, accounts: dict[str, list[Any]], *, count: int,
                 start: datetime, spread: float, label: str) -> dict[Any, tuple[str, datetime]]:
    platforms = list(accounts)
    posts, queue, expected = [], [], {}
    for i in range(count):
        p = platforms[i % len(platforms)]
        account_id = accounts[p][(i // len(platforms)) % len(accounts[p])]
        at = start + timedelta(seconds=spread * i / max(count, 1))
        post_id = uuid.uuid4()
        post_type, media = SHAPE[p]
        posts.append({"post_id": post_id, "org_id": org_id, "created_by": user_id, "title": f"Bench {label} {i}",
                      "content": f"Bench {label} post {i} {uuid.uuid4().hex[:6]}", "post_type": post_type,
                      "platforms": [p], "media_urls": [MEDIA[media]] if media else [], "status": "scheduled",
                      "approval_status": "not_required", "scheduled_at": at})
        queue.append({"org_id": org_id, "scheduled_post_id": post_id, "platform": p, "status": "pending",
                      "scheduled_for": at, "next_attempt_at": at, "max_attempts": 3,
                      "idempotency_key": f"{post_id}:{p}", "account_id": account_id,
                      "stage_state": None if media and p in staging_platforms() else "nothing"})  # as sync_queue
        expected[post_id] = (p, at)
    with herald.db.unit_of_work(org_id) as uow:
        for chunk in range(0, count, 2000):
            uow.session.execute(insert(ScheduledPost), posts[chunk:chunk + 2000])
            uow.session.execute(insert(PublishingQueueItem), queue[chunk:chunk + 2000])
        uow.commit()
    return expected


def wait_settled(herald: Herald, org_id: Any, expected: dict[Any, tuple[str, datetime]], timeout: float) -> Counter[str]:
    """Poll until every expected item is completed or failed. One grouped count over the items'
    time range, not a query naming every id: the bench must not take CPU from the daemons."""
    first = min(at for _, at in expected.values())
    last = max(at for _, at in expected.values())
    deadline = time.monotonic() + timeout
    while True:
        with herald.db.unit_of_work(org_id, readonly=True) as uow:
            states = Counter(dict(uow.session.execute(
                select(PublishingQueueItem.status, func.count())
                .where(PublishingQueueItem.org_id == org_id, PublishingQueueItem.scheduled_for.between(first, last))
                .group_by(PublishingQueueItem.status)).tuples().all()))
        if states.get("completed", 0) + states.get("failed", 0) >= len(expected) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def wait_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


def stage_states(herald: Herald, org_id: Any, expected: dict[Any, tuple[str, datetime]]) -> dict[str, int]:
    """How many of the items were staged (or not) by the time they fell due."""
    first = min(at for _, at in expected.values())
    last = max(at for _, at in expected.values())
    with herald.db.unit_of_work(org_id, readonly=True) as uow:
        return {str(state): n for state, n in uow.session.execute(
            select(PublishingQueueItem.stage_state, func.count())
            .where(PublishingQueueItem.org_id == org_id, PublishingQueueItem.scheduled_for.between(first, last))
            .group_by(PublishingQueueItem.stage_state)).tuples().all()}


def measure(herald: Herald, org_id: Any, expected: dict[Any, tuple[str, datetime]],
            sandbox_posts: list[dict[str, Any]]) -> dict[str, Any]:
    with herald.db.unit_of_work(org_id, readonly=True) as uow:
        published = {(p, ext): post_id for post_id, p, ext in uow.session.execute(
            select(PlatformPost.scheduled_post_id, PlatformPost.platform, PlatformPost.platform_post_id_external)
            .where(PlatformPost.scheduled_post_id.in_(list(expected)), PlatformPost.status == "published"))}
        failed = uow.session.scalar(select(PublishingQueueItem.queue_id).where(
            PublishingQueueItem.scheduled_post_id.in_(list(expected)), PublishingQueueItem.status == "failed").limit(1))
        # Calls made, not attempts spent: a wait for a network's rate-limit reset spends none.
        attempts = dict(uow.session.execute(
            select(PublishingQueueItem.scheduled_post_id, func.count(PublishAttempt.attempt_id))
            .join(PublishAttempt, PublishAttempt.queue_id == PublishingQueueItem.queue_id)
            .where(PublishingQueueItem.scheduled_post_id.in_(list(expected)))
            .group_by(PublishingQueueItem.scheduled_post_id)).tuples().all())
        # The latest reset a network announced for the post's item (a 429's, a Retry-After).
        resets = dict(uow.session.execute(
            select(PublishingQueueItem.scheduled_post_id, func.max(PublishAttempt.retry_after))
            .join(PublishAttempt, PublishAttempt.queue_id == PublishingQueueItem.queue_id)
            .where(PublishingQueueItem.scheduled_post_id.in_(list(expected)), PublishAttempt.retry_after.is_not(None))
            .group_by(PublishingQueueItem.scheduled_post_id)).tuples().all())
    received: dict[Any, list[datetime]] = {}
    for post in sandbox_posts:
        post_id = published.get((post["platform"], post["id"]))
        if post_id is not None:
            received.setdefault(post_id, []).append(datetime.fromisoformat(post["created_at"]))
    ours = {pid for pid in expected}
    by_text = Counter(p["text"] for p in sandbox_posts if p["text"])
    duplicates = sum(len(v) - 1 for v in received.values()) + sum(n - 1 for n in by_text.values() if n > 1)
    lateness = [(min(times) - expected[pid][1]).total_seconds() for pid, times in received.items()]
    # Herald's own lateness: from when it was allowed to publish (the scheduled time, or the
    # network's announced reset if later) to the publish.
    past_reset = [(min(times) - max(expected[pid][1], resets.get(pid) or expected[pid][1])).total_seconds()
                  for pid, times in received.items()]
    lost = len(ours) - len(received)
    firsts = sorted(min(t) for t in received.values())
    start = min(at for _, at in expected.values())
    span = (firsts[-1] - start).total_seconds() if firsts else float("nan")
    bulk = firsts[:max(1, int(len(expected) * 0.99))]
    span_99 = (bulk[-1] - start).total_seconds() if firsts else float("nan")
    first_try = [(min(times) - expected[pid][1]).total_seconds() for pid, times in received.items()
                 if attempts.get(pid) == 1]
    by_network: dict[str, list[float]] = {}
    for pid, times in received.items():
        if attempts.get(pid) == 1:
            by_network.setdefault(expected[pid][0], []).append((min(times) - expected[pid][1]).total_seconds())
    first_try_by_network = {p: {k: round(v, 3) for k, v in summary(v).items() if k in ("p50", "max")}
                            for p, v in sorted(by_network.items())}
    return {"published": len(received), "lost": lost, "duplicates": duplicates, "lateness": summary(lateness),
            "first_try_by_network": first_try_by_network,
            "span_s": span, "any_failed": failed is not None, "span_99_s": span_99,
            "rate_99": len(bulk) / span_99 if firsts and span_99 > 0 else 0.0,
            "retried": len(received) - len(first_try), "lateness_first_try": summary(first_try),
            "throttled": sum(1 for pid in received if pid in resets), "lateness_past_reset": summary(past_reset)}


def _ceiling_worker(url: str, worker: int, batch: int, done: Any) -> None:
    db = Database(url, app_role="herald_app")
    store = QueueStore(db)
    while True:
        items = store.claim_due(f"ceiling-{worker}", now=datetime.now(UTC), limit=batch)
        if not items:
            break
        with db.unit_of_work(system=True) as uow:
            uow.session.execute(update(PublishingQueueItem).where(
                PublishingQueueItem.queue_id.in_([i.queue_id for i in items]))
                .values(status="completed", processed_at=datetime.now(UTC), locked_by=None, locked_until=None))
            uow.commit()
        with done.get_lock():
            done.value += len(items)
    db.dispose()


def ceiling(herald: Herald, url: str, org_id: Any, user_id: Any, accounts: dict[str, list[Any]], items: int,
            processes: int, batch: int) -> float:
    insert_posts(herald, org_id, user_id, accounts, count=items, start=datetime.now(UTC) - timedelta(seconds=1),
                 spread=0, label="ceiling")
    done = multiprocessing.Value("i", 0)
    workers = [multiprocessing.Process(target=_ceiling_worker, args=(url, w, batch, done)) for w in range(processes)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return done.value / (time.monotonic() - t0)


def main() -> int:
    args = parse_args()
    bench_db = BenchDatabase()
    sandbox = SandboxProcess("--service-time-ms", str(args.service_ms), "--fault-rate-429", str(args.rate_429),
                             "--fault-rate-5xx", str(args.rate_5xx), "--fault-429-reset-seconds", "1",
                             "--processing-seconds", "image=0,gif=0,video=0",
                             *(() if args.network_limits else ("--no-limits",)))
    daemons: list[DaemonProcess] = []
    try:
        upgrade(bench_db.url)
        settings = Settings(database_url=bench_db.url, secret_key=SECRET, platform_mode="sandbox",
                            sandbox_url=sandbox.url)
        herald = Herald.create(settings)
        platforms = [p for p in available_platforms() if p in SHAPE]
        org_id, user_id = setup_org(herald)
        accounts = create_accounts(herald, sandbox, org_id, platforms, args.posts + args.burst)
        print(f"networks: {', '.join(platforms)}; accounts: {sum(map(len, accounts.values()))}", flush=True)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HERALD_")},
               "HERALD_DATABASE_URL": bench_db.url, "HERALD_SECRET_KEY": SECRET, "HERALD_PLATFORM_MODE": "sandbox",
               "HERALD_SANDBOX_URL": sandbox.url, "PYTHONUNBUFFERED": "1",
               "HERALD_STAGE_AHEAD_SECONDS": "0" if args.no_staging else str(max(900, int(args.lead) + 60))}
        log_dir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
        daemons = [DaemonProcess(env, f"bench-{i}", args.concurrency, log_dir) for i in range(args.daemons)]
        concurrency = args.concurrency or DEFAULT_CONCURRENCY
        time.sleep(3)  # daemons up and idle

        pids = [d.process.pid for d in daemons]
        start = datetime.now(UTC) + timedelta(seconds=5 + args.posts / 4000 + args.lead)
        steady = insert_posts(herald, org_id, user_id, accounts, count=args.posts, start=start, spread=args.window,
                              label="steady")
        lead_meter = CpuMeter(pids, sandbox.process.pid)  # after the bench's own inserts
        lead_meter.start()
        wait_until(start)
        lead_cpu = lead_meter.stop()
        staged = stage_states(herald, org_id, steady)
        print(f"scheduled {args.posts} posts {args.lead:.0f} s ahead; stage states at their time: {staged}", flush=True)
        meter = CpuMeter(pids, sandbox.process.pid)
        meter.start()
        states = wait_settled(herald, org_id, steady, args.window + args.timeout)
        cpu = meter.stop()
        print(f"steady phase settled: {dict(states)}", flush=True)
        burst_at = datetime.now(UTC) + timedelta(seconds=4 + args.lead)
        burst = insert_posts(herald, org_id, user_id, accounts, count=args.burst, start=burst_at, spread=0,
                             label="burst")
        wait_until(burst_at)
        staged_b = stage_states(herald, org_id, burst)
        states_b = wait_settled(herald, org_id, burst, args.timeout)
        print(f"burst phase settled: {dict(states_b)}", flush=True)
        for d in daemons:
            d.stop()
        daemons = []
        posts = sandbox.posts()
        steady_m = measure(herald, org_id, steady, posts)
        burst_m = measure(herald, org_id, burst, posts)
        rate = steady_m["rate_99"]
        rate_all = steady_m["published"] / steady_m["span_s"] if steady_m["span_s"] else 0.0
        ceil = ceiling(herald, bench_db.url, org_id, user_id, accounts, args.ceiling_items, args.daemons,
                       args.ceiling_batch)
        herald.close()
        cpu_ms = {k: round(v * 1000 / max(1, steady_m["published"]), 2) for k, v in cpu.items()}
        lead_cpu_ms = {k: round(v * 1000 / max(1, steady_m["published"]), 2) for k, v in lead_cpu.items()}
        print(f"steady: {steady_m}\nburst: {burst_m}\nceiling (claim+complete, no HTTP): {ceil:.0f}/s\n"
              f"CPU per publish in the steady phase (ms): {cpu_ms}\n"
              f"CPU per post in the lead before it, staging included (ms): {lead_cpu_ms}", flush=True)
        result = {
            "posts": args.posts, "daemons": args.daemons, "concurrency": concurrency, "networks": platforms,
            "publishes_per_s": round(rate, 1),
            "lateness_p50_s": round(steady_m["lateness"]["p50"], 3),
            "lateness_p99_s": round(steady_m["lateness"]["p99"], 3),
            "lateness_max_s": round(steady_m["lateness"]["max"], 3),
            "burst_lateness_p50_s": round(burst_m["lateness"]["p50"], 3),
            "burst_lateness_p99_s": round(burst_m["lateness"]["p99"], 3),
            "burst_lateness_max_s": round(burst_m["lateness"]["max"], 3),
            "lost": steady_m["lost"] + burst_m["lost"],
            "duplicates": steady_m["duplicates"] + burst_m["duplicates"],
            "publishes_per_s_all": round(rate_all, 1),
            "lateness_past_reset_p99_s": round(steady_m["lateness_past_reset"]["p99"], 3),
            "lateness_past_reset_max_s": round(steady_m["lateness_past_reset"]["max"], 3),
            "burst_lateness_past_reset_p99_s": round(burst_m["lateness_past_reset"]["p99"], 3),
            "burst_lateness_past_reset_max_s": round(burst_m["lateness_past_reset"]["max"], 3),
            "throttled": steady_m["throttled"] + burst_m["throttled"],
            "first_try_lateness_p99_s": round(steady_m["lateness_first_try"]["p99"], 3),
            "first_try_lateness_max_s": round(steady_m["lateness_first_try"]["max"], 3),
            "burst_first_try_lateness_max_s": round(burst_m["lateness_first_try"]["max"], 3),
            "retried": steady_m["retried"] + burst_m["retried"],
            "ceiling_per_s": round(ceil, 1),
            "ratio_to_ceiling": round(rate / ceil, 3) if ceil else None,
            "cpu_ms_per_publish": cpu_ms,
            "lead_s": args.lead, "staging": not args.no_staging,
            "staged_at_due": staged.get("staged", 0) + staged_b.get("staged", 0),
            "lead_cpu_ms_per_post": lead_cpu_ms,
        }
        print(json.dumps(result))
        return 0
    finally:
        for d in daemons:
            d.stop()
        sandbox.stop()
        bench_db.drop()


if __name__ == "__main__":
    sys.exit(main())
