"""Reconciliation of unknown outcomes: did an ``unconfirmed`` post go out?

An item is unconfirmed when its publishing call's outcome is unknown (a timeout after sending,
a worker that died mid-call). It is never published again blindly: the network is asked first
(``Connector.find_existing``), and only a confirmed absence puts it back in the queue.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from core.db.models import PublishingQueueItem
from core.errors import PlatformError
from core.services.publish_loading import ItemProblem, LoadFailed
from core.services.queue_store import ClaimedItem
from core.services.settlement import ItemOutcome, Settlement

if TYPE_CHECKING:
    from core.services.publishing import PublishingService

log = logging.getLogger("herald.publishing")

# Reconciliation checks before the item is left for a person to resolve.
MAX_RECONCILE_CHECKS = 5


def reconcile_item(publishing: PublishingService, item: ClaimedItem, worker_id: str) -> ItemOutcome:
    """Ask the network whether an unconfirmed post went out. Found: completed. Confirmed
    absent: pending again (now it is safe to publish). Cannot tell: checked again later,
    and after MAX_RECONCILE_CHECKS left for a person to resolve on the Queue page."""
    t0 = time.monotonic()
    got = publishing.loader.load([item])[item.queue_id]
    if isinstance(got, ItemProblem):
        return _finish_check(publishing, item, "failed" if got.outcome == "failed" else "cancelled", str(got))
    if isinstance(got, LoadFailed):
        raise RuntimeError(f"could not load unconfirmed item {item.queue_id}: {got.error}")
    if isinstance(got, Exception):
        raise got
    ctx = got
    if ctx.already is not None:
        return publishing.settle([publishing.settlement_for(item, "completed", t0, result=ctx.already)], worker_id)[0]
    try:
        since = (ctx.request.scheduled_at or item.scheduled_for) - timedelta(minutes=5)
        found = publishing.connector_for(item.platform).find_existing(ctx.request, ctx.credentials, since=since)
    except PlatformError as exc:
        return _recheck_later(publishing, item, f"could not check with {item.platform}: {exc.network_message}")
    if found is not None:
        log.info("reconciled post %s on %s: it went out (%s)", item.post_id, item.platform, found.url)
        return publishing.settle([publishing.settlement_for(item, "completed", t0, result=found,
                                             note="found on the network after an unknown outcome")],
                           worker_id)[0]
    return _finish_check(publishing, item, "pending",
                              f"{item.platform} confirmed the post did not go out; publishing it again")

def _recheck_later(publishing: PublishingService, item: ClaimedItem, message: str) -> ItemOutcome:
    now = publishing.now()
    with publishing.db.unit_of_work(item.org_id) as uow:
        row = uow.session.get(PublishingQueueItem, item.queue_id)
        assert row is not None
        row.reconcile_checks = checks = (row.reconcile_checks or 0) + 1
        if checks >= MAX_RECONCILE_CHECKS:
            # Left for a person: shown on the Queue page, never picked up automatically again.
            row.error_message = (f"Needs your decision: Herald could not confirm whether this went "
                                 f"out ({message}). Mark it published (with its link) or failed.")
            row.next_attempt_at = now + timedelta(days=3650)
        else:
            row.error_message = message
            row.next_attempt_at = now + publishing.reconcile_delay * (2 ** checks)
        row.locked_by = row.locked_until = None
        uow.commit()
    return ItemOutcome(item.queue_id, item.post_id, item.platform, "unconfirmed", message)

def _finish_check(publishing: PublishingService, item: ClaimedItem, status: str, message: str) -> ItemOutcome:
    now = publishing.now()
    settlement = Settlement(item, {"pending": "retry"}.get(status, status), status, ("unconfirmed",),
                            message, now, next_attempt_at=now,
                            platform_post="failed" if status == "failed" else None)
    publishing.settle([settlement])
    return ItemOutcome(item.queue_id, item.post_id, item.platform, settlement.outcome, message)
