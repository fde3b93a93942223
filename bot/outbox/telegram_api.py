"""A thin async client for the Telegram Bot API: the few methods the bot uses.

Failures come back as `bot.outbox.errors` classes: 429 with its
`retry_after`, 403 (blocked, deactivated) as unreachable, 5xx and timeouts
as transient, other 4xx as rejected. A timeout or a dropped connection after
the request was written is `OutcomeUnknown` (Telegram may have delivered it);
a failure to connect is transient (nothing was sent).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.outbox.errors import (
    OutcomeUnknown,
    RateLimited,
    Rejected,
    SendError,
    Transient,
    Unreachable,
    connect_failed,
)

# Telegram's limit for callback_data.
CALLBACK_DATA_BYTES = 64
# A 400 that means the chat is gone rather than that our request was wrong.
GONE_CHAT = ("chat not found", "user is deactivated", "bot was kicked", "peer_id_invalid")


class TelegramApi:
    def __init__(
        self, session: aiohttp.ClientSession, *, base: str, token: str, timeout: float = 10.0
    ) -> None:
        self.session = session
        self.url = f"{base.rstrip('/')}/bot{token}"
        # A separate connect timeout tells "never sent" apart from "sent, answer late".
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 5.0))

    async def call(self, method: str, payload: dict[str, Any] | None = None) -> Any:
        try:
            async with self.session.post(
                f"{self.url}/{method}", json=payload or {}, timeout=self.timeout
            ) as resp:
                status = resp.status
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
        except (TimeoutError, aiohttp.ClientError) as exc:
            if connect_failed(exc):
                raise Transient(f"Telegram unreachable: {type(exc).__name__}: {exc}") from exc
            raise OutcomeUnknown(f"no answer from Telegram in time: {type(exc).__name__}: {exc}") from exc
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        raise _error(status, body if isinstance(body, dict) else {})

    async def send_message(self, chat_id: str, text: str, choices: list[str] | None = None) -> int | None:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if choices:
            payload["reply_markup"] = {"inline_keyboard": inline_keyboard(choices)}
        result = await self.call("sendMessage", payload)
        return result.get("message_id") if isinstance(result, dict) else None

    async def answer_callback_query(self, callback_query_id: str) -> None:
        await self.call("answerCallbackQuery", {"callback_query_id": callback_query_id})


def inline_keyboard(choices: list[str]) -> list[list[dict[str, str]]]:
    """One button per row (labels are Chinese phrases); data is the label, or its number when too long."""
    rows = []
    for number, label in enumerate(choices, 1):
        data = label if len(label.encode()) <= CALLBACK_DATA_BYTES else f"#{number}"
        rows.append([{"text": label, "callback_data": data}])
    return rows


def callback_text(data: str) -> str:
    """What pressing a button says to the engine: the label, or the number that picks it."""
    if data.startswith("#") and data[1:].isdigit():
        return data[1:]
    return data


def _error(status: int, body: dict[str, Any]) -> SendError:
    code = body.get("error_code", status)
    description = str(body.get("description") or f"HTTP {status}")
    message = f"Telegram {code}: {description}"
    if code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after", 1)
        return RateLimited(message, float(retry_after))
    if code == 403:
        return Unreachable(message)
    if code == 400 and any(marker in description.lower() for marker in GONE_CHAT):
        return Unreachable(message)
    if not isinstance(code, int) or code >= 500 or code in (401, 404, 409):
        # 401/404: a wrong token or base URL - a configuration error that a fix will cure.
        return Transient(message)
    return Rejected(message)
