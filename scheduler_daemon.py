"""Herald's scheduler daemon: publishes due posts, syncs metrics, recalculates best times.

    python scheduler_daemon.py [--once] [--worker-id ID] [--concurrency N] [--log-level LEVEL]

Any number of daemons may run against one PostgreSQL: the queue is shared safely (SKIP LOCKED
claims with leases), and a periodic job runs once per interval across the daemons: every daemon's
timer tries it, and it runs only where it gets its PostgreSQL advisory lock and finds in job_runs
that it has not run within its interval (OpsService.periodic_run). APScheduler 3 only drives this
process's own timers. SIGTERM (or Ctrl-C) stops claiming, finishes the items in hand, and exits 0;
with --once too.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from core.bootstrap import prepare
from core.services.container import Herald
from core.services.ops import new_worker_id
from core.services.wakeup import PgWakeup
from core.services.worker import DEFAULT_CONCURRENCY, QueueWorker

log = logging.getLogger("herald.daemon")

HEARTBEAT_SECONDS = 5
LEASE_RECOVERY_SECONDS = 15
TOKEN_REFRESH_MINUTES = 10
METRICS_SYNC_MINUTES = 60
BEST_TIMES_DAYS = 7
# On shutdown a periodic job still running (a metrics sync, say) gets this long to finish before
# the process closes its connections under it; what it did not get to runs at its next time.
JOB_GRACE_SECONDS = 10.0


class RunningJobs:
    """The periodic jobs running right now, so shutdown can let them finish (briefly) and a
    job cut off by the shutdown is not reported as a failure."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()
        self.stopping = False

    def enter(self) -> None:
        with self._idle:
            self._count += 1

    def leave(self) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Herald scheduler daemon")
    parser.add_argument("--once", action="store_true", help="process everything due now, then exit")
    parser.add_argument("--worker-id", default=None, help="unique name of this daemon (default host-pid)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"publishes in flight at once (threads; default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--lease-seconds", type=int, default=None,
                        help="claim lease (default HERALD_QUEUE_LEASE_SECONDS, 60)")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def build_worker(herald: Herald, worker_id: str, concurrency: int, lease_seconds: int) -> QueueWorker:
    wakeup = None if herald.db.is_sqlite else PgWakeup(herald.settings.database_url)
    return QueueWorker(herald.publishing, worker_id, concurrency=concurrency,
                       lease_seconds=lease_seconds, wakeup=wakeup,
                       stage_ahead_seconds=herald.settings.stage_ahead_seconds)


def once_cluster_wide(herald: Herald, name: str, job: Callable[[], Any], jobs: RunningJobs | None = None,
                      *, every: timedelta | None = None, worker_id: str | None = None) -> Callable[[], None]:
    """``job`` as a timer's callback: with ``every``, run once per interval across all daemons
    (not by each daemon's timer in turn); without, only never two at a time."""
    jobs = jobs or RunningJobs()
    worker_id = worker_id or new_worker_id()

    def run() -> None:
        jobs.enter()
        try:
            with herald.ops.periodic_run(name, every=every, worker_id=worker_id) as got:
                if got:
                    result = job()
                    if result:
                        log.info("%s: %s", name, result)
        except Exception as exc:
            if jobs.stopping:
                log.info("%s was cut short by the shutdown (%s); it runs again at its next time", name, exc)
            else:
                log.exception("%s failed; it will run again at its next time", name)
        finally:
            jobs.leave()
    return run


def refresh_tokens(herald: Herald) -> dict[str, int]:
    done = failed = 0
    for org_id, account_id in herald.accounts.accounts_due_for_refresh():
        try:
            view = herald.accounts.refresh_account(org_id, account_id)
            done += view.status == "active"
            failed += view.status != "active"
        except Exception as exc:  # noqa: BLE001 - one account must not stop the others
            failed += 1
            log.warning("refreshing account %s failed: %s", account_id, exc)
    return {"refreshed": done, "failed": failed} if done or failed else {}


def recalculate_best_times(herald: Herald) -> dict[str, int]:
    from sqlalchemy import select

    from core.db.models import Org

    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        org_ids = list(uow.session.scalars(select(Org.org_id)))
    for org_id in org_ids:
        herald.best_times.calculate_for_org(org_id)
    return {"orgs": len(org_ids)}


def schedule_jobs(herald: Herald, worker: QueueWorker, started_at: datetime,
                  lease_seconds: int, jobs: RunningJobs | None = None) -> BackgroundScheduler:
    jobs = jobs or RunningJobs()
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})

    def heartbeat() -> None:
        try:
            worker.renew_leases()
            herald.ops.beat(worker.worker_id, started_at=started_at, processed=worker.stats.processed,
                            info={"concurrency": worker.concurrency, "in_flight": len(worker.held_ids()),
                                  "armed": worker.armed_count(), "limit_share_of": worker.limiter.daemons,
                                  "circuits": worker.breaker.snapshot(herald.clock.now()),
                                  "outcomes": dict(worker.stats.by_outcome),
                                  "staging": dict(worker.stager.counts) if worker.stager else {}})
            # Each daemon keeps to its share of every account's publish window (flow_control).
            health = herald.ops.health()
            if health.database_ok:
                worker.limiter.daemons = max(1, health.daemons_alive)
        except Exception:
            log.exception("heartbeat failed")

    now = datetime.now(UTC)
    # Leases are renewed well before they run out, and expired ones recovered about as often.
    renew_every = max(1, min(HEARTBEAT_SECONDS, lease_seconds // 3))
    scheduler.add_job(heartbeat, "interval", seconds=renew_every, next_run_time=now)

    def periodic(name: str, job: Callable[[], Any], every: timedelta, first_in: timedelta, *,
                 once_per_interval: bool = True) -> None:
        # Each daemon's timer fires every interval (the first soon after it starts); the job runs
        # only where it is due cluster-wide (see once_cluster_wide).
        scheduler.add_job(once_cluster_wide(herald, name, job, jobs, every=every if once_per_interval else None,
                                            worker_id=worker.worker_id),
                          "interval", seconds=every.total_seconds(), next_run_time=now + first_in)

    # Lease recovery only takes the lock: every few seconds in every daemon, it finds nothing to do
    # most times, and recovering expired leases more often than that is harmless (and sooner).
    periodic("lease-recovery", lambda: len(herald.publishing.queue.recover_expired_leases(
        now=herald.clock.now())) or None, timedelta(seconds=max(1, min(LEASE_RECOVERY_SECONDS, lease_seconds // 2))),
        timedelta(0), once_per_interval=False)
    periodic("token-refresh", lambda: refresh_tokens(herald), timedelta(minutes=TOKEN_REFRESH_MINUTES),
             timedelta(seconds=20))
    periodic("metrics-sync", herald.metrics.sync_all_orgs, timedelta(minutes=METRICS_SYNC_MINUTES),
             timedelta(minutes=1))
    periodic("best-times", lambda: recalculate_best_times(herald), timedelta(days=BEST_TIMES_DAYS),
             timedelta(minutes=5))
    periodic("idempotency-purge", lambda: herald.idempotency.purge_expired() or None, timedelta(hours=1),
             timedelta(minutes=2))
    return scheduler


class SchedulerRuntime:
    """A worker plus this process's periodic jobs: run in the foreground by the daemon, or in
    a background thread inside the dashboard (embedded mode, the SQLite default)."""

    def __init__(self, herald: Herald, *, worker_id: str | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                 lease_seconds: int | None = None) -> None:
        self.herald = herald
        self.lease_seconds = lease_seconds or herald.settings.queue_lease_seconds
        self.worker = build_worker(herald, worker_id or new_worker_id(), concurrency, self.lease_seconds)
        self.jobs = RunningJobs()
        self.scheduler = schedule_jobs(herald, self.worker, datetime.now(UTC), self.lease_seconds, self.jobs)
        self._thread: threading.Thread | None = None

    def run_foreground(self) -> None:
        self.scheduler.start()
        try:
            self.worker.run()
        finally:
            self._shutdown()

    def start_background(self) -> SchedulerRuntime:
        self.scheduler.start()
        self._thread = threading.Thread(target=self.worker.run, name="herald-embedded-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop_timers()  # first: no job may start while the worker finishes its items
        self.worker.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._shutdown()

    def _stop_timers(self) -> None:
        self.jobs.stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _shutdown(self) -> None:
        self._stop_timers()
        if not self.jobs.wait_idle(JOB_GRACE_SECONDS):
            log.info("periodic jobs still running after %.0f s; exiting without them", JOB_GRACE_SECONDS)
        try:
            self.herald.ops.forget(self.worker.worker_id)
        except Exception:  # the database may be gone at exit; the heartbeat just goes stale
            log.debug("could not remove heartbeat of %s", self.worker.worker_id)


_EMBEDDED: list[SchedulerRuntime] = []


def start_embedded(herald: Herald, *, concurrency: int = 2) -> SchedulerRuntime:
    """Publish from inside the dashboard process (HERALD_EMBEDDED_SCHEDULER)."""
    herald.publishing.queue.recover_expired_leases(now=herald.clock.now())
    runtime = SchedulerRuntime(herald, worker_id=f"embedded-{new_worker_id()}", concurrency=concurrency)
    log.info("embedded scheduler started (%s)", runtime.worker.worker_id)
    if not _EMBEDDED:
        _stop_embedded_at_exit()
    _EMBEDDED.append(runtime)
    return runtime.start_background()


def _stop_embedded_at_exit() -> None:
    """Stop the embedded runtimes when the host process exits, before the interpreter's
    thread pools refuse new work: otherwise a job falling due in that moment makes APScheduler
    log a traceback (``cannot schedule new futures after shutdown``) and the items in hand are
    cut off. ``threading._register_atexit`` hooks run before concurrent.futures' own (they run
    in reverse order of registration), and before ``atexit``; the fallback is ``atexit``."""
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # pragma: no cover - CPython 3.9+ has it
        import atexit

        atexit.register(stop_embedded)
        return
    with contextlib.suppress(RuntimeError):  # already shutting down: nothing to stop cleanly
        register(stop_embedded)


def stop_embedded() -> None:
    """Stop every embedded runtime this process started (tests, and interpreter shutdown)."""
    while _EMBEDDED:
        _EMBEDDED.pop().stop()


def stop_on_signals(worker: QueueWorker) -> None:
    """SIGTERM and SIGINT (Ctrl-C) stop ``worker`` claiming; it finishes the items in hand and
    the process exits 0. The daemon and ``--once`` alike: killed outright, the items in flight
    would stay processing until their leases ran out, then need reconciling."""
    def stop(signum: int, _frame: object) -> None:
        log.info("received %s: finishing the items in hand, then exiting", signal.Signals(signum).name)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        herald = prepare()
    except Exception as exc:  # noqa: BLE001 - say what is wrong, not a traceback
        print(f"error: Herald could not start: {exc}", file=sys.stderr)
        return 1
    if args.once:
        worker = build_worker(herald, args.worker_id or new_worker_id(), args.concurrency,
                              args.lease_seconds or herald.settings.queue_lease_seconds)
        stop_on_signals(worker)
        herald.publishing.queue.recover_expired_leases(now=herald.clock.now())
        worker.drain(timeout=3600)  # on a signal: claims nothing more, returns once the items in hand are done
        worker.close()
        log.info("--once: %s", worker.stats.by_outcome or "nothing was due")
        herald.close()
        log.info("--once %s exited cleanly%s", worker.worker_id,
                 " (stopped by a signal: what it had not claimed waits for the next run)" if worker.stopping else "")
        return 0
    runtime = SchedulerRuntime(herald, worker_id=args.worker_id, concurrency=args.concurrency,
                               lease_seconds=args.lease_seconds)
    stop_on_signals(runtime.worker)
    try:
        runtime.run_foreground()
    finally:
        herald.close()
    log.info("daemon %s exited cleanly", runtime.worker.worker_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
