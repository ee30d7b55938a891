"""The API over the test's container: a TestClient, and a bearer token per role for two orgs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import BASE_PATH, create_app
from core.services.container import Herald
from tests.conftest import Team

BASE = BASE_PATH


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tokens_for(herald: Herald, team: Team) -> dict[str, dict[str, str]]:
    """Authorization headers per role (made the way the admin command makes them)."""
    return {role: bearer(herald.api_tokens.create_for_email(actor.email, name=f"{role} script")[1])
            for role, actor in team.actors.items()}


@pytest.fixture
def client(herald: Herald) -> Iterator[TestClient]:
    # No rate limit here (tests/api/test_rate_limit.py has its own); a server error fails the test.
    with TestClient(create_app(herald, rate_limit=None)) as test_client:
        yield test_client


@pytest.fixture
def auth(herald: Herald, team: Team) -> dict[str, dict[str, str]]:
    return tokens_for(herald, team)


@pytest.fixture
def other_auth(herald: Herald, other_team: Team) -> dict[str, dict[str, str]]:
    return tokens_for(herald, other_team)
