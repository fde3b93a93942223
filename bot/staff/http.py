"""The request side shared by the staff API and the console: who calls, scope errors, paging.

Every staff endpoint and console page starts the same way: find the live
principal behind the request (a bearer token for the API, the signed cookie
for the console), then look records up through the scoped queries, where a
record outside the scope is a 403 and an unknown one a 404. `staff_api` is
that preamble for the API; the console's `console_page` builds the same
`Staff` from its cookie, so both answer an out-of-scope record alike.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from bot.auth import Principal, authenticate, forbidden
from bot.errors import ApiError
from bot.services import Services
from bot.staff.scope import OutOfScope

MAX_PAGE = 500
MAX_OFFSET = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class Staff:
    """A signed-in staff caller and the services its request reaches."""

    request: web.Request
    principal: Principal

    @property
    def services(self) -> Services:
        services: Services = self.request.app["services"]
        return services

    async def scoped(self, query: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """One scoped read in a session of its own: `query(db, principal, *args, **kwargs)`."""
        async with self.services.db.session() as db:
            return await query(db, self.principal, *args, **kwargs)

    def out_of_scope(self) -> ApiError:
        """The 403 for a record that exists but lies outside the caller's scope."""
        return forbidden(self.services.texts.get("console.errors.out_of_scope"))


StaffHandler = Callable[[web.Request, Staff], Awaitable[web.StreamResponse]]


def staff_api(handler: StaffHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A staff API endpoint: 401 without a live bearer token, 403 for an out-of-scope record."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        staff = Staff(request, await authenticate(request))
        try:
            return await handler(request, staff)
        except OutOfScope:
            raise staff.out_of_scope() from None

    return wrapped


def found(record: T | None, missing: Exception) -> T:
    """The record a scoped lookup returned, or `missing` (the 404 of that endpoint or page)."""
    if record is None:
        raise missing
    return record


def iso_time(value: datetime | None, tz: Any) -> str | None:
    """A moment in the service's time zone, as the staff API's JSON shows every time stamp."""
    return value.astimezone(tz).isoformat() if value is not None else None


def paging(request: web.Request, default_limit: int = 50) -> tuple[int, int]:
    """`limit` and `offset` from the query string; 400 when they are not sensible numbers."""
    texts = request.app["services"].texts
    try:
        limit = int(request.query.get("limit", default_limit))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        raise ApiError(
            400, "invalid_paging", texts.get("console.errors.invalid_paging", n=MAX_PAGE)
        ) from None
    if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise ApiError(400, "invalid_paging", texts.get("console.errors.invalid_paging", n=MAX_PAGE))
    return limit, offset


def choice(request: web.Request, name: str, allowed: tuple[str, ...], code: str, key: str) -> str | None:
    """An optional query parameter that must be one of `allowed`."""
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ApiError(400, code, request.app["services"].texts.get(f"console.errors.{key}"))
    return value
