"""WeChat callbacks that cannot be replayed: a timestamp window and a remembered nonce.

In plaintext mode the signature covers token, timestamp and nonce - not the
body. A callback URL seen once (in a proxy log) would otherwise be good
forever, for any body and any openid. So a timestamp further from now than
the window is refused, and every (timestamp, nonce) is remembered for that
window together with the body it came with, in the database so every process
shares it: WeChat's own retry (same URL, same body) is let through to the
inbox's dedupe, a forged body on a used URL is refused. Wall-clock time is
the reference here (WeChat's clock), not the service clock.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.errors import ApiError
from bot.services import Services
from models import ChatUser, WeChatNonce


def check_timestamp(raw: str, window_seconds: int, now: float | None = None) -> None:
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError(403, "invalid_timestamp", "时间戳无效")
    if abs((now if now is not None else time.time()) - int(raw)) > window_seconds:
        raise ApiError(403, "stale_request", "请求已过期(时间戳超出允许范围)")


async def check_once(services: Services, timestamp: str, nonce: str, body: bytes) -> None:
    """Refuse a used (timestamp, nonce) with a different body; remember a new one."""
    if not nonce or len(nonce) > 64 or not nonce.isprintable():
        raise ApiError(403, "invalid_nonce", "nonce 无效")
    key = f"{timestamp}:{nonce}"
    digest = hashlib.sha256(body).hexdigest()
    window = services.settings.wechat_timestamp_window_seconds
    now = services.clock.now()
    async with services.db.session() as db:
        insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
        await db.execute(
            insert(WeChatNonce)
            .values(nonce=key, body_sha256=digest, seen_at=now)
            .on_conflict_do_nothing(index_elements=["nonce"])
        )
        seen = (
            await db.execute(select(WeChatNonce.body_sha256).where(WeChatNonce.nonce == key))
        ).scalar_one()
        # Forget what is outside the window (twice over, so clock steps do not reopen a URL).
        await db.execute(
            delete(WeChatNonce)
            .where(WeChatNonce.seen_at < now - timedelta(seconds=2 * window))
            .execution_options(synchronize_session=False)
        )
    if seen != digest:
        raise ApiError(403, "replayed_request", "这个签名已经用过了")


async def is_bound(services: Services, chat_user_id: int) -> bool:
    async with services.db.session() as db:
        user = await db.get(ChatUser, chat_user_id)
        return user is not None and (user.trainee_id is not None or user.institution_id is not None)
