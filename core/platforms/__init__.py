"""Connectors to the social networks, the shared HTTP policy, media fetching and the sandbox.

    connector = get_connector("twitter", settings)
    result = connector.publish(PublishRequest(...), AccountCredentials(...))

Connectors never touch the database; ``core.services`` calls them and stores what they return.
See ``core/platforms/README.md``.
"""

from core.platforms.base import (
    AccountCredentials,
    Connector,
    ConnectorConfig,
    MetricSnapshot,
    PollPolicy,
    ProcessingTimeout,
    PublishRequest,
    PublishResult,
    TokenSet,
    make_pkce_pair,
)
from core.platforms.media import FetchedMedia, MediaFetchError, fetch_media
from core.platforms.registry import (
    IN_PROCESS_SANDBOX_URL,
    SANDBOX_HOST,
    PlatformBases,
    SandboxTransport,
    available_platforms,
    base_urls,
    default_sandbox,
    follow_sandbox_consent,
    get_connector,
)

__all__ = [
    "IN_PROCESS_SANDBOX_URL",
    "SANDBOX_HOST",
    "AccountCredentials",
    "Connector",
    "ConnectorConfig",
    "FetchedMedia",
    "MediaFetchError",
    "MetricSnapshot",
    "PlatformBases",
    "PollPolicy",
    "ProcessingTimeout",
    "PublishRequest",
    "PublishResult",
    "SandboxTransport",
    "TokenSet",
    "available_platforms",
    "base_urls",
    "default_sandbox",
    "fetch_media",
    "follow_sandbox_consent",
    "get_connector",
    "make_pkce_pair",
]
