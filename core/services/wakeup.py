"""Waking idle queue workers when there is work: PostgreSQL ``LISTEN`` on ``herald_queue``.

Statement-level triggers on ``publishing_queue`` (migrations) ``NOTIFY herald_queue`` when
pending items are added, or moved so that they fall due sooner; an idle worker waits on this
instead of sleeping, so "publish now" and newly scheduled posts are picked up at once. Polling
stays the fallback: a lost connection only means a plain sleep this time.
"""

from __future__ import annotations

import time
from typing import Any

NOTIFY_CHANNEL = "herald_queue"


class PgWakeup:
    """LISTEN on ``herald_queue``: a trigger notifies when pending items are added or moved."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._url = url.replace("postgresql+psycopg://", "postgresql://")
        self._psycopg = psycopg
        self._conn: Any = None

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self._url, autocommit=True)
            self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self._conn

    def wait(self, timeout: float) -> None:
        try:
            for _ in self._connect().notifies(timeout=timeout, stop_after=1):
                break
        except Exception:  # connection lost: fall back to a plain sleep this time
            self._conn = None
            time.sleep(timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
