"""Arming: the worker claims and loads what falls due in the next seconds, and sends it at its time.

The clock here is the test's fixed clock, moved by the test while the worker runs on its own
threads, so "not before its time" is checked exactly: nothing reaches the sandbox until the
clock reaches the post's time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import PublishAttempt, PublishingQueueItem
from core.errors import InvalidTransition
from core.services.worker import QueueWorker
from tests.conftest import NOW, Team, connect_sandbox_account
from tests.services.test_queue_batches import _approved

AT = NOW + timedelta(minutes=1)


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _rows(herald, team: Team) -> list[PublishingQueueItem]:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        rows = list(uow.session.scalars(select(PublishingQueueItem)))
        uow.session.expunge_all()
        return rows


def _attempt_starts(herald, team: Team) -> list:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        return list(uow.session.scalars(select(PublishAttempt.started_at)))


def _running(worker: QueueWorker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def test_claim_due_by_a_later_time_takes_what_falls_due_until_then(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    soon = _approved(herald, team, content="Soon", at=AT)
    _approved(herald, team, content="Later", at=AT + timedelta(seconds=5))
    now = AT - timedelta(seconds=1)

    items = herald.publishing.queue.claim_due("w", now=now, limit=10, due_by=now + timedelta(seconds=2))

    assert [(i.post_id, i.due_at) for i in items] == [(soon.post_id, AT)]
    # Its attempt starts at its time, when it is sent, not when it was claimed.
    assert _attempt_starts(herald, team) == [AT]
    assert {r.scheduled_post_id: r.last_attempt_at for r in _rows(herald, team) if r.status == "processing"} == {
        soon.post_id: AT}


def test_an_armed_item_goes_out_at_its_time_not_before(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=AT)
    herald.clock.set(AT - timedelta(seconds=1))
    worker = QueueWorker(herald.publishing, "armer", concurrency=2, arm_ahead_seconds=2)
    thread = _running(worker)
    try:
        assert _wait_for(lambda: worker.armed_count() == 1)
        [row] = _rows(herald, team)
        assert row.status == "processing" and row.locked_by == "armer"
        # Claimed, so the post is publishing and can no longer be edited under the worker's feet.
        with pytest.raises(InvalidTransition):
            herald.scheduling.cancel_post(team.editor, post.post_id)
        time.sleep(0.3)
        assert sandbox.posts() == []  # armed, and held: the clock has not reached its time

        herald.clock.set(AT)
        assert _wait_for(lambda: len(sandbox.posts()) == 1)
        assert _wait_for(lambda: _rows(herald, team)[0].status == "completed")
    finally:
        worker.stop()
        thread.join(20)
    assert not thread.is_alive()
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"
    assert _attempt_starts(herald, team) == [AT]


def test_stopping_sends_what_is_armed_at_its_time_and_loses_nothing(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    posts = [_approved(herald, team, content=f"Armed {i}", at=AT) for i in range(3)]
    herald.clock.set(AT - timedelta(seconds=1))
    worker = QueueWorker(herald.publishing, "stopper", concurrency=2, arm_ahead_seconds=2)
    thread = _running(worker)
    assert _wait_for(lambda: worker.armed_count() == 3)

    worker.stop()
    time.sleep(0.3)
    assert thread.is_alive() and sandbox.posts() == []  # waiting for their time, still not early
    herald.clock.set(AT)
    thread.join(20)

    assert not thread.is_alive()
    assert Counter(p.text for p in sandbox.posts()) == Counter(p.content for p in posts)
    assert {r.status for r in _rows(herald, team)} == {"completed"}


def test_more_armed_items_than_threads_each_go_out_once(herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "facebook"):
        connect_sandbox_account(herald, sandbox, team, platform)
    posts = [_approved(herald, team, platforms=("twitter", "facebook"), content=f"Burst {i}", at=AT)
             for i in range(12)]
    herald.clock.set(AT - timedelta(seconds=1))
    worker = QueueWorker(herald.publishing, "burst", concurrency=3, arm_ahead_seconds=2)
    assert worker.max_armed >= 24
    thread = _running(worker)
    try:
        assert _wait_for(lambda: worker.armed_count() == 24)
        herald.clock.set(AT)
        assert _wait_for(lambda: {r.status for r in _rows(herald, team)} == {"completed"}, 30)
    finally:
        worker.stop()
        thread.join(20)
    sent = Counter((p.platform, p.text) for p in sandbox.posts())
    assert len(sent) == 24 and set(sent.values()) == {1}
    assert all(herald.scheduling.get_post(team.viewer, p.post_id).status == "published" for p in posts)


def test_arming_stops_at_its_limit_and_what_is_left_is_claimed_when_due(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    for i in range(5):
        _approved(herald, team, content=f"Post {i}", at=AT)
    herald.clock.set(AT - timedelta(seconds=1))
    worker = QueueWorker(herald.publishing, "small", concurrency=1, arm_ahead_seconds=2)
    worker.max_armed = 3
    thread = _running(worker)
    try:
        assert _wait_for(lambda: worker.armed_count() == 3)
        time.sleep(0.3)
        assert worker.armed_count() == 3 and Counter(r.status for r in _rows(herald, team)) == {
            "processing": 3, "pending": 2}
        herald.clock.set(AT)
        assert _wait_for(lambda: {r.status for r in _rows(herald, team)} == {"completed"}, 30)
    finally:
        worker.stop()
        thread.join(20)
    assert len(sandbox.posts()) == 5


def test_an_armed_item_whose_account_is_gone_fails_with_its_reason_and_the_rest_go_out(
        herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    _approved(herald, team, content="Fine", at=AT)
    orphan = _approved(herald, team, platforms=("facebook",), content="No account", at=AT)
    herald.clock.set(AT - timedelta(seconds=1))
    worker = QueueWorker(herald.publishing, "mixed", concurrency=2, arm_ahead_seconds=2)
    thread = _running(worker)
    try:
        assert _wait_for(lambda: worker.armed_count() == 1)
        herald.clock.set(AT)
        assert _wait_for(lambda: {r.status for r in _rows(herald, team)} == {"completed", "failed"})
    finally:
        worker.stop()
        thread.join(20)
    failed = next(r for r in _rows(herald, team) if r.scheduled_post_id == orphan.post_id)
    assert failed.status == "failed" and "No facebook account is connected" in (failed.error_message or "")
    assert [p.text for p in sandbox.posts()] == ["Fine"]


def test_outcomes_are_written_after_a_burst_still_going_out(herald, monkeypatch) -> None:
    """While a burst is going out, the writer holds its batch (up to a second), so the burst's
    network calls get the CPU; then it writes everything at once."""
    from types import SimpleNamespace

    from core.services import outcome_writer

    written: list[tuple[float, int]] = []
    monkeypatch.setattr(herald.publishing, "write_settlements",
                        lambda batch: written.append((time.monotonic(), len(batch))) or [])
    bursting = threading.Event()
    bursting.set()
    writer = outcome_writer.OutcomeWriter(herald.publishing, "w", done=lambda ok, lost: None,
                                          bursting=bursting.is_set)
    outcome = SimpleNamespace(item=SimpleNamespace(queue_id="q1"))
    writer.start()
    started = time.monotonic()
    writer.put(outcome)  # type: ignore[arg-type]
    time.sleep(0.4)
    assert written == []  # held back: the burst is still going out
    bursting.clear()  # the burst has gone out
    assert _wait_for(lambda: bool(written), 2)
    [(at, size)] = written
    assert size == 1 and 0.4 <= at - started < outcome_writer.WRITE_DEFER_SECONDS + 0.2
    writer.close()


def test_a_burst_is_under_way_while_armed_items_are_due_and_wait_for_a_thread(herald) -> None:
    from types import SimpleNamespace

    from core.services.worker import _Armed

    worker = QueueWorker(herald.publishing, "w", concurrency=1, arm_ahead_seconds=2)
    job = SimpleNamespace(item=SimpleNamespace(due_at=AT))
    worker._armed.append(_Armed(herald.clock.now() + timedelta(seconds=1), 0, job))  # type: ignore[arg-type]
    assert not worker._due_armed_waiting()  # armed, not yet due
    herald.clock.advance(timedelta(seconds=1))
    assert worker._due_armed_waiting()
