"""The sandbox as a real HTTP server (``python -m core.platforms.sandbox``) on a free loopback
port: connectors publish through it over real HTTP, other processes drive it through its
control endpoints, and it keeps up with many concurrent requests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.errors import RetryablePlatformError
from core.platforms import (
    AccountCredentials,
    Connector,
    PollPolicy,
    PublishRequest,
    get_connector,
)

ROOT = Path(__file__).resolve().parents[2]
FAST_POLL = PollPolicy(initial_interval_seconds=0.05, max_interval_seconds=0.2, max_wait_seconds=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("sandbox") / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.platforms.sandbox", "--port", str(port),
             "--processing-seconds", "image=0,gif=0,video=0.2"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/_sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sandbox server did not start: {log_path.read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def register(url: str, platform: str, account_id: str, username: str) -> AccountCredentials:
    token = f"{platform}-{account_id}-token"
    response = httpx.post(f"{url}/_sandbox/accounts", json={
        "platform": platform, "external_account_id": account_id, "username": username,
        "access_token": token, "refresh_token": f"{token}-refresh"})
    assert response.status_code == 201, response.text
    return AccountCredentials(platform, account_id, username, token, f"{token}-refresh")


def connector(url: str, platform: str) -> Connector:
    return get_connector(platform, Settings(platform_mode="sandbox", sandbox_url=url),
                         poll=FAST_POLL)


def test_connectors_publish_through_the_server_over_real_http(server: str) -> None:
    acme = register(server, "twitter", "1500000000000000101", "acme")
    shop = register(server, "instagram", "17841400000000101", "acme.shop")
    video = f"{server}/media/clip.mp4?bytes=600000"

    with connector(server, "twitter") as x, connector(server, "instagram") as ig:
        text = x.publish(PublishRequest("p1", "twitter", "text", "Over the wire"), acme)
        clip = x.publish(PublishRequest("p2", "twitter", "video", "Clip", media_urls=(video,)), acme)
        photo = ig.publish(PublishRequest("p3", "instagram", "image", "Photo",
                                          media_urls=(f"{server}/media/p.jpg",)), shop)

    posts = httpx.get(f"{server}/_sandbox/posts").json()
    ids = {p["id"] for p in posts["posts"]}
    assert {text.external_id, clip.external_id, photo.external_id} <= ids
    assert posts["by_platform"]["twitter"]["1500000000000000101"] == 2


def test_faults_injected_over_http_reach_the_connector(server: str) -> None:
    acme = register(server, "twitter", "1500000000000000102", "acme2")
    httpx.post(f"{server}/_sandbox/faults", json={"platform": "twitter", "fault": "rate_limit",
                                                  "account": acme.external_account_id,
                                                  "reset_in": 300})

    with connector(server, "twitter") as x, pytest.raises(RetryablePlatformError) as caught:
        x.publish(PublishRequest("p", "twitter", "text", "Too soon"), acme)

    expected = datetime.now(UTC) + timedelta(seconds=300)
    assert caught.value.retry_after is not None
    assert abs((caught.value.retry_after - expected).total_seconds()) < 5


def test_the_server_handles_hundreds_of_concurrent_requests(server: str) -> None:
    accounts = [register(server, "twitter", f"15000000000000002{n:02d}", f"load{n}")
                for n in range(20)]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)

    with httpx.Client(base_url=server, limits=limits, timeout=30) as client:
        def post(n: int) -> int:
            account = accounts[n % len(accounts)]
            return client.post("/twitter/2/tweets", json={"text": f"load test {n}"},
                               headers={"Authorization": f"Bearer {account.access_token}"}).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(post, range(400)))
        elapsed = time.perf_counter() - started

    assert statuses.count(201) == 400
    assert elapsed < 10, f"400 requests took {elapsed:.1f} s"
    count = httpx.get(f"{server}/_sandbox/posts").json()["count"]
    assert count >= 400
