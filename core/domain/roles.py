"""Roles and what each may do. Enforced in the services; the UI only mirrors it."""

from __future__ import annotations

from enum import StrEnum

from core.errors import Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    MANAGER = "manager"
    ADMIN = "admin"


RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.MANAGER: 2, Role.ADMIN: 3}

# action -> least role allowed to do it
PERMISSIONS: dict[str, Role] = {
    "read": Role.VIEWER,
    "post.create": Role.EDITOR,
    "post.edit_own": Role.EDITOR,
    "post.edit_any": Role.MANAGER,
    "post.publish_now": Role.MANAGER,
    "post.approve": Role.MANAGER,
    "library.write": Role.EDITOR,
    "library.delete_any": Role.MANAGER,
    "queue.operate": Role.MANAGER,
    "best_times.recalculate": Role.MANAGER,
    "accounts.manage": Role.ADMIN,
    "users.manage": Role.ADMIN,
    "settings.manage": Role.ADMIN,
    "tokens.manage_own": Role.EDITOR,
    "tokens.manage_any": Role.ADMIN,
}

ACTION_LABELS = {
    "post.create": "create posts",
    "post.edit_own": "edit posts",
    "post.edit_any": "edit other people's posts",
    "post.publish_now": "publish immediately",
    "post.approve": "approve or reject posts",
    "library.write": "change the content library",
    "library.delete_any": "delete other people's library items",
    "queue.operate": "operate the publishing queue",
    "best_times.recalculate": "recalculate best times",
    "accounts.manage": "connect or disconnect social accounts",
    "users.manage": "manage users",
    "settings.manage": "change organisation settings",
    "tokens.manage_own": "create API tokens",
    "tokens.manage_any": "manage other users' API tokens",
}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        from core.errors import Problem, ValidationFailed

        raise ValidationFailed(
            [
                Problem(
                    field="role",
                    code="invalid_role",
                    message=f"Unknown role '{value}'; use admin, manager, editor or viewer",
                    actual=value,
                )
            ]
        ) from None


def can(role: str, action: str) -> bool:
    return RANK[Role(role)] >= RANK[PERMISSIONS[action]]


def require(role: str, action: str) -> None:
    if not can(role, action):
        needed = PERMISSIONS[action]
        raise Forbidden(
            f"Your role ({role}) cannot {ACTION_LABELS.get(action, action)}; "
            f"it needs {needed.value} or above. Ask an admin to change your role."
        )
