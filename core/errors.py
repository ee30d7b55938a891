"""Herald's one exception tree.

Every error carries data (ids, platform, problems, retry_after) so each edge can render it:
pages with ``st.error``, the API as a JSON error body, the daemon as a ``publish_attempts`` row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which field, which rule, the limit and the actual value."""

    field: str
    code: str
    message: str
    platform: str | None = None
    limit: Any = None
    actual: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        prefix = f"{self.platform}: " if self.platform else ""
        return f"{prefix}{self.field}: {self.message}"


class HeraldError(Exception):
    """Base of every error Herald raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(HeraldError):
    """The entity does not exist, or belongs to another org (the two look the same)."""

    code = "not_found"

    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} was not found")
        self.entity = entity
        self.entity_id = entity_id


class Forbidden(HeraldError):
    """The acting user's role does not allow the action."""

    code = "forbidden"


class AuthenticationFailed(HeraldError):
    """Bad credentials or token. The message never says which part was wrong."""

    code = "unauthenticated"

    def __init__(self, message: str = "Email or password is incorrect") -> None:
        super().__init__(message)


class InvalidTransition(HeraldError):
    """A lifecycle transition that the domain does not allow."""

    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str, reason: str = "") -> None:
        text = f"Cannot move {entity} from '{current}' to '{target}'"
        super().__init__(f"{text}: {reason}" if reason else text)
        self.entity = entity
        self.current = current
        self.target = target


class ValidationFailed(HeraldError):
    """Input broke one or more rules; ``problems`` lists every one of them."""

    code = "validation_failed"

    def __init__(self, problems: list[Problem], message: str | None = None) -> None:
        if not problems:
            raise ValueError("ValidationFailed needs at least one problem")
        summary = message or (
            str(problems[0]) if len(problems) == 1 else f"{len(problems)} problems: "
            + "; ".join(str(p) for p in problems)
        )
        super().__init__(summary, details=[p.as_dict() for p in problems])
        self.problems = problems


@dataclass(frozen=True)
class ConflictInfo:
    """A scheduling clash on one platform: too close to other posts, or over the daily cap."""

    platform: str
    kind: str  # "min_gap" | "daily_cap"
    message: str
    posts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Conflict(HeraldError):
    """The action clashes with existing state (scheduling conflicts, duplicates, idempotency)."""

    code = "conflict"

    def __init__(self, message: str, conflicts: list[ConflictInfo] | None = None) -> None:
        super().__init__(message, details=[c.as_dict() for c in conflicts or []])
        self.conflicts = conflicts or []


class PlatformError(HeraldError):
    """A network refused or failed a call. Keeps the network's own message and status."""

    code = "platform_error"
    retryable = False

    def __init__(
        self,
        platform: str,
        message: str,
        *,
        status: int | None = None,
        network_code: str | int | None = None,
        retry_after: datetime | None = None,
        response_body: str | None = None,
    ) -> None:
        super().__init__(f"{platform}: {message}")
        self.platform = platform
        self.network_message = message
        self.status = status
        self.network_code = network_code
        self.retry_after = retry_after
        self.response_body = response_body


class RetryablePlatformError(PlatformError):
    """429, 5xx, network errors: try again, never before ``retry_after``."""

    code = "platform_retryable"
    retryable = True


class AuthPlatformError(PlatformError):
    """The token is expired, revoked or invalid: refresh once, then retry."""

    code = "platform_auth"


class PermanentPlatformError(PlatformError):
    """Validation, duplicate content, forbidden: retrying will not help."""

    code = "platform_permanent"


class UnknownOutcome(PlatformError):
    """The request may have been accepted but no answer came back (timeout after sending)."""

    code = "platform_unknown_outcome"


class StagedMediaGone(PermanentPlatformError):
    """What was staged ahead of the scheduled time (an Instagram container, a Snapchat media
    id) is no longer usable: the network refused the publishing call because of it, so nothing
    went out, and the publish is made again from the start."""

    code = "platform_staged_media_gone"
