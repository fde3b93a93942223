"""Who is calling the staff API or console, and what they may see.

The bootstrap `ADMIN_TOKEN` acts as a province administrator. Staff tokens
are stored as SHA-256 hashes only (a token is 256 random bits, so an unsalted
fast hash is enough and lets a lookup go through the unique index); a scope
is a region-code prefix (city 2201, county 220102) or one institution.
Revoking an account takes effect on the next request, also for console
sessions, because every request resolves the token hash afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import select

from bot.errors import ApiError
from models import StaffAccount

if TYPE_CHECKING:
    from bot.services import Services

PROVINCE_PREFIX = "22"  # 吉林省
TOKEN_PREFIX = "stf_"
ROLES = ("province_admin", "city_staff", "county_staff", "institution_operator")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh bearer token; the prefix lets secret scanners recognise a leaked one."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def region_prefix(region_code: str) -> str:
    """The significant prefix of a GB/T 2260 code: 220000 → 22, 220100 → 2201, 220102 → 220102."""
    code = region_code.rstrip()
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_level(region_code: str) -> str | None:
    """province / city / county for a six-digit code of this province, None for anything else."""
    if len(region_code) != 6 or not region_code.isdigit() or not region_code.startswith(PROVINCE_PREFIX):
        return None
    if region_code.endswith("0000"):
        return "province"
    if region_code.endswith("00"):
        return "city"
    return "county"


# The region level each role must be registered at (institution operators take their institution's).
ROLE_REGION_LEVEL = {"province_admin": "province", "city_staff": "city", "county_staff": "county"}


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

    @property
    def is_province(self) -> bool:
        return self.role == "province_admin"

    @property
    def is_operator(self) -> bool:
        return self.role == "institution_operator"

    @property
    def prefix(self) -> str:
        return region_prefix(self.region_code)

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

    def scope(self) -> dict[str, Any]:
        """The scope as stored on records a principal creates (a broadcast keeps its sender's)."""
        return {"role": self.role, "region_code": self.region_code, "institution_id": self.institution_id}

    def covers_scope(self, scope: dict[str, Any]) -> bool:
        """Whether another principal's scope lies inside this one (who may see whose broadcasts)."""
        if self.is_province:
            return True
        if scope.get("role") == "institution_operator":
            if self.is_operator:
                return scope.get("institution_id") == self.institution_id
            return self.covers_region(scope.get("region_code"))
        if self.is_operator:
            return False
        region = scope.get("region_code") or ""
        return region_prefix(region).startswith(self.prefix)

    def require(self, *roles: str) -> None:
        """403 unless the caller has one of these roles."""
        if self.role not in roles:
            raise ApiError(403, "forbidden", "您的账号没有这项操作的权限")


ADMIN = Principal(role="province_admin", region_code="220000")


def forbidden(message: str = "这条记录不在您的管辖范围内") -> ApiError:
    return ApiError(403, "forbidden", message)


async def principal_for_token_hash(services: Services, token_hash: str) -> Principal | None:
    """The live principal behind a token hash; None when unknown or revoked."""
    admin_token = services.settings.admin_token
    if admin_token and hmac.compare_digest(token_hash, hash_token(admin_token)):
        return ADMIN
    async with services.db.session() as db:
        account = (
            await db.execute(select(StaffAccount).where(StaffAccount.token_hash == token_hash))
        ).scalar_one_or_none()
    if account is None or account.revoked_at is not None:
        return None
    return Principal(
        role=account.role,
        region_code=account.region_code,
        staff_id=account.id,
        institution_id=account.institution_id,
        name=account.name,
    )


async def principal_for_token(services: Services, token: str) -> Principal | None:
    if not token:
        return None
    return await principal_for_token_hash(services, hash_token(token))


async def authenticate(request: web.Request) -> Principal:
    """The caller of a staff endpoint; 401 when the bearer token is missing or unknown."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "缺少或无效的访问令牌 (Authorization: Bearer <token>)")
    principal = await principal_for_token(request.app["services"], token)
    if principal is None:
        raise ApiError(401, "unauthorized", "访问令牌无效或已被撤销")
    return principal
