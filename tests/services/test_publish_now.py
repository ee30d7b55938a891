"""Publishing now: the whole post or one of its networks, with the real result of each."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from core.errors import InvalidTransition, ValidationFailed
from tests.conftest import NOW, Team, connect_sandbox_account
from tests.services.test_publishing import _approved, _queue


def test_publishing_one_network_now_leaves_the_others_at_their_time(herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "linkedin"):
        connect_sandbox_account(herald, sandbox, team, platform)
    at = NOW + timedelta(hours=2)
    post = _approved(herald, team, platforms=("twitter", "linkedin"), content="Out on X first", at=at)

    assert herald.publishing.publish_to_platform(team.manager, post.post_id, "twitter") is True

    assert [p.platform for p in sandbox.posts()] == ["twitter"]
    queue = _queue(herald, team, post.post_id)
    assert queue["twitter"][0] == "completed"
    assert (queue["linkedin"][0], queue["linkedin"][2]) == ("pending", at)  # still at its time
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "publishing"

    herald.clock.set(at)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert sorted(p.platform for p in sandbox.posts()) == ["linkedin", "twitter"]
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"


def test_publishing_one_network_of_a_draft_asks_to_schedule_it_first(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    draft = herald.scheduling.schedule_post(team.editor, {"content": "Not ready",
                                                          "platforms": ["twitter", "linkedin"]}).post

    with pytest.raises(InvalidTransition, match="schedule it first"):
        herald.publishing.publish_to_platform(team.manager, draft.post_id, "twitter")
    with pytest.raises(ValidationFailed, match="does not go to facebook"):
        herald.publishing.publish_to_platform(team.manager, draft.post_id, "facebook")
    assert sandbox.posts() == []
    assert herald.scheduling.get_post(team.viewer, draft.post_id).status == "draft"


def test_publish_now_reports_the_real_result_of_an_item_a_daemon_holds(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(seconds=1))
    # A daemon armed it a moment before its time and is about to send it.
    [held] = herald.publishing.queue.claim_due("daemon", now=NOW, limit=1, due_by=NOW + timedelta(seconds=2))
    daemon = threading.Timer(0.5, lambda: herald.publishing.process_batch([held], "daemon"))
    daemon.start()

    results = herald.publishing.publish_post(team.manager, post.post_id)

    daemon.join()
    assert results == {"twitter": True}  # waited for, not reported as "not published"
    assert len(sandbox.posts("twitter")) == 1
