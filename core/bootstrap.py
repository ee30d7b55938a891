"""Start-up for the embedded default: make sure the database exists and is migrated.

Production runs ``python -m core migrate`` explicitly; on SQLite (a newcomer's first run) the
dashboard and daemon do it themselves so one command is enough.
"""

from __future__ import annotations

import logging

from core.config import Settings, get_settings
from core.db.migrate import upgrade
from core.services.container import Herald

log = logging.getLogger(__name__)


def prepare(settings: Settings | None = None) -> Herald:
    settings = settings or get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
    return Herald.create(settings)
