"""API benchmark: requests per second and latency of the REST API against a real PostgreSQL.

    python bench/api.py [--posts 10000] [--clients 16] [--seconds 10] [--workers 1]

Seeds ``--posts`` posts in one org (spread over a year around now, most scheduled with one queue
item per network, some drafts and published ones) into a database of its own on
``HERALD_BENCH_DATABASE_URL`` (default: the local server), starts ``uvicorn api.main:app`` on
loopback as a subprocess (rate limit off), then drives each endpoint in turn for ``--seconds``
with ``--clients`` concurrent keep-alive clients:

- ``GET /`` (one page of 20, newest first, with each post's queue items and results),
- ``GET /calendar`` (the current month: roughly a twelfth of the posts),
- ``POST /`` (a scheduled post on two networks, ``force`` so clashes do not refuse it).

It prints requests/s, p50 and p99 latency and the error count per endpoint; the last line is one
JSON object with those figures. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this folder would come first on sys.path, and bench/queue.py would shadow the
# standard library's ``queue``. Put the project root there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bench._support import ROOT, BenchDatabase, free_port, percentile  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.engine import admin_engine  # noqa: E402
from core.db.migrate import upgrade  # noqa: E402
from core.db.models import PublishingQueueItem, ScheduledPost  # noqa: E402
from core.services.container import Herald  # noqa: E402

SECRET = "T3ZXwf8YhH0u2S6r7W2p2i6u0t9l5vXJ0lKk9mJ1e0Q="
BASE = "/api/social/publishing"
NETWORKS = ("facebook", "twitter", "linkedin")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--posts", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=16, help="concurrent clients per endpoint")
    p.add_argument("--seconds", type=float, default=10.0, help="how long each endpoint is driven")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    return p.parse_args()


def seed(herald: Herald, count: int, now: datetime) -> str:
    """An org with ``count`` posts and an admin's API token (returned)."""
    org = herald.orgs.create_org("Bench", "Europe/London", approval_required=False)
    user = herald.users.create_user(None, org_id=org.org_id, email="bench@bench.test", name="Bench",
                                    role="admin", password="bench password")
    rng = random.Random(7)
    posts: list[dict[str, Any]] = []
    queue: list[dict[str, Any]] = []
    for i in range(count):
        post_id, at = uuid.uuid4(), now + timedelta(minutes=rng.randint(-180 * 1440, 180 * 1440))
        networks = rng.sample(NETWORKS, rng.randint(1, 2))
        status = "draft" if i % 10 == 0 else ("published" if at < now else "scheduled")
        posts.append({"post_id": post_id, "org_id": org.org_id, "created_by": user.user_id,
                      "title": f"Bench {i}", "content": f"Bench post {i} #bench", "post_type": "text",
                      "platforms": networks, "status": status, "approval_status": "not_required",
                      "scheduled_at": None if status == "draft" else at,
                      "published_at": at if status == "published" else None})
        if status != "draft":
            queue.extend({"org_id": org.org_id, "scheduled_post_id": post_id, "platform": n,
                          "status": "completed" if status == "published" else "pending",
                          "scheduled_for": at, "next_attempt_at": at, "max_attempts": 3,
                          "idempotency_key": f"{post_id}:{n}"} for n in networks)
    with herald.db.unit_of_work(org.org_id) as uow:
        for chunk in range(0, count, 2000):
            uow.session.execute(insert(ScheduledPost), posts[chunk:chunk + 2000])
        for chunk in range(0, len(queue), 4000):
            uow.session.execute(insert(PublishingQueueItem), queue[chunk:chunk + 4000])
        uow.commit()
    owner = admin_engine(herald.db.url)  # ANALYZE is the owner's; as autovacuum would do it
    with owner.connect() as conn:
        conn.execute(text("ANALYZE scheduled_posts, publishing_queue"))
        conn.commit()
    owner.dispose()
    return herald.api_tokens.create_for_email("bench@bench.test", name="bench")[1]


class ApiServer:
    def __init__(self, database_url: str, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HERALD_DATABASE_URL": database_url, "HERALD_SECRET_KEY": SECRET,
               "HERALD_API_RATE_LIMIT_PER_MINUTE": "0", "HERALD_DEMO": "false",
               "HERALD_PLATFORM_MODE": "sandbox"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the API server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _new_post(now: datetime) -> dict[str, Any]:
    at = now + timedelta(days=random.randint(1, 60), minutes=random.randint(0, 1439))
    return {"content": f"Bench API post {uuid.uuid4().hex[:8]}", "platforms": ["linkedin", "facebook"],
            "scheduled_at": at.isoformat(), "force": True}


async def drive(url: str, token: str, method: str, path: str, clients: int, seconds: float,
                body: Any = None) -> dict[str, Any]:
    """``clients`` keep-alive clients sending the request back to back for ``seconds``."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    now = datetime.now(UTC)
    stop_at = time.monotonic() + seconds

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                response = await client.request(method, path, json=body(now) if body else None)
                latencies.append(time.perf_counter() - t0)
                if response.status_code >= 300:
                    errors[response.status_code] = errors.get(response.status_code, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    elapsed = time.monotonic() - started
    ms = [x * 1000 for x in latencies]
    return {"requests": len(ms), "rps": round(len(ms) / elapsed, 1), "p50_ms": round(percentile(ms, 50), 1),
            "p99_ms": round(percentile(ms, 99), 1), "errors": errors}


def main() -> int:
    args = parse_args()
    bench_db = BenchDatabase()
    server: ApiServer | None = None
    try:
        upgrade(bench_db.url)
        herald = Herald.create(Settings(database_url=bench_db.url, secret_key=SECRET, platform_mode="sandbox"))
        t0 = time.monotonic()
        token = seed(herald, args.posts, datetime.now(UTC))
        herald.close()
        print(f"seeded {args.posts} posts in {time.monotonic() - t0:.1f}s", flush=True)
        server = ApiServer(bench_db.url, args.workers)
        runs = {"GET /": ("GET", f"{BASE}/?page=1&per_page=20", None),
                "GET /calendar": ("GET", f"{BASE}/calendar", None),
                "POST /": ("POST", f"{BASE}/", _new_post)}
        figures = {}
        for name, (method, path, body) in runs.items():
            asyncio.run(drive(server.url, token, method, path, 2, 1.0, body))  # warm up
            figures[name] = asyncio.run(drive(server.url, token, method, path, args.clients, args.seconds, body))
            print(f"{name:15} {figures[name]['rps']:8.1f} req/s   p50 {figures[name]['p50_ms']:7.1f} ms   "
                  f"p99 {figures[name]['p99_ms']:7.1f} ms   errors {figures[name]['errors'] or 0}", flush=True)
        print(json.dumps({"posts": args.posts, "clients": args.clients, "seconds": args.seconds,
                          "workers": args.workers, "endpoints": figures}))
        return 0
    finally:
        if server is not None:
            server.stop()
        bench_db.drop()


if __name__ == "__main__":
    sys.exit(main())
