"""The platforms for the live wave bench: the test fakes, on the bench's clock, with WeChat's day rules.

- `WaveTelegram`: tests/fakes' Telegram (30 messages in any sliding second,
  one per chat per second, 429 with retry_after otherwise), counting on the
  event loop's time, which runs k x real time (`bench.wave_clock`), and keeping
  the arrival time of every delivered message.
- `WaveWeChat`: tests/fakes' WeChat (tokens, 45011 when called faster than
  `per_second`), plus what the platform enforces per user and per day:
  customer-service text only within 48 hours of the user's last message
  (45015) and at most `per_interaction` of them per message (45047); template
  messages within `template_quota` a Beijing day, customer-service messages
  within `service_quota` (45009). It knows each user's last message because
  the bench tells it, as WeChat knows it from the user.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat
from tests.outbox.fakes import max_in_any_second


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


@dataclass
class WaveTelegram(FakeTelegram):
    """The overall limit is `limit` messages in any sliding `window` seconds (Telegram: 30 in 1).

    With every rate scaled by f (`--rate-scale`), the window is stretched to
    1/f seconds instead of the count cut to 30·f: 28·f/s against 30 per 1/f s
    leaves the dispatcher the same margin as 28/s against 30 per second (31
    messages span 1.06 windows), so timer jitter is judged as at full scale.
    Cutting the count instead (6 a second against 5.6/s) leaves a margin of
    a single message, and the jitter of a loaded machine draws 429s that a
    real deployment at full scale would not.
    """

    limit: int = 30
    window: float = 1.0
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (loop time, chat_id)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.per_second = 1_000_000  # the overall limit is checked here, over `window`
        self._overall: deque[float] = deque()

    async def _m_sendMessage(self, payload: dict[str, Any], arrived: float) -> web.Response:
        arrived = _loop_time()  # the bench's clock, not the machine's
        while self._overall and self._overall[0] <= arrived - self.window:
            self._overall.popleft()
        if len(self._overall) >= self.limit:
            self.limit_hits += 1
            self.overall_hits += 1
            wait = max(1, math.ceil(self.window))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                },
                status=429,
            )
        response = await super()._m_sendMessage(payload, arrived)
        if response.status == 200:
            self._overall.append(arrived)
            self.arrivals.append((arrived, str(payload["chat_id"])))
        return response

    def max_per_window(self) -> int:
        """The most messages delivered in any sliding `window` (to compare with `limit`)."""
        return max_in_any_second([t / self.window for t, _ in self.arrivals])


@dataclass
class WaveWeChat(FakeWeChat):
    now: Callable[[], datetime] = field(default=datetime.now)
    tz: Any = None
    window: timedelta = timedelta(hours=48)
    per_interaction: int = 5
    template_quota: int | None = None
    service_quota: int | None = None
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    arrivals: list[tuple[float, str, str]] = field(default_factory=list)  # (loop time, openid, kind)
    used: Counter[tuple[date, str]] = field(default_factory=Counter)  # (Beijing day, kind) -> sent
    refusals: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._service_since: Counter[str] = Counter()  # customer-service messages since the last inbound

    def _err(self, errcode: int, errmsg: str) -> web.Response:
        self.refusals[errcode] += 1
        return super()._err(errcode, errmsg)

    async def _guard(self, request: web.Request) -> web.Response | None:
        """Token and pace as the test fake, on the bench's clock (its own uses the machine's)."""
        state = self._valid.get(request.query.get("access_token", ""))
        if state is None:
            return self._err(40001, "invalid credential, access_token is invalid or not latest")
        if state == "expired":
            return self._err(42001, "access_token expired")
        now = _loop_time()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.per_second:
            return self._err(45011, "api minute-quota reach limit mustslower retry next minute")
        self._window.append(now)
        return None

    def _day(self) -> date:
        return self.now().astimezone(self.tz).date()

    async def _custom_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        openid = str(body.get("touser", ""))
        inbound = self.last_inbound.get(openid)
        if inbound is None or self.now() >= inbound + self.window:
            return self._err(45015, "response out of time limit or subscription is canceled")
        if self._service_since[openid] >= self.per_interaction:
            return self._err(45047, "out of response count limit")
        if self.service_quota is not None and self.used[(self._day(), "message")] >= self.service_quota:
            return self._err(45009, "reach max api daily quota limit")
        before = len(self.texts)
        response = await super()._custom_send(request)
        if len(self.texts) > before:
            self._service_since[openid] += 1
            self.used[(self._day(), "message")] += 1
            self.arrivals.append((_loop_time(), openid, "message"))
        return response

    async def _template_send(self, request: web.Request) -> web.Response:
        if self.template_quota is not None and self.used[(self._day(), "template")] >= self.template_quota:
            return self._err(45009, "reach max api daily quota limit")
        before = len(self.templates)
        response = await super()._template_send(request)
        if len(self.templates) > before:
            openid = str(self.templates[-1].get("touser", ""))
            self.used[(self._day(), "template")] += 1
            self.arrivals.append((_loop_time(), openid, "template"))
        return response

    def max_per_second(self) -> int:
        return max_in_any_second([t for t, _, _ in self.arrivals])


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start a fake on a free local port; its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
