"""The Telegram webhook: `POST /telegram/webhook`.

Mounted only when `TELEGRAM_BOT_TOKEN` and `TELEGRAM_SECRET_TOKEN` are set.
Telegram proves itself with the secret header (401 when missing, 403 when
wrong). Each update is recorded under its update_id before anything else, so
a replayed update is ignored; the engine's answer goes into the outbox in
the same step that marks the update done, and the dispatcher is kicked to
send it at once (honouring 429 `retry_after`, at Telegram's pace).

- a text message is a turn; `/start bind_<code>` (a deep link from the
  institution) says `绑定 <code>`, `/start` alone greets, `/help` and
  `/cancel` say what their words say;
- a button press (callback query) says the button's label (or its number),
  and is acknowledged with answerCallbackQuery so the button stops spinning;
- the user blocking the bot (my_chat_member "kicked") makes them unreachable;
- only private chats are served; anything else is acknowledged and ignored.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web

from bot.channels import inbox
from bot.errors import ApiError
from bot.http import read_json
from bot.identity import mask_personal
from bot.outbox import get_dispatcher
from bot.outbox.errors import SendError
from bot.outbox.telegram_api import callback_text
from bot.services import Services

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
OK: dict[str, Any] = {"ok": True}


def setup(app: web.Application) -> None:
    if app["settings"].telegram_enabled:
        app.router.add_post("/telegram/webhook", webhook)


async def webhook(request: web.Request) -> web.Response:
    settings = request.app["settings"]
    secret = request.headers.get(SECRET_HEADER)
    if secret is None:
        raise ApiError(401, "unauthorized", "缺少 Telegram 密钥请求头")
    if not hmac.compare_digest(secret.encode(), settings.telegram_secret_token.encode()):
        raise ApiError(403, "forbidden", "Telegram 密钥不正确")
    update = await read_json(request)
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise ApiError(400, "invalid_update", "update_id 必须是整数")
    await handle_update(request.app["services"], request.app["engine"], update)
    return web.json_response(OK)


async def handle_update(services: Services, engine: Any, update: dict[str, Any]) -> None:
    key = str(update["update_id"])
    texts = services.texts
    if isinstance(update.get("my_chat_member"), dict):
        member = update["my_chat_member"]
        chat = _private_chat(member.get("chat"))
        status = (member.get("new_chat_member") or {}).get("status")
        if chat is not None and status in ("kicked", "member"):
            await inbox.set_reachable(
                services, engine, channel=CHANNEL, external_id=chat, key=key, reachable=status == "member"
            )
        return

    callback = update.get("callback_query")
    if isinstance(callback, dict):
        message = callback.get("message") or {}
        chat = _private_chat(message.get("chat")) or _user_chat(callback.get("from"))
        data = callback.get("data")
        if chat is None or not isinstance(data, str) or not data:
            return
        row, new = await inbox.accept(
            services,
            channel=CHANNEL,
            key=key,
            external_id=chat,
            kind="callback",
            text=callback_text(data),
            platform_msg_id=f"tg:{key}",
        )
        if new:
            await _answer_callback(services, str(callback.get("id", "")))
        await _turn(services, engine, row, _display_name(callback.get("from")), callback_text(data))
        return

    message = update.get("message")
    if not isinstance(message, dict):
        return  # edited messages, channel posts, polls: nothing for a trainee bot
    chat = _private_chat(message.get("chat"))
    if chat is None:
        return
    text = message.get("text")
    if not isinstance(text, str):
        row, new = await inbox.accept(services, channel=CHANNEL, key=key, external_id=chat, kind="message")
        if new or row.status == "received":
            await _notice(services, engine, row, texts.get("channels.unsupported_message"))
        return
    said = command_text(text, services)
    row, new = await inbox.accept(
        services,
        channel=CHANNEL,
        key=key,
        external_id=chat,
        kind="message",
        text=said,
        platform_msg_id=f"tg:{key}",
    )
    await _turn(services, engine, row, _display_name(message.get("from")), said)


def command_text(text: str, services: Services) -> str:
    """What a bot command means to the engine; other text unchanged."""
    if not text.startswith("/"):
        return text
    head, _, payload = text.partition(" ")
    command = head[1:].split("@", 1)[0].lower()
    payload = payload.strip()
    texts = services.texts
    if command == "start":
        if payload.startswith("bind_") and len(payload) > len("bind_"):
            return texts.get("channels.inputs.bind", code=payload[len("bind_") :])
        return texts.get("channels.inputs.greet")
    if command in ("help", "cancel"):
        return texts.get(f"channels.inputs.{command}")
    return text


async def _turn(
    services: Services, engine: Any, row: inbox.Inbound, display_name: str | None, text: str
) -> None:
    """The turn reads the delivery's own text; the inbox row keeps only its masked form."""
    if row.status != "received" or row.text is None:
        return  # a replay of an update already answered
    try:
        result = await engine.handle(
            CHANNEL, row.external_id, text, platform_msg_id=row.platform_msg_id, display_name=display_name
        )
    except Exception:
        # Acknowledge anyway: the recovery sweep runs the turn again (Telegram's own
        # retries of a failing webhook would pile up behind it).
        log.exception(
            "telegram: the engine failed on update %s; the recovery sweep will retry", row.dedupe_key
        )
        return
    await inbox.enqueue_replies(services, row, result.replies, result.chat_user_id)


async def _notice(services: Services, engine: Any, row: inbox.Inbound, text: str) -> None:
    from handlers.base import Reply

    chat_user_id = await inbox.record_notice(services, engine, CHANNEL, row.external_id, text)
    await inbox.enqueue_replies(services, row, [Reply(text)], chat_user_id)


async def _answer_callback(services: Services, callback_query_id: str) -> None:
    """Stop the button's spinner; a failure here only costs the user a spinner, never the answer."""
    if not callback_query_id:
        return
    api = get_dispatcher(services).telegram_api()
    if api is None:
        return
    try:
        await api.answer_callback_query(callback_query_id)
    except SendError as exc:
        log.info("telegram: answerCallbackQuery failed: %s", exc)


def _private_chat(chat: Any) -> str | None:
    if isinstance(chat, dict) and chat.get("type") == "private" and isinstance(chat.get("id"), int):
        return str(chat["id"])
    return None


def _user_chat(user: Any) -> str | None:
    if isinstance(user, dict) and isinstance(user.get("id"), int):
        return str(user["id"])
    return None


def _display_name(user: Any) -> str | None:
    if not isinstance(user, dict):
        return None
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k)).strip()
    name = name or (str(user["username"]) if user.get("username") else "")
    return mask_personal(name) or None
