"""`python -m bot staff create|list|revoke|rotate`: staff accounts from the server's shell.

Accounts are made here rather than through the API so that no web request can
mint a token; the token is printed once and only its hash is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.auth import ROLES
from bot.settings import Settings
from bot.staff.accounts import (
    AccountError,
    Issued,
    create_account,
    list_accounts,
    revoke_account,
    rotate_token,
)
from models.db import Database

T = TypeVar("T")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            async with db.session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _attempt(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T | None:
    """An account change; None (after saying why on stderr) when the account rules refuse it."""
    try:
        return _run(settings, work)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _print_issued(issued: Issued, verb: str) -> None:
    acc = issued.account
    print(
        f"{verb} staff account {acc.id}: {acc.name} ({acc.role}, region {acc.region_code}"
        + (f", institution {acc.institution_id}" if acc.institution_id else "")
        + ")"
    )
    print("token (shown only this once; store it safely):")
    print(issued.token)


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    issued = _attempt(
        settings,
        lambda db: create_account(
            db,
            name=args.name,
            role=args.role,
            region_code=args.region,
            institution_ref=args.institution,
            actor=_actor(),
        ),
    )
    if issued is None:
        return 2
    _print_issued(issued, "created")
    return 0


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> int:
    issued = _attempt(settings, lambda db: rotate_token(db, args.id, actor=_actor()))
    if issued is None:
        return 2
    _print_issued(issued, "new token for")
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    account = _attempt(settings, lambda db: revoke_account(db, args.id, actor=_actor()))
    if account is None:
        return 2
    print(f"revoked staff account {account.id} ({account.name}); its token no longer works")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    accounts = _run(settings, lambda db: list_accounts(db, include_revoked=args.all))
    print(f"{'id':>4}  {'role':<20} {'region':<7} {'inst':>5}  {'status':<8} name")
    for a in accounts:
        status = "revoked" if a.revoked_at else "active"
        inst = str(a.institution_id) if a.institution_id else "-"
        print(f"{a.id:>4}  {a.role:<20} {a.region_code:<7} {inst:>5}  {status:<8} {a.name}")
    if not accounts:
        print("(no accounts)")
    return 0


def add_commands(subparsers: Any) -> None:
    staff = subparsers.add_parser("staff", help="create, list, revoke staff accounts and their tokens")
    sub = staff.add_subparsers(dest="staff_command", required=True)

    p = sub.add_parser("create", help="create an account and print its token once")
    p.add_argument("--name", required=True, help="the person's name, as shown in the audit log")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--region", help="GB/T 2260 code: 220000 province, 220100 city, 220102 county")
    p.add_argument("--institution", help="institution code or id (institution operators only)")
    p.set_defaults(func=cmd_create)

    p = sub.add_parser("list", help="list accounts (never their tokens)")
    p.add_argument("--all", action="store_true", help="include revoked accounts")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("revoke", help="revoke an account; its token stops working at once")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("rotate", help="replace an account's token (the old one stops working)")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_rotate)
