"""PostgreSQL's statements for the queue's claims (``core.services.queue_store``): the claim of
due items, the first-claim update of posts, the staging claim and its finish. Each is one
statement, tuned to walk its partial index in due order; the comments say what the planner did
otherwise, and what it cost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

# ``_CLAIMABLE_POST`` as the claims' correlated subquery on ``q``'s post ({also}: more conditions).
_PG_CLAIMABLE_POST = """(SELECT p.status IN ('scheduled', 'publishing')
                   AND (o.approval_required IS FALSE OR p.approval_status = 'approved'){also}
              FROM scheduled_posts AS p JOIN orgs AS o ON o.org_id = p.org_id
             WHERE p.post_id = q.scheduled_post_id)"""

# PostgreSQL's claim, one statement: pick items due by ``:due_by`` (locking them, skipping those
# another worker holds), take them, and open their attempt rows. An item armed ahead (due after
# ``:now``) has its attempt start at its time, when it is sent. The pick checks each item's post with a
# correlated subquery so that, with sorting and bitmap scans off for the claim's transaction
# (``CLAIM_PLANNER``), it walks ``idx_publishing_queue_due`` in order and stops after ``limit``
# rows. Left alone, the planner cannot estimate the row-level-security predicates, believes
# "join and sort every due row" is cheap, and a backlog of thousands makes every claim read and
# sort all of them (measured: 30 ms of database CPU per claim with 10,000 due, 0.3 ms this way).
# The update then finds the picked rows by primary key alone: they are locked, so still as picked,
# and joined to the CTE or repeating ``status = 'pending'`` the planner, misled by stale statistics
# after a bulk insert, walked a whole partial index per claim (2.2 ms with 2,400 due, 0.4 ms now).
_PG_CLAIM = """
WITH picked AS MATERIALIZED (
    SELECT q.queue_id FROM publishing_queue AS q
     WHERE q.status = 'pending' AND q.next_attempt_at <= :due_by{filters}
       AND {claimable}
     ORDER BY q.next_attempt_at
     LIMIT :limit
       FOR UPDATE OF q SKIP LOCKED
), claimed AS (
    UPDATE publishing_queue AS q
       SET status = 'processing', locked_by = :worker, locked_until = :lease_until,
           attempts = q.attempts + 1, last_attempt_at = GREATEST(:now, q.next_attempt_at), updated_at = :now
     WHERE q.queue_id = ANY(ARRAY(SELECT queue_id FROM picked))
    RETURNING q.queue_id, q.org_id, q.scheduled_post_id, q.platform, q.attempts, q.max_attempts,
              q.scheduled_for, q.idempotency_key, q.account_id, gen_random_uuid() AS attempt_id,
              q.next_attempt_at, q.staged
), attempts AS (
    INSERT INTO publish_attempts (attempt_id, org_id, queue_id, attempt_no, worker_id, started_at, outcome)
    SELECT c.attempt_id, c.org_id, c.queue_id, c.attempts, :worker, GREATEST(:now, c.next_attempt_at),
           'in_progress' FROM claimed AS c
)
SELECT * FROM claimed"""
CLAIM_PLANNER = {"enable_sort": "off", "enable_bitmapscan": "off"}
# The first claim of a post moves it to publishing. ``post_id = ANY(sorted ids)`` walks the
# primary key in id order, so post rows are locked in the same order as the outcome writer
# locks them, and a claim and a batch of outcomes that share posts queue up, never deadlock.
PG_FIRST_CLAIMS = text("""
UPDATE scheduled_posts SET status = 'publishing', updated_at = :now
 WHERE post_id = ANY(CAST(:ids AS uuid[])) AND status = 'scheduled'""")
_PG_CLAIMS: dict[tuple[bool, bool], Any] = {}


# The staging claim (core.services.staging): pending items not yet looked at, due between
# ``soonest`` and ``horizon``, on networks that stage, of claimable posts with media (staging is
# uploads and their processing: a text post has nothing to stage). It walks
# ``idx_publishing_queue_to_stage`` in due order, like the claim of due items walks its index.
# It leaves the item pending: publishing claims it when due whatever its stage state. The update
# finds the picked rows (locked, so still as picked) by primary key alone: joined to the CTE, or
# repeating the pick's conditions, it let the planner walk the whole partial index for each claim
# (1.6 ms of database CPU per claim with 3,000 items staged).
PG_CLAIM_TO_STAGE = text("""
WITH picked AS MATERIALIZED (
    SELECT q.queue_id FROM publishing_queue AS q
     WHERE q.status = 'pending' AND q.stage_state IS NULL
       AND q.next_attempt_at > :soonest AND q.next_attempt_at <= :horizon
       AND q.platform = ANY(CAST(:platforms AS text[]))
       AND {claimable}
     ORDER BY q.next_attempt_at
     LIMIT :limit
       FOR UPDATE OF q SKIP LOCKED
)
UPDATE publishing_queue AS q SET stage_state = 'staging', stage_until = :lease_until
 WHERE q.queue_id = ANY(ARRAY(SELECT queue_id FROM picked))
RETURNING q.queue_id, q.org_id, q.scheduled_post_id, q.platform, q.attempts, q.max_attempts,
          q.scheduled_for, q.idempotency_key, q.account_id, q.next_attempt_at""".format(
    claimable=_PG_CLAIMABLE_POST.format(also="\n                   AND jsonb_array_length(p.media_urls) > 0")))


PG_FINISH_STAGING = text("""
UPDATE publishing_queue AS q SET stage_state = r.state, stage_until = NULL, staged = r.staged
  FROM unnest(CAST(:ids AS uuid[]), CAST(:states AS text[]), CAST(:staged AS jsonb[])) AS r(queue_id, state, staged)
 WHERE q.queue_id = r.queue_id AND q.status = 'pending' AND q.stage_state = 'staging'
RETURNING q.queue_id""")


def pg_claim(exclude: bool, one_post: bool) -> Any:
    key = (exclude, one_post)
    if key not in _PG_CLAIMS:
        filters = ("\n       AND q.platform <> ALL(CAST(:excluded AS text[]))" if exclude else "") + (
            "\n       AND q.scheduled_post_id = :post_id" if one_post else "")
        _PG_CLAIMS[key] = text(_PG_CLAIM.format(filters=filters, claimable=_PG_CLAIMABLE_POST.format(also="")))
    return _PG_CLAIMS[key]
