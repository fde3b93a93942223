"""The WeChat access_token, shared by every process.

WeChat invalidates a token when a new one is fetched the ordinary way, so
processes that each fetch their own keep breaking each other. Here the token
lives in one place (the database, or Redis when `REDIS_URL` is set), and only
the holder of a short lock refreshes it - through the stable-token endpoint,
which does not invalidate a still-valid token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import Clock
from bot.outbox.leases import acquire_lease, release_lease
from models import AccessToken
from models.db import Database


@dataclass(frozen=True)
class StoredToken:
    token: str
    expires_at: datetime


class TokenStore(Protocol):
    async def get(self) -> StoredToken | None: ...

    async def put(self, token: StoredToken) -> None: ...

    async def lock(self, holder: str, ttl_seconds: float) -> bool: ...

    async def unlock(self, holder: str) -> None: ...


class DbTokenStore:
    """Token and lock in the shared database (`access_tokens`, `leases`)."""

    def __init__(self, db: Database, clock: Clock, name: str) -> None:
        self.db = db
        self.clock = clock
        self.name = name

    async def get(self) -> StoredToken | None:
        async with self.db.session() as s:
            row = await s.get(AccessToken, self.name)
            if row is None or not row.token or row.expires_at is None:
                return None
            return StoredToken(row.token, row.expires_at)

    async def put(self, token: StoredToken) -> None:
        now = self.clock.now()
        async with self.db.session() as s:
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = insert(AccessToken).values(
                name=self.name, token=token.token, expires_at=token.expires_at, refreshed_at=now
            )
            await s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"token": token.token, "expires_at": token.expires_at, "refreshed_at": now},
                )
            )

    async def lock(self, holder: str, ttl_seconds: float) -> bool:
        return await acquire_lease(self.db, self.clock, f"token:{self.name}", holder, ttl_seconds)

    async def unlock(self, holder: str) -> None:
        await release_lease(self.db, f"token:{self.name}", holder)


class RedisTokenStore:
    """Token and lock in Redis, for deployments that already share one."""

    UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, redis: Any, name: str) -> None:
        self.redis = redis
        self.key = f"trainee-bot:token:{name}"
        self.lock_key = f"trainee-bot:lock:token:{name}"

    async def get(self) -> StoredToken | None:
        data = await self.redis.hgetall(self.key)
        if not data:
            return None
        token = _text(data.get(b"token") or data.get("token"))
        expires = _text(data.get(b"expires_at") or data.get("expires_at"))
        if not token or not expires:
            return None
        return StoredToken(token, datetime.fromisoformat(expires))

    async def put(self, token: StoredToken) -> None:
        await self.redis.hset(
            self.key, mapping={"token": token.token, "expires_at": token.expires_at.isoformat()}
        )

    async def lock(self, holder: str, ttl_seconds: float) -> bool:
        return bool(await self.redis.set(self.lock_key, holder, nx=True, px=int(ttl_seconds * 1000)))

    async def unlock(self, holder: str) -> None:
        await self.redis.eval(self.UNLOCK, 1, self.lock_key, holder)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value) if value is not None else ""
