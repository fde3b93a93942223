"""Who is calling the staff API, and what they may see.

The bootstrap `ADMIN_TOKEN` acts as a province administrator. Staff tokens
are stored as SHA-256 hashes only; a scope is a region-code prefix (city
2201, county 220102) or one institution.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from bot.errors import ApiError
from models import StaffAccount

PROVINCE_PREFIX = "22"  # 吉林省


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def region_prefix(region_code: str) -> str:
    """The significant prefix of a GB/T 2260 code: 220000 → 22, 220100 → 2201, 220102 → 220102."""
    code = region_code.rstrip()
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


@dataclass(frozen=True)
class Principal:
    role: str
    region_code: str
    staff_id: int | None = None
    institution_id: int | None = None
    name: str = "admin"

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}" if self.staff_id is not None else "admin_token"

    def covers_region(self, region_code: str | None) -> bool:
        if self.role == "province_admin":
            return True
        if self.role == "institution_operator" or not region_code:
            return False
        return region_code.startswith(region_prefix(self.region_code))

    def covers(self, *, region_code: str | None, institution_id: int | None) -> bool:
        """Whether a record in this region / of this institution is within the caller's scope."""
        if self.role == "institution_operator":
            return institution_id is not None and institution_id == self.institution_id
        return self.covers_region(region_code)


ADMIN = Principal(role="province_admin", region_code="220000")


async def authenticate(request: web.Request) -> Principal:
    """The caller of a staff endpoint; 401 when the bearer token is missing or unknown."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "缺少或无效的访问令牌 (Authorization: Bearer <token>)")
    settings = request.app["settings"]
    if settings.admin_token and hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        return ADMIN
    services = request.app["services"]
    async with services.db.session() as db:
        account = (
            await db.execute(select(StaffAccount).where(StaffAccount.token_hash == hash_token(token)))
        ).scalar_one_or_none()
    if account is None or account.revoked_at is not None:
        raise ApiError(401, "unauthorized", "访问令牌无效或已被撤销")
    return Principal(
        role=account.role,
        region_code=account.region_code,
        staff_id=account.id,
        institution_id=account.institution_id,
        name=account.name,
    )
