"""The platform clients built from the settings: one recipe for the dispatcher and the setup commands.

The WeChat token is shared by every process (see `bot.outbox.tokens`), so
whoever talks to WeChat - the dispatcher or `python -m bot wechat-menu` -
must reach it through the same store under the same name.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.clock import Clock
from bot.outbox.telegram_api import TelegramApi
from bot.outbox.tokens import DbTokenStore, RedisTokenStore, TokenStore
from bot.outbox.wechat_api import WeChatApi
from bot.settings import Settings
from models.db import Database


def open_redis(settings: Settings) -> Any:
    """A Redis client when `REDIS_URL` is set (the caller closes it), else None."""
    if not settings.redis_url:
        return None
    import redis.asyncio as redis

    return redis.from_url(settings.redis_url)


def wechat_token_store(settings: Settings, db: Database, clock: Clock, redis: Any) -> TokenStore:
    name = f"wechat:{settings.wechat_app_id}"
    if redis is not None:
        return RedisTokenStore(redis, name)
    return DbTokenStore(db, clock, name)


def wechat_api(
    session: aiohttp.ClientSession, settings: Settings, store: TokenStore, clock: Clock, timeout: float
) -> WeChatApi:
    return WeChatApi(
        session,
        base=settings.wechat_api_base,
        app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret,
        store=store,
        clock=clock,
        timeout=timeout,
    )


def telegram_api(session: aiohttp.ClientSession, settings: Settings, timeout: float) -> TelegramApi:
    return TelegramApi(
        session, base=settings.telegram_api_base, token=settings.telegram_bot_token, timeout=timeout
    )
