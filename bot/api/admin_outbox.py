"""Staff API of dead letters: messages the outbox gave up on, and putting them back in line."""

from __future__ import annotations

from aiohttp import web

from bot.errors import ApiError
from bot.http import read_json
from bot.staff import queries
from bot.staff.http import Staff, iso_time, paging, staff_api

routes = web.RouteTableDef()

MAX_REQUEUE = 500


@routes.get("/api/v1/admin/outbox/dead")
@staff_api
async def dead(request: web.Request, staff: Staff) -> web.StreamResponse:
    limit, offset = paging(request)
    services = staff.services
    tz = services.clock.tz
    total, rows = await staff.scoped(queries.dead_letters, limit=limit, offset=offset)
    items = [
        {
            "id": r["message"].id,
            "kind": r["message"].kind,
            "channel": r["channel"],
            "recipient": r["recipient"],
            "attempts": r["message"].attempts,
            "last_error": r["message"].last_error,
            "created_at": iso_time(r["message"].created_at, tz),
            "broadcast_id": r["message"].broadcast_id,
        }
        for r in rows
    ]
    return web.json_response({"total": total, "messages": items})


@routes.post("/api/v1/admin/outbox/requeue")
@staff_api
async def requeue(request: web.Request, staff: Staff) -> web.StreamResponse:
    services = staff.services
    body = await read_json(request)
    ids = body.get("ids")
    if (
        not isinstance(ids, list)
        or not 0 < len(ids) <= MAX_REQUEUE
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids)
    ):
        raise ApiError(400, "invalid_ids", services.texts.get("console.errors.invalid_ids"))
    done = await staff.scoped(queries.requeue_dead, ids, services.clock.now(), services.texts)
    return web.json_response({"requeued": done})
