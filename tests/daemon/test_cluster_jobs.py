"""A periodic job runs once per interval across all daemons (``once_cluster_wide`` with ``every``,
``OpsService.periodic_run``), not once per daemon's timer nor again at every daemon's start:
each daemon here is a Herald container of its own (its own engine and connections) on the same
database and the same test clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.db.engine import Database
from core.platforms.sandbox import Sandbox
from core.services.connectors import ConnectorPool
from core.services.container import Herald
from core.services.ops import RUN_SLACK
from scheduler_daemon import BEST_TIMES_DAYS, once_cluster_wide
from tests.conftest import FAST_HASHER, NOW

WEEK = timedelta(days=BEST_TIMES_DAYS)


@pytest.fixture
def start_daemon(herald: Herald, database_url: str, clock: FixedClock,
                 sandbox: Sandbox) -> Iterator[Callable[[], Herald]]:
    """Another daemon process on the same database (and clock) as ``herald``."""
    started: list[Herald] = []

    def start() -> Herald:
        other = Herald.create(herald.settings, clock=clock, db=Database(database_url, app_role="herald_app"),
                              hasher=FAST_HASHER, connectors=ConnectorPool(herald.settings, clock=clock,
                                                                           sandbox=sandbox))
        started.append(other)
        return other

    yield start
    for other in started:
        other.close()


def test_a_weekly_job_runs_once_a_week_whichever_daemon_fires_it(
        herald: Herald, clock: FixedClock, start_daemon: Callable[[], Herald]) -> None:
    runs: list[str] = []

    def weekly(daemon: Herald, worker_id: str) -> Callable[[], None]:
        # The timer's callback of one daemon, as schedule_jobs builds it.
        return once_cluster_wide(daemon, "best-times", lambda: runs.append(worker_id), every=WEEK,
                                 worker_id=worker_id)

    daemon_a, daemon_b = weekly(herald, "a"), weekly(start_daemon(), "b")
    clock.advance(timedelta(seconds=30))  # the timer fired a little late
    daemon_a()
    assert runs == ["a"]
    run = herald.ops.job_runs()["best-times"]
    assert (run.worker_id, run.last_started_at, run.last_finished_at) == ("a", NOW + timedelta(seconds=30),
                                                                        NOW + timedelta(seconds=30))

    clock.advance(timedelta(days=1))
    daemon_b()  # its own weekly timer, or its first run after it started
    daemon_a()
    weekly(start_daemon(), "c")()  # a daemon started (or a restarted one) the next day
    assert runs == ["a"]

    clock.set(NOW + WEEK)  # a's timer, on time a week after its first time: due (the slack)
    daemon_b()
    daemon_a()
    assert runs == ["a", "b"]
    run = start_daemon().ops.job_runs()["best-times"]
    assert (run.worker_id, run.last_started_at) == ("b", NOW + WEEK)

    clock.advance(WEEK * (1 - RUN_SLACK) - timedelta(minutes=1))  # most of a week, not all of it
    daemon_a()
    assert runs == ["a", "b"]
    clock.advance(timedelta(minutes=1))
    daemon_a()
    assert runs == ["a", "b", "a"]


def test_a_run_that_failed_does_not_count(herald: Herald, clock: FixedClock,
                                          start_daemon: Callable[[], Herald]) -> None:
    outcomes = iter([RuntimeError("the network is down"), None])
    runs: list[str] = []

    def sync(worker_id: str) -> Callable[[], None]:
        def job() -> None:
            runs.append(worker_id)
            outcome = next(outcomes)
            if outcome:
                raise outcome
        return job

    once_cluster_wide(herald, "metrics-sync", sync("a"), every=timedelta(hours=1), worker_id="a")()
    assert herald.ops.job_runs()["metrics-sync"].last_finished_at is None
    clock.advance(timedelta(minutes=5))
    other = start_daemon()
    once_cluster_wide(other, "metrics-sync", sync("b"), every=timedelta(hours=1), worker_id="b")()
    clock.advance(timedelta(minutes=5))
    once_cluster_wide(herald, "metrics-sync", sync("a"), every=timedelta(hours=1), worker_id="a")()
    assert runs == ["a", "b"]  # retried by the next timer to fire; done, it waits for its hour
    assert herald.ops.job_runs()["metrics-sync"].last_finished_at == NOW + timedelta(minutes=5)


def test_without_an_interval_only_the_lock_counts(herald: Herald, start_daemon: Callable[[], Herald]) -> None:
    runs: list[str] = []
    once_cluster_wide(herald, "lease-recovery", lambda: runs.append("a"))()
    once_cluster_wide(start_daemon(), "lease-recovery", lambda: runs.append("b"))()
    assert runs == ["a", "b"]
    assert herald.ops.job_runs() == {}


def test_a_daemon_does_not_run_a_job_another_is_running_nor_again_once_it_is_done(
        herald: Herald, start_daemon: Callable[[], Herald]) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow() -> None:
        runs.append("a")
        started.set()
        release.wait(10)

    running = threading.Thread(target=once_cluster_wide(herald, "best-times", slow, every=WEEK, worker_id="a"))
    running.start()
    try:
        assert started.wait(10)
        other = once_cluster_wide(start_daemon(), "best-times", lambda: runs.append("b"), every=WEEK,
                                  worker_id="b")
        other()  # a holds the lock
        assert runs == ["a"]
    finally:
        release.set()
        running.join(10)
    other()  # a is done: it ran this week
    assert runs == ["a"]


@pytest.mark.postgres_only
def test_daemons_firing_at_the_same_moment_run_the_job_once(
        herald: Herald, clock: FixedClock, start_daemon: Callable[[], Herald]) -> None:
    daemons = [herald] + [start_daemon() for _ in range(3)]

    def fire(i: int, daemon: Herald, barrier: threading.Barrier, runs: list[int]) -> None:
        job = once_cluster_wide(daemon, "metrics-sync", lambda: runs.append(i), every=timedelta(hours=1),
                                worker_id=f"daemon-{i}")
        barrier.wait(10)
        job()

    for round_ in range(5):
        runs: list[int] = []
        barrier = threading.Barrier(len(daemons))
        threads = [threading.Thread(target=fire, args=(i, d, barrier, runs)) for i, d in enumerate(daemons)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(runs) == 1, f"round {round_}: {runs}"
        clock.advance(timedelta(hours=1))
