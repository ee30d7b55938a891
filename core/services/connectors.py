"""One connector per network per process, created on first use and shared by threads
(httpx clients are thread-safe); the wiring seam for the sandbox, clocks and fake sleeps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from core.clock import Clock
from core.config import Settings
from core.domain.platforms import normalize_platform
from core.platforms.base import Connector, PollPolicy
from core.platforms.registry import get_connector

if TYPE_CHECKING:
    from core.platforms.sandbox import Sandbox


class ConnectorPool:
    def __init__(self, settings: Settings, *, clock: Clock, sandbox: Sandbox | None = None,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, poll: PollPolicy | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.sandbox = sandbox
        self.transport = transport
        self.sleep = sleep
        self.poll = poll
        self._connectors: dict[str, Connector] = {}
        self._lock = threading.Lock()

    def __call__(self, platform: str) -> Connector:
        platform = normalize_platform(platform)
        with self._lock:
            connector = self._connectors.get(platform)
            if connector is None:
                connector = get_connector(platform, self.settings, transport=self.transport,
                                          sleep=self.sleep, clock=self.clock, poll=self.poll,
                                          sandbox=self.sandbox)
                self._connectors[platform] = connector
            return connector

    def close(self) -> None:
        with self._lock:
            for connector in self._connectors.values():
                connector.close()
            self._connectors.clear()
