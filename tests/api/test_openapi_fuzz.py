"""schemathesis over /openapi.json: generated requests (valid and invalid) to every operation, with
a valid token, against an org that has posts, a library item and a connected account.

Every response must be a non-5xx, have a documented status and content type, and match the
schema documented for that status. Bounded (few examples per operation, deterministic) so it
stays well under a minute; it runs on both databases because some inputs (NUL characters) fail
only on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from core.services.container import Herald
from tests.api.conftest import bearer
from tests.conftest import NOW, Team, connect_sandbox_account

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_token(herald: Herald, team: Team, sandbox: Any) -> str:
    """An admin's token in an org with something in it for every read to return."""
    connect_sandbox_account(herald, sandbox, team, "linkedin")
    for day in range(1, 4):
        herald.scheduling.schedule_post(team.editor, {
            "title": f"Day {day}", "content": f"Planned post {day} #plans", "platforms": ["linkedin", "twitter"],
            "scheduled_at": (NOW + timedelta(days=day)).isoformat()})
    herald.scheduling.schedule_post(team.editor, {"content": "A draft", "platforms": ["facebook"]})
    herald.library.add(team.editor, {"title": "Launch", "content_type": "template",
                                     "content": "[PRODUCT] from [COMPANY]", "hashtags": ["#launch"]})
    return herald.api_tokens.create_for_email(team.admin.email, name="fuzz")[1]


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path, takes input) of every documented operation; the schema needs no database."""
    spec = create_app().openapi()
    return [(method, path, bool(op.get("parameters") or op.get("requestBody")))
            for path, item in spec["paths"].items() for method, op in item.items()]


def _run(strategy: Any, token: str, examples: int) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate(headers=bearer(token), checks=CHECKS)

    check()


@pytest.mark.parametrize(("method", "path", "takes_input"), _operations(),
                         ids=[f"{m.upper()} {p}" for m, p, _ in _operations()])
def test_every_operation_answers_within_its_documented_schema(
        herald: Herald, fuzz_token: str, method: str, path: str, takes_input: bool) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(herald, rate_limit=None))
    operation = schema[path][method]
    for example in schema.get_strategies_from_examples(operation):
        _run(example, fuzz_token, 1)
    # Negative mode needs something to make invalid.
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if takes_input else (GenerationMode.POSITIVE,)
    for mode in modes:
        _run(operation.as_strategy(generation_mode=mode), fuzz_token, EXAMPLES_PER_OPERATION)
