"""The daemon end to end, on PostgreSQL: real daemon processes, the sandbox as a real HTTP server.

Several daemons never publish an item twice, nor call a network before the reset it announced;
SIGTERM with calls in flight (to a daemon, or to ``--once``) finishes them and exits cleanly;
kill -9 in the middle of publishing loses nothing and duplicates nothing; a PostgreSQL restart
during a run is survived.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import PublishAttempt, PublishingQueueItem, ScheduledPost
from core.services.container import Herald
from tests.conftest import FAST_HASHER, REQUIRE_ENV, SECRET_KEY
from tests.daemon.harness import (
    Daemon,
    PostgresNotInstalled,
    PrivatePostgres,
    SandboxServer,
    daemon_env,
    wait_until,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


def _herald(url: str, server: SandboxServer) -> Herald:
    settings = Settings(database_url=url, secret_key=SECRET_KEY, platform_mode="sandbox",
                        sandbox_url=server.url, database_role="herald_app")
    return Herald.create(settings, hasher=FAST_HASHER)


def _setup(herald: Herald, server: SandboxServer, *, posts: int, platforms: tuple[str, ...],
           due_in: float = 4.0, spread: float = 0.0) -> list[str]:
    org = herald.orgs.create_org("E2E", "UTC", approval_required=False, min_gap_minutes=0,
                                 max_posts_per_platform_per_day=100)
    admin = herald.users.create_user(None, org_id=org.org_id, email=f"ops-{uuid.uuid4().hex[:6]}@e2e.test",
                                     name="Ops", role="admin", password="e2e password").actor()
    for i, platform in enumerate(platforms):
        external, token = str(10**15 + i), f"tok-{uuid.uuid4().hex}"
        account = server.register(platform, external, f"e2e_{platform}", token)
        herald.accounts.connect(admin, org_id=org.org_id, platform=platform, external_account_id=external,
                                username=account["username"], access_token=token)
    start = datetime.now(UTC) + timedelta(seconds=due_in)
    texts = [f"E2E post {i} {uuid.uuid4().hex[:8]}" for i in range(posts)]
    results = herald.scheduling.bulk_schedule(admin, [
        {"content": text, "platforms": list(platforms),
         "scheduled_at": (start + timedelta(seconds=spread * i / max(posts, 1))).isoformat()}
        for i, text in enumerate(texts)], force=True)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return texts


def _queue_states(herald: Herald) -> Counter[str]:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        return Counter(dict(uow.session.execute(  # type: ignore[arg-type]
            select(PublishingQueueItem.status, func.count()).group_by(PublishingQueueItem.status)).all()))


def _items(herald: Herald) -> dict[uuid.UUID, Any]:
    """Every queue item: its status, lease, due time and its post's text."""
    Q = PublishingQueueItem
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        rows = uow.session.execute(
            select(Q.queue_id, Q.status, Q.locked_by, Q.locked_until, Q.next_attempt_at, ScheduledPost.content)
            .join(ScheduledPost, ScheduledPost.post_id == Q.scheduled_post_id)).all()
    return {r.queue_id: r for r in rows}


def _calling(herald: Herald, *, at_least: int = 1) -> set[uuid.UUID] | None:
    """Items processing and due, if there are ``at_least`` of them: on a publish thread, their
    network call under way (an item claimed ahead of its time, armed, is processing too, but
    waits for its time)."""
    now = datetime.now(UTC)
    calling = {q for q, r in _items(herald).items() if r.status == "processing" and r.next_attempt_at <= now}
    return calling if len(calling) >= at_least else None


def _attempts_in_progress(herald: Herald) -> int:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(PublishAttempt)
                                      .where(PublishAttempt.outcome == "in_progress")) or 0)


