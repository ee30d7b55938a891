"""The Connector interface and the plain data that crosses it; every name of it importable from
here.

``connector`` holds ``Connector``, the base class of every network's connector, its
``ConnectorConfig`` and the helpers they share (``as_auth_error``, ``chunks``, the ``STEP_*``
retry constants); ``data`` the plain data (``AccountCredentials``, ``PublishRequest``,
``PublishResult``, ``MetricSnapshot``, ``TokenSet``); ``polling`` the bounded wait for a network's
processing (``PollPolicy``, ``poll_until``, ``ProcessingTimeout``); ``matching`` how a post whose
outcome is unknown is recognised (``same_text``, ``search_since``); ``pkce`` the PKCE pair.
"""

from core.platforms.base.connector import (
    STEP_MAX_WAIT_SECONDS,
    STEP_RETRIES,
    STEP_RETRY_BASE_SECONDS,
    TOKEN_SECRET_KEYS,
    Connector,
    ConnectorConfig,
    as_auth_error,
    chunks,
)
from core.platforms.base.data import (
    AccountCredentials,
    MetricSnapshot,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from core.platforms.base.matching import (
    FIND_WINDOW_BEFORE,
    FIND_WINDOW_UNSCHEDULED,
    comparable_text,
    same_text,
    search_since,
)
from core.platforms.base.pkce import make_pkce_pair, pkce_challenge
from core.platforms.base.polling import PollPolicy, ProcessingTimeout, poll_until

__all__ = [
    "FIND_WINDOW_BEFORE",
    "FIND_WINDOW_UNSCHEDULED",
    "STEP_MAX_WAIT_SECONDS",
    "STEP_RETRIES",
    "STEP_RETRY_BASE_SECONDS",
    "TOKEN_SECRET_KEYS",
    "AccountCredentials",
    "Connector",
    "ConnectorConfig",
    "MetricSnapshot",
    "PollPolicy",
    "ProcessingTimeout",
    "PublishRequest",
    "PublishResult",
    "TokenSet",
    "as_auth_error",
    "chunks",
    "comparable_text",
    "make_pkce_pair",
    "pkce_challenge",
    "poll_until",
    "same_text",
    "search_since",
]
