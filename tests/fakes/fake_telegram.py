"""A fake Telegram Bot API (an aiohttp app) that enforces Telegram's limits.

It answers like Telegram: `{"ok": true, "result": …}`, or `{"ok": false,
"error_code": …, "description": …, "parameters": {"retry_after": …}}`.
Limits: at most `per_second` messages in any sliding second overall, and one
message per `per_chat_interval` seconds in one chat; a request over a limit
gets a 429 with `retry_after` and is not delivered. Tests can script
failures (429, 403, 5xx, a hang longer than the client's timeout) and block
chats ("bot was blocked by the user").

Used by the channel tests, the broadcast tests and `bench/bench_outbox.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Sent:
    chat_id: str
    text: str
    reply_markup: dict[str, Any] | None
    at: float

    @property
    def buttons(self) -> list[dict[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    hang: float = 0.0
    chat_id: str | None = None


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-TOKEN"
    per_second: int = 30
    per_chat_interval: float = 1.0
    sent: list[Sent] = field(default_factory=list)
    callback_answers: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    limit_hits: int = 0  # 429s caused by the limits (not scripted): overall + per chat
    overall_hits: int = 0
    per_chat_hits: int = 0
    scripted_hits: int = 0

    def __post_init__(self) -> None:
        self._window: deque[float] = deque()
        self._last_by_chat: dict[str, float] = {}
        self._failures: deque[Failure] = deque()
        self._ids = itertools.count(1)
        self.webhook: dict[str, Any] | None = None
        self.commands: list[dict[str, str]] = []

    # -- scripting ------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: str | None = None,
    ) -> None:
        """The next `times` sendMessage calls (to `chat_id`, or any) fail like this."""
        text = description or {
            429: "Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: message text is empty",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status, "Error")
        for _ in range(times):
            self._failures.append(
                Failure(status, text.format(retry_after=retry_after), retry_after, chat_id=chat_id)
            )

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        """The next calls take `seconds` before answering (longer than the client waits: a timeout)."""
        for _ in range(times):
            self._failures.append(Failure(200, "", hang=seconds))

    def block(self, chat_id: str) -> None:
        self.blocked.add(str(chat_id))

    def to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    # -- the API ----------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()  # before reading the body: what the limits count
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        try:
            payload = await request.json() if request.can_read_body else {}
        except ValueError:
            return _error(400, "Bad Request: can't parse JSON")
        self.calls.append((method, payload))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result: web.Response = await handler(payload, arrived)
        return result

    async def _m_sendMessage(self, payload: dict[str, Any], arrived: float) -> web.Response:
        chat_id = str(payload.get("chat_id", ""))
        text = payload.get("text")
        if not chat_id or not isinstance(text, str) or not text:
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        failure = self._take_failure(chat_id)
        if failure is not None:
            if failure.hang:
                await asyncio.sleep(failure.hang)
            else:
                self.scripted_hits += 1
                return _error(failure.status, failure.description, failure.retry_after)
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        markup = payload.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        now = arrived
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.per_second:
            self.limit_hits += 1
            self.overall_hits += 1
            return _error(429, "Too Many Requests: retry after 1", 1)
        last = self._last_by_chat.get(chat_id)
        if last is not None and now - last < self.per_chat_interval:
            self.limit_hits += 1
            self.per_chat_hits += 1
            wait = max(1, math.ceil(self.per_chat_interval - (now - last)))
            return _error(429, f"Too Many Requests: retry after {wait}", wait)
        self._window.append(now)
        self._last_by_chat[chat_id] = now
        self.sent.append(Sent(chat_id, text, markup, now))
        message_id = next(self._ids)
        return _ok({"message_id": message_id, "chat": {"id": _int(chat_id), "type": "private"}, "text": text})

    async def _m_answerCallbackQuery(self, payload: dict[str, Any], arrived: float) -> web.Response:
        if not payload.get("callback_query_id"):
            return _error(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        self.callback_answers.append(str(payload["callback_query_id"]))
        return _ok(True)

    async def _m_setWebhook(self, payload: dict[str, Any], arrived: float) -> web.Response:
        url = str(payload.get("url", ""))
        if url and not url.startswith("https://"):
            return _error(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        secret = str(payload.get("secret_token", ""))
        if secret and not all(c.isalnum() or c in "_-" for c in secret):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(payload)
        return _ok(True)

    async def _m_getWebhookInfo(self, payload: dict[str, Any], arrived: float) -> web.Response:
        hook = self.webhook or {}
        return _ok({"url": hook.get("url", ""), "pending_update_count": 0, "max_connections": 40})

    async def _m_setMyCommands(self, payload: dict[str, Any], arrived: float) -> web.Response:
        self.commands = list(payload.get("commands") or [])
        return _ok(True)

    def _take_failure(self, chat_id: str) -> Failure | None:
        for failure in list(self._failures):
            if failure.chat_id is None or failure.chat_id == chat_id:
                self._failures.remove(failure)
                return failure
        return None


def _int(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


# -- updates as Telegram sends them ----------------------------------------------
_update_ids = itertools.count(100_000)


def user(user_id: int, first_name: str = "小明") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh-hans"}


def text_update(chat_id: int, text: str, *, update_id: int | None = None) -> dict[str, Any]:
    """A private-chat text message exactly as Telegram posts it to a webhook."""
    update_id = next(_update_ids) if update_id is None else update_id
    message: dict[str, Any] = {
        "message_id": update_id % 10_000,
        "from": user(chat_id),
        "chat": {"id": chat_id, "first_name": "小明", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split(" ", 1)[0]), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def callback_update(chat_id: int, data: str, *, update_id: int | None = None) -> dict[str, Any]:
    """A button press on one of the bot's inline keyboards."""
    update_id = next(_update_ids) if update_id is None else update_id
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user(chat_id),
            "message": {
                "message_id": 7,
                "from": {"id": 1, "is_bot": True, "first_name": "培训助手"},
                "chat": {"id": chat_id, "first_name": "小明", "type": "private"},
                "date": int(time.time()),
                "text": "……",
            },
            "chat_instance": "-42",
            "data": data,
        },
    }


def member_update(chat_id: int, status: str, *, update_id: int | None = None) -> dict[str, Any]:
    """The user blocked ("kicked") or unblocked ("member") the bot."""
    update_id = next(_update_ids) if update_id is None else update_id
    old = "member" if status == "kicked" else "kicked"
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": chat_id, "first_name": "小明", "type": "private"},
            "from": user(chat_id),
            "date": int(time.time()),
            "old_chat_member": {"user": {"id": 1, "is_bot": True}, "status": old},
            "new_chat_member": {"user": {"id": 1, "is_bot": True}, "status": status},
        },
    }
