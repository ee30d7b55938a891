"""Multi-tenancy is enforced by PostgreSQL itself: in org A's transaction, no row of org B can be
read or written, even by a raw SQL query that forgets its org filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from core.db.models import ORG_TABLES
from tests.conftest import NOW, Team

pytestmark = pytest.mark.postgres_only


def _schedule(herald, actor, content):  # type: ignore[no-untyped-def]
    return herald.scheduling.schedule_post(actor, {
        "content": content, "platforms": ["twitter", "linkedin"],
        "scheduled_at": (NOW + timedelta(days=2)).isoformat()}).post


def test_the_app_connects_as_a_role_without_bypassrls(herald) -> None:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        row = uow.session.execute(text(
            "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user"
        )).one()
    assert row == ("herald_app", False, False)


def test_every_org_table_has_forced_row_level_security(herald) -> None:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        rows = dict(uow.session.execute(text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(:names)"), {"names": list(ORG_TABLES)}).all())
    assert rows == {name: True for name in ORG_TABLES}


def test_org_context_cannot_read_or_write_another_orgs_rows(herald, team: Team, other_team: Team) -> None:
    mine = _schedule(herald, team.editor, "Org A's launch")
    theirs = _schedule(herald, other_team.editor, "Org B's secret plan")
    b_id = str(other_team.org.org_id)

    with herald.db.unit_of_work(team.org.org_id) as uow:
        s = uow.session
        # Raw queries with no org filter see only org A.
        for table in ORG_TABLES:
            orgs_seen = {str(r[0]) for r in s.execute(text(f"SELECT DISTINCT org_id FROM {table}"))}
            assert orgs_seen <= {str(team.org.org_id)}, table
        assert s.execute(text("SELECT count(*) FROM scheduled_posts WHERE post_id = :id"),
                         {"id": theirs.post_id}).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM users WHERE org_id = :b"), {"b": b_id}).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM v_content_calendar WHERE org_id = :b"),
                         {"b": b_id}).scalar() == 0
        # Updates and deletes aimed at org B touch nothing.
        assert s.execute(text("UPDATE scheduled_posts SET content = 'hacked' WHERE post_id = :id"),
                         {"id": theirs.post_id}).rowcount == 0
        assert s.execute(text("DELETE FROM publishing_queue WHERE org_id = :b"), {"b": b_id}).rowcount == 0
        # Moving our own row into org B is refused by the policy's WITH CHECK.
        with pytest.raises(ProgrammingError, match="row-level security"), s.begin_nested():
            s.execute(text("UPDATE scheduled_posts SET org_id = :b WHERE post_id = :id"),
                      {"b": b_id, "id": mine.post_id})
        # So is inserting a row for org B.
        with pytest.raises(ProgrammingError, match="row-level security"), s.begin_nested():
            s.execute(text(
                "INSERT INTO content_library (content_id, org_id, created_by, title, content_type) "
                "VALUES (gen_random_uuid(), :b, :u, 'x', 'text')"),
                {"b": b_id, "u": str(other_team.editor.user_id)})
        uow.commit()

    # Org B's post is untouched.
    assert herald.scheduling.get_post(other_team.viewer, theirs.post_id).content == "Org B's secret plan"


def test_a_transaction_without_an_org_sees_nothing(herald, team: Team) -> None:
    _schedule(herald, team.editor, "Visible only with an org")
    engine = herald.db.engine
    with engine.connect() as conn:  # no unit of work: no org setting at all
        assert conn.execute(text("SELECT count(*) FROM scheduled_posts")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM orgs")).scalar() == 0
