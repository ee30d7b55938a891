"""Fixtures for connector and sandbox tests: a fixed clock shared by the sandbox and the
connectors, a fake sleep that advances it, and a connector factory. No database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.config import Settings
from core.platforms import AccountCredentials, Connector, PollPolicy, get_connector
from core.platforms.sandbox import Sandbox, SandboxConfig
from tests.platforms.contract import CASES, NetworkCase

# Tuesday 24 November 2026, 09:00 UTC.
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class FakeSleep:
    """Records each pause and moves the shared clock instead of sleeping."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))

    @property
    def total(self) -> float:
        return sum(self.calls)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sleep(clock: FixedClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def sandbox(clock: FixedClock) -> Sandbox:
    return Sandbox(clock=clock, config=SandboxConfig())


@pytest.fixture
def settings() -> Settings:
    return Settings(platform_mode="sandbox", sandbox_url=None)


ConnectorFactory = Callable[..., Connector]


@pytest.fixture
def connect(sandbox: Sandbox, clock: FixedClock, sleep: FakeSleep,
            settings: Settings) -> Iterator[ConnectorFactory]:
    made: list[Connector] = []

    def factory(platform: str, *, poll: PollPolicy | None = None, **kwargs: object) -> Connector:
        kwargs.setdefault("sandbox", sandbox)
        connector = get_connector(platform, settings, clock=clock, sleep=sleep, poll=poll,
                                  **kwargs)  # type: ignore[arg-type]
        made.append(connector)
        return connector

    yield factory
    for connector in made:
        connector.close()


@pytest.fixture(params=CASES, ids=[case.platform for case in CASES])
def case(request: pytest.FixtureRequest) -> NetworkCase:
    return request.param


@pytest.fixture
def connector(case: NetworkCase, connect: ConnectorFactory) -> Connector:
    return connect(case.platform)


@pytest.fixture
def account(case: NetworkCase, sandbox: Sandbox) -> AccountCredentials:
    return case.register(sandbox)


def record_calls(connector: Connector) -> list[tuple[str, str, bool]]:
    """Every call ``connector`` sends from now on, as ``(method, path, publishing)``, in a
    growing list (``publishing``: sent ``outcome_critical``)."""
    calls: list[tuple[str, str, bool]] = []
    send = connector.http.send

    def recording(method: str, url: str, *args: Any, **kwargs: Any) -> httpx.Response:
        calls.append((method, urlsplit(url).path, bool(kwargs.get("outcome_critical"))))
        return send(method, url, *args, **kwargs)

    connector.http.send = recording  # type: ignore[method-assign]
    return calls
