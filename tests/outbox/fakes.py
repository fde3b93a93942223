"""Fakes that watch the bot the way a platform would: flood windows, rates, token life.

- `FloodTelegram`: the fake Telegram API that also announces 429s of its own
  (every `announce_every` messages, `retry_after` seconds) and counts every
  call that arrives inside a window it announced (Telegram lengthens the wait
  of a bot that does that); it keeps each arrival (wall time, chat, text) for
  rates and latencies.
- `ClockedWeChat`: the fake WeChat API whose tokens live `expires_in` seconds
  of a test clock. `stable_token` in normal mode returns the current token with
  its remaining life while it has any, a new one once it has expired; a forced
  refresh invalidates every earlier token. Template sends honour
  `client_msg_id` (one message per openid and id).
Used by tests/outbox and bench/bench_outbox_soak.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.fake_telegram import FakeTelegram, _error
from tests.fakes.fake_wechat import FakeWeChat


@dataclass
class Arrival:
    wall: float
    chat: str
    text: str


@dataclass
class FloodTelegram(FakeTelegram):
    announce_every: int = 0
    announce_retry_after: int = 2
    arrivals: list[Arrival] = field(default_factory=list)
    announced: int = 0
    windows: list[tuple[float, float]] = field(default_factory=list)  # announced (wall start, end)
    window_calls: int = 0  # calls that arrived while a 429's retry_after was still running

    def __post_init__(self) -> None:
        super().__post_init__()
        self._window_until = 0.0
        self._count = 0
        self._late: list[float] = []

    def answer_late_next(self, seconds: float) -> None:
        """The next message is delivered, but the answer comes `seconds` later (after a client timeout)."""
        self._late.append(seconds)

    async def _m_sendMessage(self, payload: dict[str, Any], arrived: float) -> web.Response:
        if arrived < self._window_until:
            self.window_calls += 1
        self._count += 1
        if self.announce_every and self._count % self.announce_every == 0:
            self.announced += 1
            self._window_until = max(self._window_until, arrived + self.announce_retry_after)
            self.windows.append((time.time(), time.time() + self.announce_retry_after))
            retry = self.announce_retry_after
            return _error(429, f"Too Many Requests: retry after {retry}", retry)
        response = await super()._m_sendMessage(payload, arrived)
        if response.status == 429:
            retry_after = json.loads(response.body)["parameters"]["retry_after"]  # type: ignore[arg-type]
            self._window_until = max(self._window_until, arrived + retry_after)
        elif response.status == 200:
            self.arrivals.append(Arrival(time.time(), str(payload["chat_id"]), str(payload["text"])))
            if self._late:
                await asyncio.sleep(self._late.pop(0))
        return response

    def max_per_second(self) -> int:
        return max_in_any_second([a.wall for a in self.arrivals])

    def duplicates(self) -> int:
        return sum(n - 1 for n in Counter((a.chat, a.text) for a in self.arrivals).values() if n > 1)


def max_in_any_second(times: list[float]) -> int:
    ordered, best, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class ClockedWeChat(FakeWeChat):
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    arrivals: list[Arrival] = field(default_factory=list)
    deduplicated: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._expiry: dict[str, datetime] = {}
        self._client_ids: set[tuple[str, str]] = set()
        self._late: list[float] = []

    def answer_late_next(self, seconds: float) -> None:
        """The next template is delivered, but the answer comes `seconds` later."""
        self._late.append(seconds)

    def _issue(self) -> str:
        token = f"TOKEN-{next(self._counter)}"
        self._valid[token] = "valid"
        self._expiry[token] = self.now() + timedelta(seconds=self.expires_in)
        self._current = token
        return token

    def _age(self) -> None:
        for token, expiry in self._expiry.items():
            if expiry <= self.now() and token in self._valid:
                self._valid[token] = "expired"

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appid") != self.app_id or body.get("secret") != self.app_secret:
            return self._err(40013, "invalid appid")
        force = bool(body.get("force_refresh"))
        self.token_requests.append(force)
        self._age()
        if force:
            self._valid.clear()
            self._issue()
        elif self._current is None or self._valid.get(self._current) != "valid":
            self._issue()
        assert self._current is not None
        left = int((self._expiry[self._current] - self.now()).total_seconds())
        return web.json_response({"access_token": self._current, "expires_in": left})

    async def _guard(self, request: web.Request) -> web.Response | None:
        self._age()
        return await super()._guard(request)

    async def _custom_send(self, request: web.Request) -> web.Response:
        response = await super()._custom_send(request)
        body = json.loads(response.body)  # type: ignore[arg-type]
        if body.get("errcode") == 0:
            sent = await request.json()
            self.arrivals.append(Arrival(time.time(), str(sent["touser"]), sent["text"]["content"]))
        return response

    async def _template_send(self, request: web.Request) -> web.Response:
        sent = await request.json()
        client_id = sent.get("client_msg_id")
        if client_id and (str(sent.get("touser")), str(client_id)) in self._client_ids:
            self.deduplicated += 1
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 0})
        response = await super()._template_send(request)
        if json.loads(response.body).get("errcode") == 0:  # type: ignore[arg-type]
            if client_id:
                self._client_ids.add((str(sent.get("touser")), str(client_id)))
            if self._late:
                await asyncio.sleep(self._late.pop(0))
        return response

    def forced(self) -> int:
        return sum(self.token_requests)
