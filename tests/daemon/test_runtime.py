"""The scheduler runtime embedded in another process, and ``scheduler_daemon.py --once``."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.config import Settings
from core.services.container import Herald
from scheduler_daemon import RunningJobs, once_cluster_wide, start_embedded
from tests.conftest import FAST_HASHER, NOW, SECRET_KEY, Team, connect_sandbox_account
from tests.daemon.harness import ROOT, SandboxServer, daemon_env, wait_until


def test_embedded_scheduler_publishes_while_the_host_process_runs(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = herald.scheduling.schedule_post(team.editor, {
        "content": "Published by the embedded scheduler", "platforms": ["twitter"],
        "scheduled_at": (NOW + timedelta(minutes=1)).isoformat()}).post
    herald.approvals.approve(team.manager, post.post_id)
    runtime = start_embedded(herald, concurrency=2)
    try:
        time.sleep(0.3)
        assert herald.scheduling.get_post(team.viewer, post.post_id).status == "scheduled"  # not due yet
        herald.clock.advance(timedelta(minutes=1))
        wait_until(lambda: herald.scheduling.get_post(team.viewer, post.post_id).status == "published",
                   timeout=15, what="the embedded worker to publish")
        wait_until(lambda: herald.ops.heartbeats(), timeout=10, what="a heartbeat")
    finally:
        runtime.stop()
    assert [p.text for p in sandbox.posts("twitter")] == ["Published by the embedded scheduler"]
    assert herald.ops.heartbeats() == []  # a stopped worker removes its heartbeat


def test_daemon_once_publishes_what_is_due_and_exits(database_url: str, tmp_path: Path) -> None:
    server = SandboxServer()
    try:
        settings = Settings(database_url=database_url, secret_key=SECRET_KEY, platform_mode="sandbox",
                            sandbox_url=server.url, data_dir=tmp_path)
        herald = Herald.create(settings, hasher=FAST_HASHER)
        org = herald.orgs.create_org("Once", "UTC", approval_required=False)
        admin = herald.users.create_user(None, org_id=org.org_id, email=f"a{uuid.uuid4().hex[:6]}@once.test",
                                         name="A", role="admin", password="once password").actor()
        server.register("facebook", "100000000000001", "Once Page", "fb-token")
        herald.accounts.connect(admin, org_id=org.org_id, platform="facebook",
                                external_account_id="100000000000001", username="Once Page", access_token="fb-token")
        post = herald.scheduling.schedule_post(admin, {
            "content": "Out with --once", "platforms": ["facebook"],
            "scheduled_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}).post
        time.sleep(1.2)
        done = subprocess.run([sys.executable, "scheduler_daemon.py", "--once", "--log-level", "INFO"], cwd=ROOT,
                              env=daemon_env(database_url, SECRET_KEY, server.url), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "published post" in done.stderr
        assert herald.scheduling.get_post(admin, post.post_id).status == "published"
        assert [p["text"] for p in server.posts()] == ["Out with --once"]
        herald.close()
    finally:
        server.stop()


def test_daemon_rejects_bad_flags() -> None:
    done = subprocess.run([sys.executable, "scheduler_daemon.py", "--concurrency", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--concurrency must be at least 1" in done.stderr


def test_shutdown_lets_a_running_job_finish_and_does_not_call_a_cut_off_one_a_failure(
        herald, caplog) -> None:
    jobs = RunningJobs()
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        finished.append("slow")

    def cut_off() -> None:
        raise RuntimeError("Cannot send a request, as the client has been closed.")

    runner = threading.Thread(target=once_cluster_wide(herald, "slow-sync", slow, jobs))
    runner.start()
    assert started.wait(5)
    assert not jobs.wait_idle(0.1)  # shutdown would wait for it ...
    threading.Timer(0.2, release.set).start()
    assert jobs.wait_idle(5)  # ... and it finishes
    runner.join()
    assert finished == ["slow"]

    jobs.stopping = True
    with caplog.at_level(logging.INFO, logger="herald.daemon"):
        once_cluster_wide(herald, "metrics-sync", cut_off, jobs)()
    assert [r.levelno for r in caplog.records if "metrics-sync" in r.getMessage()] == [logging.INFO]
    assert "cut short by the shutdown" in caplog.text


EXITING_HOST = """
import sys, time
from core.bootstrap import prepare
from scheduler_daemon import start_embedded
herald = prepare()
runtime = start_embedded(herald, concurrency=2)
time.sleep(0.5)
print(runtime.worker.worker_id, flush=True)
sys.exit(0)  # no stop: the host process just ends, like Streamlit on Ctrl-C
"""


def test_an_embedded_runtime_stops_cleanly_when_its_host_process_exits(database_url: str) -> None:
    done = subprocess.run([sys.executable, "-c", EXITING_HOST], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=daemon_env(database_url, SECRET_KEY, "http://127.0.0.1:9"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    worker_id = done.stdout.split()[-1]
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    herald = Herald.create(settings, hasher=FAST_HASHER)
    try:  # stopped, not killed: it removed its heartbeat on the way out
        assert worker_id not in {h.worker_id for h in herald.ops.heartbeats()}
    finally:
        herald.close()
