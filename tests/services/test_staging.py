"""Staging ahead of the scheduled time: the uploads and processing before a post's publishing
call are done while it waits, so that when due it goes out with one call; whatever goes wrong
while staging, the post is still published, once, whole."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PublishAttempt, PublishingQueueItem
from core.platforms.base import STEP_RETRIES
from core.services.staging import SOONEST_SECONDS, Stager
from core.services.worker import QueueWorker
from tests.conftest import NOW, Team, connect_sandbox_account

IMAGE = "https://sandbox.herald.local/media/launch.jpg?bytes=20000"
AT = NOW + timedelta(minutes=10)


def _approved(herald, team: Team, platform: str = "instagram", *, at=AT, **extra):  # type: ignore[no-untyped-def]
    data = {"content": extra.pop("content", "New product photo"), "platforms": [platform],
            "scheduled_at": at.isoformat(), **extra}
    if platform in ("instagram", "snapchat") and "media_urls" not in data:
        data.update(post_type="image" if platform == "instagram" else "story", media_urls=[IMAGE])
    post = herald.scheduling.schedule_post(team.editor, data, force=True).post
    herald.approvals.approve(team.manager, post.post_id)
    return post


def _row(herald, team: Team, post_id) -> PublishingQueueItem:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        row = uow.session.scalars(select(PublishingQueueItem).where(
            PublishingQueueItem.scheduled_post_id == post_id)).one()
        uow.session.expunge(row)
        return row


def _handles(herald, row: PublishingQueueItem) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert row.staged is not None and "handles" not in row.staged  # stored sealed, like tokens
    return dict(json.loads(herald.accounts.cipher.decrypt(row.staged["sealed"])))


def _calls(sandbox) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """Every call the sandbox answers from now on, as ``(platform, method, path)``."""
    calls: list[tuple[str, str, str]] = []
    dispatch = sandbox._dispatch

    def recording(network: Any, call: Any) -> Any:
        calls.append((network.platform, call.method, call.path))
        return dispatch(network, call)

    sandbox._dispatch = recording
    return calls


def _stager(herald) -> Stager:  # type: ignore[no-untyped-def]
    return Stager(herald.publishing, "stager", ahead_seconds=900)


def test_media_due_soon_is_staged_ahead_and_goes_out_with_one_call(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    connect_sandbox_account(herald, sandbox, team, "snapchat")
    posts = {p: _approved(herald, team, p) for p in ("instagram", "snapchat")}

    assert _stager(herald).run_once() == {"staged": 2}

    assert sandbox.posts() == []  # nothing shows before its time
    rows = {p: _row(herald, team, post.post_id) for p, post in posts.items()}
    assert {p: (r.status, r.stage_state) for p, r in rows.items()} == dict.fromkeys(posts, ("pending", "staged"))
    assert set(_handles(herald, rows["instagram"])) == {"container"}
    assert set(_handles(herald, rows["snapchat"])) == {"media_id"}
    calls = _calls(sandbox)
    herald.clock.set(AT)

    assert herald.publishing.process_queue() == {"success": 2, "failed": 0}

    firsts = {p: next(c for c in calls if c[0] == p) for p in posts}
    assert firsts["instagram"][1] == "POST" and firsts["instagram"][2].endswith("/media_publish")
    assert firsts["snapchat"][1] == "POST" and firsts["snapchat"][2].endswith("/stories")
    assert not any(path.endswith("/media") and method == "POST" for _, method, path in calls)  # no uploads
    assert {p.platform: p.text for p in sandbox.posts()} == {"instagram": "New product photo", "snapchat": ""}
    assert _stager(herald).run_once() == {}  # published items are not staged again


def test_an_edit_after_staging_stages_again_and_publishes_the_edit(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    assert _stager(herald).run_once() == {"staged": 1}
    first = _handles(herald, _row(herald, team, post.post_id))

    herald.scheduling.update_post(team.editor, post.post_id, {"content": "New product photo, edited"}, force=True)
    if herald.scheduling.get_post(team.viewer, post.post_id).approval_status != "approved":
        herald.approvals.approve(team.manager, post.post_id)

    assert _row(herald, team, post.post_id).stage_state is None
    assert _stager(herald).run_once() == {"staged": 1}
    assert _handles(herald, _row(herald, team, post.post_id)) != first
    herald.clock.set(AT)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert [p.text for p in sandbox.posts("instagram")] == ["New product photo, edited"]


@pytest.mark.parametrize("tampered", [
    {"fingerprint": "0" * 64},  # as if the caption changed behind the queue's back
    {"sealed": "not a sealed record"},  # or the record cannot be read (another secret key)
])
def test_what_was_staged_for_another_version_of_the_post_is_not_used(
        herald, sandbox, team: Team, tampered: dict[str, str]) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    assert _stager(herald).run_once() == {"staged": 1}
    with herald.db.unit_of_work(team.org.org_id) as uow:
        row = uow.session.scalars(select(PublishingQueueItem)).one()
        row.staged = {**row.staged, **tampered}
        uow.commit()
    herald.clock.set(AT)

    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}

    assert [p.text for p in sandbox.posts("instagram")] == ["New product photo"]
    assert _row(herald, team, post.post_id).status == "completed"


def test_staged_media_the_network_no_longer_has_is_made_again(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    assert _stager(herald).run_once() == {"staged": 1}
    with herald.db.unit_of_work(team.org.org_id) as uow:
        row = uow.session.scalars(select(PublishingQueueItem)).one()
        sealed = herald.accounts.cipher.encrypt(json.dumps({"container": "17880000000000999"}))  # no such container
        row.staged = {**row.staged, "sealed": sealed}
        uow.commit()
    herald.clock.set(AT)

    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}

    assert [p.text for p in sandbox.posts("instagram")] == ["New product photo"]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        assert [a.outcome for a in uow.session.scalars(select(PublishAttempt))] == ["success"]
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"


def test_a_staging_that_fails_leaves_the_post_to_be_published_whole(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    sandbox.inject("instagram", "server_error", status=503, times=STEP_RETRIES + 1, on="any")

    assert _stager(herald).run_once() == {"failed": 1}

    assert _row(herald, team, post.post_id).status == "pending"
    herald.clock.set(AT)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert [p.text for p in sandbox.posts("instagram")] == ["New product photo"]


def test_only_claimable_items_due_soon_with_something_to_stage_are_staged(herald, sandbox, team: Team) -> None:
    for platform in ("instagram", "twitter", "facebook"):
        connect_sandbox_account(herald, sandbox, team, platform)
    text_post = _approved(herald, team, "twitter", content="Words only")  # X: nothing to upload
    no_staging = _approved(herald, team, "facebook", content="Facebook posts in one call")
    too_soon = _approved(herald, team, at=NOW + timedelta(seconds=SOONEST_SECONDS / 2))
    too_far = _approved(herald, team, at=NOW + timedelta(hours=2))
    unapproved = herald.scheduling.schedule_post(team.editor, {
        "content": "Waiting for approval", "platforms": ["instagram"], "post_type": "image",
        "media_urls": [IMAGE], "scheduled_at": AT.isoformat()}, force=True).post

    assert _stager(herald).run_once() == {}

    for post in (text_post, no_staging):  # marked when queued: out of the staging claim's way
        assert _row(herald, team, post.post_id).stage_state == "nothing"
    for post in (too_soon, too_far, unapproved):
        assert _row(herald, team, post.post_id).stage_state is None
    assert sandbox.posts() == []


def test_an_item_published_while_it_was_being_staged_keeps_its_outcome(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    stager = _stager(herald)
    [item] = stager._claim(1)
    herald.clock.set(AT)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}  # published whole meanwhile

    assert stager.stage(item) == "superseded"

    row = _row(herald, team, post.post_id)
    assert (row.status, row.stage_state, row.staged) == ("completed", "staging", None)
    assert len(sandbox.posts("instagram")) == 1


def test_the_daemons_worker_stages_ahead_on_its_own_threads(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    worker = QueueWorker(herald.publishing, "stages", concurrency=2, stage_ahead_seconds=900)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while _row(herald, team, post.post_id).stage_state != "staged" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(30)
    assert _row(herald, team, post.post_id).stage_state == "staged"
    assert not thread.is_alive() and sandbox.posts() == []


def test_rescheduling_a_staged_item_clears_its_staging(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team)
    assert _stager(herald).run_once() == {"staged": 1}

    herald.scheduling.reschedule_post(team.editor, post.post_id, (AT + timedelta(days=2)).isoformat(), force=True)

    row = _row(herald, team, post.post_id)
    assert (row.status, row.stage_state, row.staged) == ("pending", None, None)


def test_stagings_are_recorded_together_and_only_where_still_wanted(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    kept, published = (_approved(herald, team, content=f"Photo {i}") for i in range(2))
    stager = _stager(herald)
    items = {i.post_id: i for i in stager._claim(2)}
    herald.publishing.publish_post(team.manager, published.post_id)  # published whole meanwhile

    outcomes = stager._record([(items[kept.post_id], "nothing", None),
                               (items[published.post_id], "staged", {"sealed": "x"})])

    assert outcomes == ["nothing", "superseded"]
    assert _row(herald, team, kept.post_id).stage_state == "nothing"
    assert (_row(herald, team, published.post_id).status, _row(herald, team, published.post_id).staged) == (
        "completed", None)
    assert stager.counts == {"nothing": 1, "superseded": 1}
