"""A fake WeChat Official Account API (an aiohttp app) with WeChat's rules and error codes.

- `/cgi-bin/stable_token`: stable-token semantics - the same token while it
  is valid, a new one (invalidating the old) with `force_refresh`;
- `/cgi-bin/message/custom/send`: customer-service text, refused with 45015
  for users whose 48-hour window is closed (`close_window`), 43004 for
  unsubscribed users, 45009 when the daily quota is used up, 45011 when
  called faster than `per_second`;
- `/cgi-bin/message/template/send`, `/cgi-bin/menu/create`;
- every call checks the access_token: 40001 for an unknown or invalidated
  token (`invalidate_tokens`), 42001 for an expired one (`expire_tokens`).
Tests can also script errcodes and hangs (timeouts).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeWeChat:
    app_id: str = "wx-test-app"
    app_secret: str = "test-app-secret"
    expires_in: int = 7200
    per_second: int = 100
    daily_quota: int | None = None
    texts: list[tuple[str, str]] = field(default_factory=list)  # (openid, content)
    templates: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[bool] = field(default_factory=list)  # force_refresh of each stable_token call
    errors: list[int] = field(default_factory=list)  # errcodes answered
    closed_windows: set[str] = field(default_factory=set)
    unsubscribed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)
        self._valid: dict[str, str] = {}  # token -> "valid" | "expired"
        self._current: str | None = None
        self._scripted: deque[tuple[int, float]] = deque()
        self._window: deque[float] = deque()
        self._used = 0

    # -- scripting ------------------------------------------------------------
    def fail_next(self, errcode: int, *, times: int = 1) -> None:
        for _ in range(times):
            self._scripted.append((errcode, 0.0))

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        for _ in range(times):
            self._scripted.append((0, seconds))

    def invalidate_tokens(self) -> None:
        """As if the secret were reset elsewhere: every issued token is now unknown (40001)."""
        self._valid.clear()
        self._current = None

    def expire_tokens(self) -> None:
        """Every issued token has passed its expiry (42001)."""
        for token in self._valid:
            self._valid[token] = "expired"
        self._current = None

    def close_window(self, openid: str) -> None:
        self.closed_windows.add(openid)

    def to(self, openid: str) -> list[str]:
        return [content for who, content in self.texts if who == openid]

    # -- the API ----------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        return app

    def _err(self, errcode: int, errmsg: str) -> web.Response:
        self.errors.append(errcode)
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("grant_type") != "client_credential":
            return self._err(40002, "invalid grant_type")
        if body.get("appid") != self.app_id:
            return self._err(40013, "invalid appid")
        if body.get("secret") != self.app_secret:
            return self._err(40125, "invalid appsecret")
        force = bool(body.get("force_refresh"))
        self.token_requests.append(force)
        if force or self._current is None:
            if force:
                self._valid.clear()
            self._current = f"TOKEN-{next(self._counter)}"
            self._valid[self._current] = "valid"
        return web.json_response({"access_token": self._current, "expires_in": self.expires_in})

    async def _guard(self, request: web.Request) -> web.Response | None:
        """Token, scripted failures, pace and quota: what every business call goes through."""
        token = request.query.get("access_token", "")
        state = self._valid.get(token)
        if state is None:
            return self._err(40001, "invalid credential, access_token is invalid or not latest")
        if state == "expired":
            return self._err(42001, "access_token expired")
        if self._scripted:
            errcode, hang = self._scripted.popleft()
            if hang:
                await asyncio.sleep(hang)
            if errcode:
                return self._err(errcode, f"scripted error {errcode}")
        now = time.monotonic()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.per_second:
            return self._err(45011, "api minute-quota reach limit mustslower retry next minute")
        if self.daily_quota is not None and self._used >= self.daily_quota:
            return self._err(45009, "reach max api daily quota limit")
        self._window.append(now)
        self._used += 1
        return None

    async def _custom_send(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await request.json()
        openid = str(body.get("touser", ""))
        if body.get("msgtype") != "text" or not isinstance((body.get("text") or {}).get("content"), str):
            return self._err(40008, "invalid message type")
        content = body["text"]["content"]
        if len(content.encode()) > 2048:
            return self._err(45002, "content size out of limit")
        if openid in self.unsubscribed:
            return self._err(43004, "require subscribe")
        if openid in self.closed_windows:
            return self._err(45015, "response out of time limit or subscription is canceled")
        self.texts.append((openid, content))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template_send(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await request.json()
        if not body.get("template_id"):
            return self._err(40037, "invalid template_id")
        if str(body.get("touser", "")) in self.unsubscribed:
            return self._err(43004, "require subscribe")
        self.templates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._counter)})

    async def _menu_create(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await request.json()
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return self._err(40016, "invalid button size")
        self.menus.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})
