"""Creating, listing and revoking staff accounts (used by the CLI; every change is audited).

A token is shown once, when created or rotated; only its hash is stored, so a
lost token is replaced by rotating, never recovered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.auth import ROLE_REGION_LEVEL, ROLES, hash_token, new_token, region_level
from models import Institution, StaffAccount, utcnow

MAX_NAME = 100


class AccountError(ValueError):
    """A request the operator must correct; the message says how."""


@dataclass(frozen=True)
class Issued:
    account: StaffAccount
    token: str


async def find_institution(db: AsyncSession, ref: str) -> Institution:
    """An institution by its code (JL-CC-001) or numeric id."""
    query = select(Institution).where(Institution.code == ref)
    if ref.isdigit():
        query = select(Institution).where((Institution.code == ref) | (Institution.id == int(ref)))
    inst = (await db.execute(query)).scalars().first()
    if inst is None:
        raise AccountError(f"no institution with code or id {ref!r}")
    return inst


async def create_account(
    db: AsyncSession,
    *,
    name: str,
    role: str,
    region_code: str | None,
    institution_ref: str | None,
    actor: str,
) -> Issued:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise AccountError(f"name must be 1-{MAX_NAME} characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    institution_id: int | None = None
    if role == "institution_operator":
        if not institution_ref:
            raise AccountError("an institution operator needs --institution (code or id)")
        inst = await find_institution(db, institution_ref)
        if region_code and region_code != inst.region_code:
            raise AccountError(f"the institution is in region {inst.region_code}, not {region_code}")
        region_code, institution_id = inst.region_code, inst.id
    else:
        if institution_ref:
            raise AccountError("--institution is only for institution operators")
        if role == "province_admin" and not region_code:
            region_code = "220000"
        if not region_code:
            raise AccountError("--region is required (a six-digit GB/T 2260 code of Jilin, e.g. 220100)")
        level = region_level(region_code)
        if level is None:
            raise AccountError(f"{region_code!r} is not a region code of Jilin (22xxxx)")
        if level != ROLE_REGION_LEVEL[role]:
            raise AccountError(
                f"a {role} needs a {ROLE_REGION_LEVEL[role]}-level code; {region_code} is {level}"
            )
    token = new_token()
    account = StaffAccount(
        name=name,
        role=role,
        region_code=region_code,
        institution_id=institution_id,
        token_hash=hash_token(token),
        created_at=utcnow(),
    )
    db.add(account)
    await db.flush()
    await audit(
        db, actor, "staff_create", "staff_account", account.id,
        role=role, region_code=region_code, institution_id=institution_id, name=name,
    )  # fmt: skip
    return Issued(account, token)


async def get_account(db: AsyncSession, account_id: int) -> StaffAccount:
    account = await db.get(StaffAccount, account_id, with_for_update=True)
    if account is None:
        raise AccountError(f"no staff account with id {account_id}")
    return account


async def revoke_account(db: AsyncSession, account_id: int, *, actor: str) -> StaffAccount:
    account = await get_account(db, account_id)
    if account.revoked_at is not None:
        raise AccountError(f"account {account_id} was already revoked")
    account.revoked_at = utcnow()
    await audit(db, actor, "staff_revoke", "staff_account", account.id)
    return account


async def rotate_token(db: AsyncSession, account_id: int, *, actor: str) -> Issued:
    account = await get_account(db, account_id)
    if account.revoked_at is not None:
        raise AccountError(f"account {account_id} is revoked; create a new one")
    token = new_token()
    account.token_hash = hash_token(token)
    await audit(db, actor, "staff_rotate_token", "staff_account", account.id)
    return Issued(account, token)


async def list_accounts(db: AsyncSession, *, include_revoked: bool = False) -> list[StaffAccount]:
    query = select(StaffAccount).order_by(StaffAccount.id)
    if not include_revoked:
        query = query.where(StaffAccount.revoked_at.is_(None))
    return list((await db.execute(query)).scalars())
