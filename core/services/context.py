"""Who is acting: every service call carries an Actor (user + org + role)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from core.domain import roles


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    email: str = ""
    name: str = ""

    def can(self, action: str) -> bool:
        return roles.can(self.role, action)

    def require(self, action: str) -> None:
        roles.require(self.role, action)
