"""What the dashboard says about demo mode (kept in core so the text lives with the seed)."""

from __future__ import annotations

from core.config import Settings
from core.services.demo import DEMO_PASSWORD, DEMO_USERS


def demo_accounts() -> list[tuple[str, str, str]]:
    """(email, name, role) of the demo users."""
    return list(DEMO_USERS)


def demo_note(settings: Settings) -> str | None:
    if not settings.demo_enabled:
        return None
    mode = "sandbox networks" if settings.platform_mode == "sandbox" else "live networks"
    return f"Demo mode · {mode} · demo password {DEMO_PASSWORD!r}"
