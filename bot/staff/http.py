"""Small request helpers shared by the staff API modules."""

from __future__ import annotations

from aiohttp import web

from bot.errors import ApiError

MAX_PAGE = 500
MAX_OFFSET = 1_000_000


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