def _assert_stopped_cleanly(herald: Herald, server: SandboxServer, in_hand: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """What a signalled daemon must leave: every item it had in hand completed, and published
    exactly once; nothing processing, no lease left on a pending item, no attempt in progress."""
    items = _items(herald)
    assert in_hand and in_hand <= set(items)
    not_done = {str(q): items[q].status for q in in_hand if items[q].status != "completed"}
    assert not not_done, f"items in hand at the signal not completed: {not_done}"
    processing = [str(q) for q, r in items.items() if r.status == "processing"]
    assert not processing, f"left processing: {processing}"
    leased = [str(q) for q, r in items.items()
              if r.status == "pending" and (r.locked_by is not None or r.locked_until is not None)]
    assert not leased, f"pending with a lease: {leased}"
    assert _attempts_in_progress(herald) == 0, "publish attempts left in progress"
    published = Counter((p["platform"], p["text"]) for p in server.posts())
    twice = {k: n for k, n in published.items() if n > 1}
    assert not twice, f"published twice: {twice}"
    missing = [str(q) for q in in_hand if published[("twitter", items[q].content)] != 1]
    assert not missing, f"items in hand never published: {missing}"
    completed = sum(1 for r in items.values() if r.status == "completed")
    assert sum(published.values()) == completed
    return items


def _all_completed(herald: Herald, expected: int) -> bool:
    return _queue_states(herald).get("completed", 0) == expected


def _assert_once_each(server: SandboxServer, texts: list[str], platforms: tuple[str, ...]) -> None:
    posts = server.posts()
    seen = Counter((p["platform"], p["text"]) for p in posts)
    duplicates = {k: v for k, v in seen.items() if v > 1}
    assert not duplicates, f"published twice: {list(duplicates)[:5]}"
    missing = [(p, t) for t in texts for p in platforms if (p, t) not in seen]
    assert not missing, f"never published: {missing[:5]}"
    assert len(posts) == len(texts) * len(platforms)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    server = SandboxServer(service_time_ms=20)
    yield server
    server.stop()


def test_several_daemons_never_publish_an_item_twice(database_url: str, server: SandboxServer) -> None:
    herald = _herald(database_url, server)
    platforms = ("twitter", "facebook")
    env = daemon_env(database_url, SECRET_KEY, server.url)
    daemons = [Daemon(env, f"d{i}", concurrency=4) for i in range(3)]
    try:
        # All three are up and idle before anything falls due, so they really compete.
        wait_until(lambda: len([h for h in herald.ops.heartbeats() if h.alive]) == 3, timeout=60,
                   what="three daemons running")
        texts = _setup(herald, server, posts=80, platforms=platforms, due_in=8)
        wait_until(lambda: _all_completed(herald, len(texts) * 2), timeout=90, what="every item published")
        # Each keeps to a third of every account's publish window (flow_control.AccountRateLimiter).
        wait_until(lambda: [h.info.get("limit_share_of") for h in herald.ops.heartbeats()] == [3, 3, 3],
                   timeout=60, what="each daemon counting the three")
        codes = [d.terminate() for d in daemons]
    finally:
        for d in daemons:
            d.stop()
    assert codes == [0, 0, 0], [d.log()[-2000:] for d in daemons]
    _assert_once_each(server, texts, platforms)
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        workers = set(uow.session.scalars(select(PublishAttempt.worker_id).distinct()))
        outcomes = Counter(uow.session.scalars(select(PublishAttempt.outcome)))
    assert len(workers) >= 2, "the work should be shared between daemons"
    assert outcomes["success"] == len(texts) * 2
    assert all("exited cleanly" in d.log() for d in daemons)
    herald.close()


def test_several_daemons_never_call_a_network_before_its_announced_reset(database_url: str) -> None:
    # One call in ten is refused with a reset two seconds on: X announces it in x-rate-limit-reset,
    # LinkedIn (for a named reset) in Retry-After.
    limited = SandboxServer(service_time_ms=20, extra_args=["--fault-rate-429", "0.1",
                                                            "--fault-429-reset-seconds", "2"])
    daemons: list[Daemon] = []
    try:
        herald = _herald(database_url, limited)
        platforms = ("twitter", "linkedin")
        env = daemon_env(database_url, SECRET_KEY, limited.url)
        daemons = [Daemon(env, f"d{i}", concurrency=4) for i in range(2)]
        wait_until(lambda: len([h for h in herald.ops.heartbeats() if h.alive]) == 2, timeout=60,
                   what="two daemons running")
        texts = _setup(herald, limited, posts=40, platforms=platforms, due_in=6, spread=2)
        wait_until(lambda: _all_completed(herald, len(texts) * 2), timeout=120, what="every item published")
        codes = [d.terminate() for d in daemons]
        assert codes == [0, 0], [d.log()[-2000:] for d in daemons]
        _assert_once_each(limited, texts, platforms)
        with herald.db.unit_of_work(system=True, readonly=True) as uow:
            rows = uow.session.execute(select(PublishAttempt.queue_id, PublishAttempt.outcome,
                                              PublishAttempt.started_at, PublishAttempt.retry_after)
                                       .order_by(PublishAttempt.queue_id, PublishAttempt.started_at)).all()
        herald.close()
    finally:
        for d in daemons:
            d.stop()
        limited.stop()
    refused = [r for r in rows if r.outcome == "rate_limited"]
    assert refused, "the sandbox refused no call: the check below would prove nothing"
    assert all(r.retry_after is not None for r in refused)
    by_item: dict[uuid.UUID, list[Any]] = {}
    for r in rows:
        by_item.setdefault(r.queue_id, []).append(r)
    early = [(later.queue_id, earlier.retry_after, later.started_at)
             for attempts in by_item.values() for i, later in enumerate(attempts)
             for earlier in attempts[:i] if earlier.retry_after and later.started_at < earlier.retry_after]
    assert not early, f"called before the announced reset: {early[:3]}"


def test_sigterm_with_calls_in_flight_finishes_them_and_exits_cleanly(database_url: str) -> None:
    slow = SandboxServer(service_time_ms=400)  # every call takes a while: some are under way at the signal
    try:
        herald = _herald(database_url, slow)
        platforms = ("twitter",)
        # Six a second for ten seconds: two or three calls in flight at a time, a few more
        # armed (claimed up to 2 s ahead), and most not claimed yet when the signal comes.
        texts = _setup(herald, slow, posts=60, platforms=platforms, due_in=4, spread=10)
        env = daemon_env(database_url, SECRET_KEY, slow.url)
        daemon = Daemon(env, "terminated", concurrency=8)
        try:
            calling = wait_until(lambda: _calling(herald, at_least=2), timeout=60, interval=0.02,
                                 what="calls in flight")
            in_hand = {q for q, r in _items(herald).items() if r.status == "processing"}
            started = time.monotonic()
            code = daemon.terminate(timeout=30)
            took = time.monotonic() - started
        finally:
            daemon.stop()
        assert code == 0, daemon.log()[-3000:]
        assert took < 15, f"took {took:.1f} s to exit"
        assert "received SIGTERM" in daemon.log() and "exited cleanly" in daemon.log(), daemon.log()[-3000:]
        items = _assert_stopped_cleanly(herald, slow, in_hand | calling)
        assert any(r.status == "pending" for r in items.values()), "it should have stopped claiming"
        # What it had not claimed is left as it was: the next daemon publishes it, and only it.
        successor = Daemon(env, "successor", concurrency=8)
        try:
            wait_until(lambda: _all_completed(herald, len(texts)), timeout=90, what="every item published")
            assert successor.terminate() == 0, successor.log()[-3000:]
        finally:
            successor.stop()
        _assert_once_each(slow, texts, platforms)
        herald.close()
    finally:
        slow.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_once_finishes_the_items_in_hand_and_exits_cleanly(
        database_url: str, signum: signal.Signals) -> None:
    slow = SandboxServer(service_time_ms=400)
    try:
        herald = _herald(database_url, slow)
        texts = _setup(herald, slow, posts=40, platforms=("twitter",), due_in=1)
        # --once claims only what is due when it looks: let all of it fall due first.
        wait_until(lambda: all(r.next_attempt_at <= datetime.now(UTC) for r in _items(herald).values()),
                   timeout=10, what="every post due")
        # Forty due, four at a time, 0.4 s each: --once has four seconds of work and more.
        once = Daemon(daemon_env(database_url, SECRET_KEY, slow.url), "once", concurrency=4, once=True)
        try:
            calling = wait_until(lambda: _calling(herald), timeout=60, interval=0.02, what="calls in flight")
            in_hand = {q for q, r in _items(herald).items() if r.status == "processing"}
            started = time.monotonic()
            code = once.terminate(timeout=30, signum=signum)
            took = time.monotonic() - started
        finally:
            once.stop()
        assert code == 0, once.log()[-3000:]
        assert took < 15, f"took {took:.1f} s to exit"
        assert f"received {signum.name}" in once.log() and "exited cleanly" in once.log(), once.log()[-3000:]
        items = _assert_stopped_cleanly(herald, slow, in_hand | calling)
        left = sum(1 for r in items.values() if r.status == "pending")
        assert 0 < left < len(texts), "it should have stopped claiming, after publishing some"
        herald.close()
    finally:
        slow.stop()


def test_kill_9_mid_publish_loses_nothing_and_duplicates_nothing(database_url: str) -> None:
    slow = SandboxServer(service_time_ms=400)  # long enough to kill a daemon with calls in flight
    try:
        herald = _herald(database_url, slow)
        platforms = ("twitter",)
        texts = _setup(herald, slow, posts=40, platforms=platforms, due_in=3)
        env = daemon_env(database_url, SECRET_KEY, slow.url)
        victim = Daemon(env, "victim", concurrency=8)
        wait_until(lambda: _queue_states(herald).get("completed", 0) >= 3, timeout=60, what="some items published")
        wait_until(lambda: _queue_states(herald).get("processing", 0) >= 1, timeout=30, interval=0.02,
                   what="items in flight")
        victim.kill9()
        in_flight = _queue_states(herald).get("processing", 0)
        assert in_flight >= 1
        survivor = Daemon(env, "survivor", concurrency=8)
        try:
            wait_until(lambda: _all_completed(herald, len(texts)), timeout=120, what="every item published")
            assert survivor.terminate() == 0
        finally:
            survivor.stop()
        _assert_once_each(slow, texts, platforms)
        with herald.db.unit_of_work(system=True, readonly=True) as uow:
            unknown = uow.session.scalar(select(func.count()).select_from(PublishAttempt)
                                         .where(PublishAttempt.outcome == "unknown"))
            dangling = uow.session.scalar(select(func.count()).select_from(PublishAttempt)
                                          .where(PublishAttempt.outcome == "in_progress"))
        assert unknown >= 1, "the killed daemon's attempts are recorded as unknown"
        assert dangling == 0
        herald.close()
    finally:
        slow.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the test's own; without server binaries the test is skipped, unless
    PostgreSQL is required (CI), when it fails."""
    try:
        pg = PrivatePostgres()
    except PostgresNotInstalled as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            raise
        pytest.skip(str(exc))
    try:
        yield pg
    finally:
        pg.destroy()


def test_a_postgresql_restart_during_a_run_is_survived(private_postgres: PrivatePostgres,
                                                       server: SandboxServer) -> None:
    # No ``database_url``: the test restarts a PostgreSQL of its own. It is postgres_only all the
    # same, so a SQLite-only run skips it (tests/conftest.py).
    pg = private_postgres
    upgrade(pg.url)
    herald = _herald(pg.url, server)
    platforms = ("twitter",)
    texts = _setup(herald, server, posts=40, platforms=platforms, due_in=3, spread=8)
    daemon = Daemon(daemon_env(pg.url, SECRET_KEY, server.url), "through-restart", concurrency=4)
    try:
        wait_until(lambda: _queue_states(herald).get("completed", 0) >= 5, timeout=60, what="a first few published")
        herald.db.dispose()
        pg.stop("fast")
        pg.start()
        wait_until(lambda: _all_completed(herald, len(texts)), timeout=120, interval=0.5,
                   what="every item published after the restart")
        assert daemon.terminate() == 0, daemon.log()[-3000:]
    finally:
        daemon.stop()
    _assert_once_each(server, texts, platforms)
    herald.close()
