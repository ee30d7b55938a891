"""One transient fault at any step of a publish never leads to a second post.

For every network and post type, the publish is run once per step with a fault injected on
exactly that network call (the k-th), for each kind of transient trouble. Whatever the
connector then reports must be safe for the publishing engine to act on:

- a result: the network holds exactly one post;
- a retryable or auth error: the network holds no post (the engine will publish again, after
  a refresh for an auth error);
- an unknown outcome: at most one post, and ``find_existing`` finds it when there is one (the
  engine reconciles instead of publishing again).

This is the property whose absence produced duplicates in the queue benchmark (a 429 on
Instagram's permalink read after the media was already live was retried)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.errors import AuthPlatformError, PlatformError, RetryablePlatformError, UnknownOutcome
from core.platforms import AccountCredentials, Connector
from core.platforms.sandbox import Sandbox
from tests.platforms.contract import CASES, NetworkCase

POST_TYPE_CASES = [(case, post_type) for case in CASES for post_type in case.post_types]
TRANSIENT_FAULTS = [("server_error", {}), ("rate_limit", {"reset_in": 30}), ("timeout", {}),
                    ("token_expired", {})]
MAX_STEPS = 60  # far more network calls than any publish flow makes


@pytest.mark.parametrize(("case", "post_type"), POST_TYPE_CASES,
                         ids=[f"{c.platform}-{t}" for c, t in POST_TYPE_CASES], indirect=["case"])
@pytest.mark.parametrize(("fault", "params"), TRANSIENT_FAULTS, ids=[f for f, _ in TRANSIENT_FAULTS])
def test_a_transient_fault_at_any_step_never_makes_a_retry_publish_twice(
    case: NetworkCase, post_type: str, fault: str, params: dict[str, float],
    connector: Connector, account: AccountCredentials, sandbox: Sandbox, clock: FixedClock,
) -> None:
    outcomes: list[str] = []
    for step in range(MAX_STEPS):
        before = len(sandbox.posts(case.platform))
        sandbox.inject(case.platform, fault, on="any", skip=step, **params)
        request = case.request(post_type)
        try:
            connector.publish(request, account)
            error: PlatformError | None = None
        except PlatformError as exc:
            error = exc
        fault_was_hit = not sandbox.pending_faults()
        sandbox.clear_faults()
        created = len(sandbox.posts(case.platform)) - before
        where = f"{fault} at call {step} of a {case.platform} {post_type}"

        if error is None:
            assert created == 1, f"{where}: published, but the network holds {created} posts"
        elif isinstance(error, UnknownOutcome):
            assert created <= 1, where
            clock.advance(timedelta(minutes=2))
            found = connector.find_existing(request, account)
            assert (found is not None) == (created == 1), (
                f"{where}: unknown outcome, {created} post(s) made, find_existing gave {found}")
        elif isinstance(error, RetryablePlatformError | AuthPlatformError):
            assert created == 0, (f"{where}: said 'retry' ({error}) although the post is live; "
                                  "a retry would publish it twice")
        else:
            pytest.fail(f"{where}: a transient fault became {type(error).__name__}: {error}")
        outcomes.append("ok" if error is None else type(error).__name__)
        if not fault_was_hit:  # the publish made fewer than step + 1 calls: every step is covered
            break
        clock.advance(timedelta(minutes=1))  # past the injected reset, and a fresh rate window
    else:
        pytest.fail(f"a {case.platform} {post_type} made more than {MAX_STEPS} calls")
    assert len(outcomes) > 1  # at least one step really was faulted
