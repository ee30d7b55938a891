"""The API over the test's container: a TestClient, and a bearer token per role for two orgs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import BASE_PATH, create_app
from core.db.models import Base
from core.services.container import Herald
from tests.conftest import NOW, Team

BASE = BASE_PATH
M = TypeVar("M", bound=Base)


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


def in_days(days: float, hour: int = 9) -> str:
    """An aware ISO time ``days`` after the tests' fixed now, at ``hour``:00 UTC."""
    return (NOW + timedelta(days=days)).replace(hour=hour, minute=0).isoformat()


def create_post(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"content": "Winter is coming #winter", "platforms": ["twitter", "linkedin"], **fields}
    response = client.post(f"{BASE}/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json()["post"])


def rows(herald: Herald, model: type[M], *where: Any) -> list[M]:
    """Rows as the database has them (every org: the system scope), to check what a call did."""
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        found = list(uow.session.scalars(select(model).where(*where)))
        uow.session.expunge_all()
        return found
