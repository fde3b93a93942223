"""A thin async client for the WeChat Official Account HTTP API (wechatpy's client is synchronous).

Only what the bot sends: customer-service text, template messages, the
custom menu, and the stable access_token behind them. Errors come back as
`bot.outbox.errors` classes so the dispatcher decides retries in one place.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.ops import metrics
from bot.outbox.errors import (
    OutcomeUnknown,
    OutsideWindow,
    QuotaExceeded,
    RateLimited,
    Rejected,
    SendError,
    Transient,
    Unreachable,
    connect_failed,
)
from bot.outbox.tokens import StoredToken, TokenStore

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid / malformed / expired access_token
OUT_OF_WINDOW = frozenset({45015, 45047})  # outside 48 h / too many customer-service messages
UNREACHABLE = frozenset({43004, 40003, 43019})  # unsubscribed / bad openid / blacklisted us
QUOTA = 45009  # daily API quota reached
TOO_FAST = 45011  # API called too often
BUSY = -1  # "system busy, retry later"
# How long before its expiry a token is refreshed (in normal mode: WeChat may hand back the
# same still-valid token, which is then used until EXPIRY_GUARD before its end and asked
# for again at most every RETRY_SAME), and how long one refresh may hold the lock.
REFRESH_MARGIN = timedelta(minutes=5)
EXPIRY_GUARD = timedelta(seconds=30)
RETRY_SAME = timedelta(seconds=60)
LOCK_TTL_SECONDS = 15.0
LOCK_WAIT_SECONDS = 5.0


class WeChatApi:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base: str,
        app_id: str,
        app_secret: str,
        store: TokenStore,
        clock: Clock,
        timeout: float = 10.0,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.session = session
        self.base = base.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.store = store
        self.clock = clock
        # A separate connect timeout tells "never sent" apart from "sent, answer late".
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 5.0))
        self.lock_wait = lock_wait
        self.holder = f"wechat-token:{secrets.token_hex(6)}"
        self._cached: StoredToken | None = None
        self._refresh_lock = asyncio.Lock()
        self._next_try: Any = None  # no normal refresh before this (WeChat gave the same token back)
        self.forced_refreshes = 0

    # -- the messages ------------------------------------------------------
    async def send_text(self, openid: str, text: str) -> None:
        await self.call(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        url: str = "",
        client_msg_id: str | None = None,
    ) -> None:
        """`client_msg_id`: WeChat sends one message per openid and id (for 10 minutes), so a retry
        after a timed-out call cannot deliver it twice."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            payload["url"] = url
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id
        await self.call("/cgi-bin/message/template/send", payload)

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu)

    # -- plumbing ----------------------------------------------------------
    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the shared token; an invalid or expired token is refreshed once and the call repeated."""
        token = await self.token()
        body = await self._post(path, payload, token)
        if body.get("errcode") in TOKEN_ERRORS:
            log.info("wechat said the access_token is invalid (%s); refreshing once", body.get("errcode"))
            token = await self.refresh(bad_token=token, refused=True)
            body = await self._post(path, payload, token)
        raise_for_errcode(body)
        return body

    async def _post(self, path: str, payload: dict[str, Any], token: str | None) -> dict[str, Any]:
        params = {"access_token": token} if token else None
        try:
            async with self.session.post(
                f"{self.base}{path}", json=payload, params=params, timeout=self.timeout
            ) as resp:
                if resp.status == 429:
                    raise RateLimited("HTTP 429 from WeChat", float(resp.headers.get("Retry-After", "1")))
                if resp.status >= 500:
                    raise Transient(f"HTTP {resp.status} from WeChat")
                body = await resp.json(content_type=None)
        except SendError:
            raise
        except ValueError as exc:
            raise Transient(f"WeChat answered something that is not JSON: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            if connect_failed(exc) or token is None:
                raise Transient(f"WeChat unreachable: {type(exc).__name__}: {exc}") from exc
            raise OutcomeUnknown(f"no answer from WeChat in time: {type(exc).__name__}: {exc}") from exc
        if not isinstance(body, dict):
            raise Transient("WeChat answered something that is not a JSON object")
        return body

    async def token(self) -> str:
        """A valid token: from memory, else the shared store, else refreshed by one lock holder."""
        now = self.clock.now()
        if self._cached and self._cached.expires_at - REFRESH_MARGIN > now:
            return self._cached.token
        stored = await self.store.get()
        if stored and stored.expires_at - REFRESH_MARGIN > now:
            self._cached = stored
            return stored.token
        if self._next_try and now < self._next_try:
            # WeChat just gave this token back as still valid: use it rather than ask again.
            for known in (self._cached, stored):
                if known and known.expires_at - EXPIRY_GUARD > now:
                    return known.token
        return await self.refresh(bad_token=stored.token if stored else None, refused=False)

    async def refresh(self, *, bad_token: str | None, refused: bool = True) -> str:
        """Replace `bad_token` (near expiry, or `refused` by WeChat) unless another process already has."""
        async with self._refresh_lock:
            loop = asyncio.get_running_loop()
            give_up = loop.time() + self.lock_wait
            while True:
                stored = await self.store.get()
                now = self.clock.now()
                if stored and stored.token != bad_token and stored.expires_at - REFRESH_MARGIN > now:
                    self._cached = stored
                    return stored.token
                if await self.store.lock(self.holder, LOCK_TTL_SECONDS):
                    try:
                        # Read again under the lock: the previous holder may have just refreshed.
                        fresh = await self.store.get()
                        if fresh and fresh.token != bad_token and fresh.expires_at - REFRESH_MARGIN > now:
                            self._cached = fresh
                            return fresh.token
                        return await self._fetch_and_store(bad_token, refused)
                    finally:
                        await self.store.unlock(self.holder)
                if loop.time() > give_up:
                    raise Transient("another process is refreshing the WeChat access_token; gave up waiting")
                await asyncio.sleep(0.2)

    async def _fetch_and_store(self, bad_token: str | None, refused: bool) -> str:
        """Normal mode first; `force_refresh` only when WeChat refused the very token it hands back.

        A forced refresh invalidates the token every other process holds and
        WeChat allows few a day, so a near-expiry refresh that gets the same,
        still-valid token back keeps it (and asks again a minute later).
        """
        stored = await self._stable_token(force=False)
        now = self.clock.now()
        if stored.token == bad_token and (refused or stored.expires_at - EXPIRY_GUARD <= now):
            log.warning("wechat handed back the access_token it refused; forcing a new one")
            self.forced_refreshes += 1
            stored = await self._stable_token(force=True)
        self._next_try = now + RETRY_SAME if stored.token == bad_token else None
        await self.store.put(stored)
        self._cached = stored
        log.info("wechat access_token refreshed, valid until %s", stored.expires_at.isoformat())
        return stored.token

    async def _stable_token(self, *, force: bool) -> StoredToken:
        metrics.token_refresh("wechat", forced=force)
        body = await self._post(
            "/cgi-bin/stable_token",
            {
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.app_secret,
                "force_refresh": force,
            },
            None,
        )
        if body.get("errcode"):
            # Wrong app id or secret, an IP not on the whitelist: a configuration problem that
            # every message would hit, so the messages wait (and retry) rather than fail.
            log.error("wechat refused an access_token: %s %s", body.get("errcode"), body.get("errmsg", ""))
            raise Transient(
                f"no WeChat access_token: errcode {body.get('errcode')}: {body.get('errmsg', '')}"
            )
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise Transient("WeChat stable_token answer without access_token/expires_in")
        return StoredToken(token, self.clock.now() + timedelta(seconds=expires_in))


def raise_for_errcode(body: dict[str, Any]) -> None:
    code = body.get("errcode", 0)
    if not code:
        return
    message = f"WeChat errcode {code}: {body.get('errmsg', '')}".strip()
    if code in OUT_OF_WINDOW:
        raise OutsideWindow(message)
    if code in UNREACHABLE:
        raise Unreachable(message)
    if code == QUOTA:
        raise QuotaExceeded(message)
    if code == TOO_FAST:
        raise RateLimited(message, 60.0)
    if code == BUSY or code in TOKEN_ERRORS:
        raise Transient(message)
    raise Rejected(message)
