"""Admin commands: ``python -m core <command> ...``.

Each command prints what it did; the id of anything created is the last line (for
create-api-token, the token itself, shown only then), so scripts can capture it. Bad arguments give a clear message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from core.config import get_settings
from core.errors import HeraldError

if TYPE_CHECKING:
    from core.services.container import Herald

EXIT_USAGE = 2
EXIT_FAILURE = 1


def _herald() -> Herald:
    from core.services.container import Herald

    return Herald.create()


def cmd_migrate(args: argparse.Namespace) -> int:
    from core.db.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, args.revision)
    print(f"Database at {_redact(url)} is migrated to {args.revision}")
    return 0


def cmd_create_org(args: argparse.Namespace) -> int:
    herald = _herald()
    try:
        org = herald.orgs.create_org(args.name, args.timezone)
    finally:
        herald.close()
    print(f"Created org {org.name!r} (timezone {org.timezone})")
    print(org.org_id)
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    password = args.password
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise SystemExit(_usage("give --password or --password-stdin"))
    herald = _herald()
    try:
        user = herald.users.create_user(None, org_id=args.org, email=args.email, name=args.name,
                                        role=args.role, password=password)
    finally:
        herald.close()
    print(f"Created {user.role} {user.email} in org {user.org_id}")
    print(user.user_id)
    return 0


def cmd_connect_account(args: argparse.Namespace) -> int:
    expires_at = None
    if args.expires_at:
        try:
            expires_at = datetime.fromisoformat(args.expires_at.replace("Z", "+00:00"))
        except ValueError:
            return _usage(f"--expires-at {args.expires_at!r} is not an ISO 8601 time (e.g. 2027-01-31T00:00:00Z)")
        if expires_at.tzinfo is None:
            return _usage("--expires-at needs a timezone offset, e.g. 2027-01-31T00:00:00Z")
    herald = _herald()
    try:
        account = herald.accounts.connect(
            None, org_id=args.org, platform=args.platform, external_account_id=args.account_id,
            username=args.username, access_token=args.access_token, refresh_token=args.refresh_token,
            expires_at=expires_at)
    finally:
        herald.close()
    print(f"Connected {account.platform} account @{account.username} (token stored encrypted)")
    print(account.account_id)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from core.services.demo import DEMO_PASSWORD, seed_demo

    herald = _herald()
    try:
        summary = seed_demo(herald)
    finally:
        herald.close()
    if summary is None:
        print("The database already has data; the demo organisation is only seeded into an empty one.",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"Seeded the demo organisation: {summary.history_posts} published and "
          f"{summary.upcoming_posts} upcoming posts. Sign in as {', '.join(summary.users)} "
          f"with password {DEMO_PASSWORD!r}.")
    print(summary.org_id)
    return 0


def cmd_create_api_token(args: argparse.Namespace) -> int:
    if args.expires_days is not None and args.expires_days < 1:
        return _usage(f"--expires-days must be a whole number of days, 1 or more (got {args.expires_days})")
    herald = _herald()
    try:
        token, plain = herald.api_tokens.create_for_email(args.email, name=args.name,
                                                          expires_days=args.expires_days)
    finally:
        herald.close()
    expiry = f"expires {token.expires_at.isoformat()}" if token.expires_at else "does not expire"
    print(f"Created API token {token.name!r} for {token.user_email} ({expiry}).")
    print("Copy it now: it is shown only once and cannot be recovered (only its hash is stored).")
    print(plain)
    return 0


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Herald admin commands")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="create or upgrade the database schema (alembic upgrade)")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-org", help="create an organisation; prints its id last")
    p.add_argument("--name", required=True)
    p.add_argument("--timezone", required=True, help="IANA name, e.g. Europe/London")
    p.set_defaults(func=cmd_create_org)

    p = sub.add_parser("create-user", help="create a user in an org; prints its id last")
    p.add_argument("--org", required=True, help="org id")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=["admin", "manager", "editor", "viewer"])
    group = p.add_mutually_exclusive_group()
    group.add_argument("--password")
    group.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("connect-account", help="store a social account's tokens; prints its id last")
    p.add_argument("--org", required=True, help="org id")
    p.add_argument("--platform", required=True, help="facebook, instagram, twitter (x), linkedin, tiktok, youtube, snapchat")
    p.add_argument("--account-id", required=True, help="the account's id on the network")
    p.add_argument("--username", required=True)
    p.add_argument("--access-token", required=True)
    p.add_argument("--refresh-token")
    p.add_argument("--expires-at", help="ISO 8601 with offset, e.g. 2027-01-31T00:00:00Z")
    p.set_defaults(func=cmd_connect_account)

    p = sub.add_parser("create-api-token", help="create an API token for a user; prints the token last, once")
    p.add_argument("--email", required=True, help="the user the token acts as")
    p.add_argument("--name", default="command line", help="what the token is for")
    p.add_argument("--expires-days", type=int, help="days until it expires (default: never)")
    p.set_defaults(func=cmd_create_api_token)

    p = sub.add_parser("seed-demo", help="seed the demo organisation into an empty database")
    p.set_defaults(func=cmd_seed_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HeraldError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            print(f"  - {detail.get('field', '')}: {detail.get('message', detail)}", file=sys.stderr)
        return EXIT_USAGE
    except OperationalError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"error: cannot reach the database at {_redact(get_settings().database_url)}: {reason}",
              file=sys.stderr)
        print("Check HERALD_DATABASE_URL and that the server is running.", file=sys.stderr)
        return EXIT_FAILURE
    except RuntimeError as exc:  # missing secret key, database role not created yet, ...
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
