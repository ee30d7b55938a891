"""Every table of every data area carries its data-version triggers after ``upgrade head``.

A later migration that rebuilds a table (Alembic's batch mode on SQLite copies it into a new
table) drops its triggers silently; the dashboard would then serve stale caches until their TTL.
"""

from __future__ import annotations

from sqlalchemy import text

from core.db.models import DATA_AREAS


def test_every_area_table_has_its_insert_update_and_delete_triggers(herald) -> None:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        if herald.db.is_sqlite:
            rows = uow.session.execute(text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = uow.session.execute(text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal"))
        triggers = {(table, name) for table, name in rows}
    expected = {(table, f"{table}_data_changed_{event}") for tables in DATA_AREAS.values() for table in tables
                for event in ("insert", "update", "delete")}
    assert expected <= triggers
