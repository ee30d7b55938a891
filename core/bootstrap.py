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
    herald = Herald.create(settings)
    if settings.platform_mode == "sandbox" and not settings.sandbox_url:
        reconnect_sandbox_accounts(herald)
    if settings.demo_enabled:
        from core.services.demo import seed_demo

        summary = seed_demo(herald)
        if summary is not None:
            log.info("seeded the demo organisation (%d published, %d upcoming posts)",
                     summary.history_posts, summary.upcoming_posts)
    return herald


def reconnect_sandbox_accounts(herald: Herald) -> int:
    """The in-process sandbox lives in memory: tell it again about the accounts (and tokens)
    stored in the database, as a real network would still know them after a restart."""
    from sqlalchemy import select

    from core.db.models import SocialAccount
    from core.platforms.registry import default_sandbox

    sandbox = default_sandbox()
    count = 0
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        for account in uow.session.scalars(select(SocialAccount).where(SocialAccount.status == "active")):
            try:
                creds = herald.accounts.credentials(account)
                sandbox.register_account(account.platform, account.external_account_id, account.username,
                                         creds.access_token, creds.refresh_token, account.expires_at,
                                         extra=dict(account.extra or {}))
                count += 1
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop start-up
                log.warning("could not re-register %s account %s with the sandbox: %s",
                            account.platform, account.account_id, exc)
    return count
