"""Staff API: the chat accounts bound to a trainee, and unbinding one (issue 12).

A trainee told "your identity was just bound on another account" calls the
institution or the bureau; this is where staff see which chats hold the
identity and take it back from the one that should not. Out-of-scope and
unknown trainees answer the same 404, so the answer says nothing about
records the caller may not see. Every unbinding is audited.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.audit import audit
from bot.errors import ApiError
from bot.staff.http import Staff, iso_time, staff_api
from bot.staff.scope import trainee_scope
from models import ChatUser, Trainee

routes = web.RouteTableDef()
MAX_ID = 2**31 - 1


def _id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or not 0 < int(raw[:12]) <= MAX_ID:
        raise ApiError(404, "not_found", "没有这条记录")
    return int(raw)


def mask_external_id(external_id: str) -> str:
    """Enough to tell two chats apart on the phone with the trainee, not enough to message them."""
    if len(external_id) <= 6:
        return external_id[:1] + "*" * max(1, len(external_id) - 1)
    return external_id[:3] + "*" * (len(external_id) - 6) + external_id[-3:]


def chat_json(user: ChatUser, tz: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "channel": user.channel,
        "external_id_masked": mask_external_id(user.external_id),
        "display_name": user.display_name,
        "bound_at": iso_time(user.bound_at, tz),
        "last_inbound_at": iso_time(user.last_inbound_at, tz),
    }


async def _trainee(db: Any, staff: Staff, trainee_id: int) -> Trainee:
    trainee = (
        await db.execute(select(Trainee).where(Trainee.id == trainee_id, trainee_scope(staff.principal)))
    ).scalar_one_or_none()
    if trainee is None:
        raise ApiError(404, "trainee_not_found", "没有这个学员")
    return trainee  # type: ignore[no-any-return]


async def bound_chats(db: Any, trainee_id: int) -> list[ChatUser]:
    query = select(ChatUser).where(ChatUser.trainee_id == trainee_id).order_by(ChatUser.bound_at, ChatUser.id)
    return list((await db.execute(query)).scalars())


@routes.get("/api/v1/admin/trainees/{id}/chats")
@staff_api
async def list_chats(request: web.Request, staff: Staff) -> web.StreamResponse:
    """The chats holding this trainee's identity, oldest binding first."""
    trainee_id = _id(request, "id")
    services = staff.services
    async with services.db.session() as db:
        await _trainee(db, staff, trainee_id)
        chats = await bound_chats(db, trainee_id)
    tz = services.settings.tz
    return web.json_response({"trainee_id": trainee_id, "chats": [chat_json(c, tz) for c in chats]})


@routes.delete("/api/v1/admin/trainees/{id}/chats/{chat_id}")
@staff_api
async def unbind_chat(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Take the identity back from one chat; audited with the staff member as actor."""
    trainee_id, chat_id = _id(request, "id"), _id(request, "chat_id")
    services = staff.services
    async with services.db.session() as db:
        await _trainee(db, staff, trainee_id)
        user = await db.get(ChatUser, chat_id, with_for_update=True)
        if user is None or user.trainee_id != trainee_id:
            raise ApiError(404, "chat_not_found", "这个聊天账号没有绑定这个学员")
        await unbind_trainee_chat(db, user, staff.principal.actor)
    return web.json_response({"unbound": True, "chat_id": chat_id, "trainee_id": trainee_id})


async def unbind_trainee_chat(db: Any, user: ChatUser, actor: str) -> None:
    """Shared by the API and the console."""
    trainee_id = user.trainee_id
    user.trainee_id = None
    user.bound_at = None
    await audit(db, actor, "unbind_trainee", "trainee", trainee_id, chat_user=user.id, by="staff")
