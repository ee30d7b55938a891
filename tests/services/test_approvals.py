"""Approval workflow: who may approve, N distinct approvals, edits send posts back, history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import Approval
from core.errors import Forbidden, InvalidTransition, ValidationFailed
from tests.conftest import Team


def _scheduled(herald, actor):  # type: ignore[no-untyped-def]
    return herald.scheduling.schedule_post(actor, {
        "content": "Big news on Thursday", "platforms": ["linkedin", "twitter"],
        "scheduled_at": "2026-12-03T10:00:00Z"}).post


def test_no_one_approves_their_own_post_unless_the_org_allows_it(herald, team: Team) -> None:
    post = _scheduled(herald, team.manager)
    with pytest.raises(Forbidden, match="your own post"):
        herald.approvals.approve(team.manager, post.post_id)
    herald.orgs.update_settings(team.admin, allow_self_approval=True)
    assert herald.approvals.approve(team.manager, post.post_id).fully_approved


def test_org_asking_for_two_approvals_needs_two_distinct_reviewers(herald, team: Team) -> None:
    herald.orgs.update_settings(team.admin, approvals_needed=2)
    post = _scheduled(herald, team.editor)
    first = herald.approvals.approve(team.manager, post.post_id, "fine by me")
    assert not first.fully_approved and first.approvals_so_far == 1 and first.approvals_needed == 2
    assert first.post.approval_status == "pending"
    with pytest.raises(InvalidTransition, match="already approved"):
        herald.approvals.approve(team.manager, post.post_id)
    second = herald.approvals.approve(team.admin, post.post_id)
    assert second.fully_approved and second.post.approval_status == "approved"


def test_editing_an_approved_post_sends_it_back_to_pending(herald, team: Team) -> None:
    post = _scheduled(herald, team.editor)
    herald.approvals.approve(team.manager, post.post_id)
    result = herald.scheduling.update_post(team.editor, post.post_id, {"content": "Big news on Friday"})
    assert result.post.approval_status == "pending"
    assert any("approval again" in n for n in result.notes)
    # Approvals from the earlier round do not count toward the new one.
    again = herald.approvals.approve(team.manager, post.post_id)
    assert again.fully_approved


def test_rescheduling_alone_keeps_the_approval(herald, team: Team) -> None:
    post = _scheduled(herald, team.editor)
    herald.approvals.approve(team.manager, post.post_id)
    moved = herald.scheduling.reschedule_post(team.editor, post.post_id, "2026-12-04T10:00:00Z").post
    assert moved.approval_status == "approved"


def test_reject_edit_resubmit(herald, team: Team) -> None:
    post = _scheduled(herald, team.editor)
    with pytest.raises(ValidationFailed):
        herald.approvals.reject(team.manager, post.post_id, "   ")
    rejected = herald.approvals.reject(team.manager, post.post_id, "Mention the venue")
    assert rejected.approval_status == "rejected" and rejected.rejection_reason == "Mention the venue"
    edited = herald.scheduling.update_post(team.editor, post.post_id,
                                           {"content": "Big news on Thursday at the Town Hall"}).post
    assert edited.approval_status == "pending" and edited.rejection_reason is None
    assert herald.approvals.approve(team.manager, post.post_id).fully_approved


def test_cannot_approve_what_is_not_pending(herald, team: Team) -> None:
    draft = herald.scheduling.schedule_post(team.editor, {"content": "Draft", "platforms": ["twitter"]}).post
    with pytest.raises(InvalidTransition):
        herald.approvals.approve(team.manager, draft.post_id)
    submitted = herald.approvals.submit(team.editor, draft.post_id)
    assert submitted.approval_status == "pending"
    assert [p.post_id for p in herald.approvals.list_pending(team.manager)] == [draft.post_id]


def test_every_decision_is_recorded_with_its_history(herald, team: Team) -> None:
    post = _scheduled(herald, team.editor)
    herald.approvals.reject(team.manager, post.post_id, "Too vague")
    herald.scheduling.update_post(team.editor, post.post_id, {"content": "Clearer news"})
    herald.approvals.approve(team.admin, post.post_id, "Much better")
    history = herald.approvals.history(team.viewer, post.post_id)
    actions = [h.action for h in history]
    assert {"post.created", "post.rejected", "post.updated", "post.approved"} <= set(actions)
    rejected = next(h for h in history if h.action == "post.rejected")
    assert rejected.comment == "Too vague" and rejected.actor_name == "Manager User"
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        decisions = [(a.decision, a.round) for a in uow.session.scalars(
            select(Approval).where(Approval.post_id == post.post_id).order_by(Approval.round))]
    assert decisions == [("rejected", 1), ("approved", 2)]
