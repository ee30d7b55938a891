"""The dashboard entry point starts on the embedded default: migrates, seeds the demo org,
starts the embedded scheduler (which then publishes a due post), and renders without an
exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.services.demo import DEMO_PASSWORD
from tests.daemon.harness import wait_until

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("HERALD_SANDBOX_URL", "HERALD_SECRET_KEY", "HERALD_DEMO", "HERALD_EMBEDDED_SCHEDULER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HERALD_DATABASE_URL", f"sqlite:///{tmp_path / 'herald.db'}")
    monkeypatch.setenv("HERALD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HERALD_PLATFORM_MODE", "sandbox")
    get_settings.cache_clear()
    # Another app test in this process may have left its container cached: this test must
    # build the one the embedded default makes.
    from scheduler_daemon import stop_embedded
    from ui.context import herald_app

    stop_embedded()
    herald_app.clear()
    yield tmp_path
    get_settings.cache_clear()


def test_app_starts_on_the_embedded_default(embedded_env: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["Email", "Password"]  # the sign-in page
    assert "admin@demo.herald" in at.table[0].value.to_string()  # demo org seeded
    assert (embedded_env / "secret.key").exists() and (embedded_env / "secret.key").stat().st_mode & 0o777 == 0o600
    from scheduler_daemon import stop_embedded
    from ui.context import herald_app

    # The scheduler the app started publishes, with no second command: a post due in two
    # seconds, scheduled through the app's own container, goes out to the sandbox network.
    herald = herald_app()
    wait_until(lambda: any(h.alive for h in herald.ops.heartbeats()), timeout=30, what="the embedded worker")
    editor = herald.users.authenticate("editor@demo.herald", DEMO_PASSWORD)
    manager = herald.users.authenticate("manager@demo.herald", DEMO_PASSWORD)
    post = herald.scheduling.schedule_post(editor, {
        "content": "Out from the embedded default", "platforms": ["twitter"],
        "scheduled_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()}, force=True).post
    herald.approvals.approve(manager, post.post_id)  # the demo org asks for approval
    wait_until(lambda: herald.scheduling.get_post(editor, post.post_id).status == "published", timeout=60,
               what="the embedded scheduler to publish the post")
    # Stop the embedded worker this test started, so it does not outlive the test.
    stop_embedded()
    herald_app.clear()  # the next app test in this process must build its own container
