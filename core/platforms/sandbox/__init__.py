"""The platform simulator: every network Herald publishes to, answered in-process (an httpx
transport) or as a local HTTP server (``python -m core.platforms.sandbox``).

    sandbox = Sandbox(clock=FixedClock(...))
    sandbox.register_account("twitter", "42", "acme", "token-1")
    sandbox.inject("twitter", "rate_limit", reset_in=120)
    client = httpx.Client(transport=sandbox.transport())
"""

from core.platforms.sandbox.base import FAULTS, SandboxAccount, SandboxPost
from core.platforms.sandbox.engagement import PROFILES, Engagement, engagement
from core.platforms.sandbox.simulator import NETWORKS, Sandbox, SandboxConfig

__all__ = [
    "FAULTS",
    "NETWORKS",
    "PROFILES",
    "Engagement",
    "Sandbox",
    "SandboxAccount",
    "SandboxConfig",
    "SandboxPost",
    "engagement",
]
