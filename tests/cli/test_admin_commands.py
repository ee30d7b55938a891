"""`python -m core ...`: migrate, create-org, create-user, with clear errors and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"HERALD_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_create_org_and_users_print_their_ids_last(database_url: str, herald) -> None:
    org = run(database_url, "create-org", "--name", "Globex", "--timezone", "Europe/Paris")
    assert org.returncode == 0, org.stderr
    org_id = org.stdout.strip().splitlines()[-1]
    assert herald.orgs.get_org  # same database the herald fixture uses
    user = run(database_url, "create-user", "--org", org_id, "--email", "boss@globex.test",
               "--name", "Boss", "--role", "admin", "--password", "a long password")
    assert user.returncode == 0, user.stderr
    user_id = user.stdout.strip().splitlines()[-1]
    from_stdin = run(database_url, "create-user", "--org", org_id, "--email", "ed@globex.test",
                     "--name", "Ed", "--role", "editor", "--password-stdin", stdin="piped password\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    actor = herald.users.authenticate("ed@globex.test", "piped password")
    assert str(actor.org_id) == org_id and actor.role == "editor"
    assert str(herald.users.authenticate("boss@globex.test", "a long password").user_id) == user_id


def test_bad_arguments_give_a_clear_error_and_a_nonzero_exit(database_url: str) -> None:
    bad_tz = run(database_url, "create-org", "--name", "X", "--timezone", "Moon/Base")
    assert bad_tz.returncode == 2 and "not an IANA timezone" in bad_tz.stderr
    missing = run(database_url, "create-org", "--name", "X")
    assert missing.returncode == 2 and "--timezone" in missing.stderr
    no_org = run(database_url, "create-user", "--org", "00000000-0000-0000-0000-000000000000",
                 "--email", "a@b.test", "--name", "A", "--role", "viewer", "--password", "long enough")
    assert no_org.returncode == 2 and "not found" in no_org.stderr
    bad_role = run(database_url, "create-user", "--org", "x", "--email", "a@b.test", "--name", "A",
                   "--role", "king", "--password", "long enough")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    no_password = run(database_url, "create-user", "--org", "x", "--email", "a@b.test", "--name", "A",
                      "--role", "viewer")
    assert no_password.returncode == 2 and "password" in no_password.stderr


def test_unreachable_database_is_reported_plainly(tmp_path: Path) -> None:
    down = run("postgresql+psycopg://nobody@127.0.0.1:1/none", "create-org", "--name", "X", "--timezone", "UTC")
    assert down.returncode == 1
    assert "cannot reach the database" in down.stderr and "Traceback" not in down.stderr
