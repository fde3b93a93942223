"""The WeChat Official Account webhook: `GET /wechat` (URL check) and `POST /wechat` (messages, events).

Mounted only when `WECHAT_TOKEN` and `WECHAT_APP_ID` are set; safe mode
(encrypted bodies) when `WECHAT_AES_KEY` is set. wechatpy checks signatures,
decrypts, parses and renders; this module decides what each delivery means:

- a text (or a transcribed voice message) is a turn of the engine. If the
  turn ends within `passive_reply_seconds` (about 4 s; WeChat waits 5) the
  answer is the HTTP response (a passive reply). Otherwise the response is
  `success` and the answer goes out as a customer-service message through
  the outbox (see `bot.channels.inbox` for why a crash cannot lose it);
- a retry of the same MsgId (events: FromUserName + CreateTime) finds its
  inbox row: it gets the same passive answer again, or `success` when the
  answer is already on its way through the outbox - never a second effect;
- follow → the welcome and the menu (the engine's greeting); unfollow → the
  user is unreachable and pending messages (reminders) are dropped; a menu
  click → the main-menu label its key stands for (`config/wechat_menu.yaml`);
  a QR scene `bind_<code>` → binding with that code.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.channels import inbox, replay
from bot.channels.render import merge_for_wechat, wechat_text
from bot.channels.safexml import parse_xml
from bot.channels.wechat_menu import load_menu
from bot.errors import ApiError
from bot.ops import metrics
from bot.outbox.config import WeChatConfig, delivery_config
from bot.services import Services

log = logging.getLogger(__name__)

CHANNEL = "wechat"
SUCCESS = "success"  # WeChat: received, nothing to say now (and no retry)
CHANNEL_KEY = web.AppKey("wechat_channel", object)
BIND_SCENE = "bind_"


def setup(app: web.Application) -> None:
    settings = app["settings"]
    if not settings.wechat_enabled:
        return
    channel = WeChatChannel(app)
    app[CHANNEL_KEY] = channel
    if channel.crypto is None:
        log.warning(
            "wechat: plaintext mode - message bodies are not signed or encrypted; set WECHAT_AES_KEY "
            "and choose safe mode (安全模式) in the Official Account console (see docs/security.md)"
        )
    app.router.add_get("/wechat", verify_url)
    app.router.add_post("/wechat", receive)

    async def on_shutdown(app: web.Application) -> None:
        await channel.drain()

    app.on_shutdown.append(on_shutdown)


def _channel(request: web.Request) -> WeChatChannel:
    channel = request.app[CHANNEL_KEY]
    assert isinstance(channel, WeChatChannel)
    return channel


async def verify_url(request: web.Request) -> web.Response:
    """WeChat's URL check when the server address is saved in the console: echo `echostr` if signed."""
    channel = _channel(request)
    channel.check_plain_signature(request)
    return web.Response(text=request.query.get("echostr", ""), content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    channel = _channel(request)
    query = request.query
    channel.check_plain_signature(request)
    raw = await _read_body(request, channel.config.max_xml_bytes)
    if channel.crypto is None:
        await replay.check_once(channel.services, query.get("timestamp", ""), query.get("nonce", ""), raw)
    root = parse_xml(raw, channel.config.max_xml_bytes)
    if channel.crypto is not None:
        encrypted = root.findtext("Encrypt")
        if not encrypted:
            raise ApiError(400, "encrypted_message_expected", "安全模式下消息必须加密")
        try:
            raw = channel.crypto.decrypt_message(
                {"Encrypt": encrypted},
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            ).encode()
        except InvalidSignatureException as exc:
            raise ApiError(403, "invalid_signature", "签名校验失败") from exc
        except Exception as exc:  # bad base64, padding, app id: not a message from WeChat
            raise ApiError(400, "invalid_encrypted_message", "无法解密消息") from exc
        parse_xml(raw, channel.config.max_xml_bytes)
    try:
        message = parse_message(raw.decode())
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_xml", "请求体不是微信消息格式") from exc
    if message is None or not getattr(message, "source", None):
        raise ApiError(400, "invalid_xml", "请求体不是微信消息格式")
    check_fields(message)
    answer = await channel.handle(message)
    return channel.respond(answer, message, query.get("nonce", ""), query.get("timestamp", ""))


MAX_OPENID = 128  # WeChat openids are 28 characters; the column holds 128
MAX_MSG_ID_DIGITS = 20  # a 64-bit MsgId


def check_fields(message: Any) -> None:
    """Refuse a delivery WeChat would never send (a 5,000-digit MsgId, a 500-character openid)."""
    openid = str(message.source)
    if len(openid) > MAX_OPENID or not openid.isprintable():
        raise ApiError(400, "invalid_xml", "FromUserName 不是合法的 openid")
    raw_id = message._data.get("MsgId")
    if raw_id is not None and not (str(raw_id).isdigit() and len(str(raw_id)) <= MAX_MSG_ID_DIGITS):
        raise ApiError(400, "invalid_xml", "MsgId 不是合法的消息编号")


async def _read_body(request: web.Request, max_bytes: int) -> bytes:
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "payload_too_large", "请求内容太大")
    chunks: list[bytes] = []
    size = 0
    try:
        # At most one byte more than allowed is read: enough to know it is too big.
        async with asyncio.timeout(request.app["settings"].body_read_timeout_seconds):
            while size <= max_bytes:
                chunk = await request.content.read(max_bytes + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except TimeoutError as exc:
        raise ApiError(408, "request_timeout", "请求体发送太慢,已超时") from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "payload_too_large", "请求内容太大") from exc
    return b"".join(chunks)


class WeChatChannel:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.settings = app["settings"]
        self.services: Services = app["services"]
        self.menu = load_menu()
        self.crypto = (
            WeChatCrypto(
                self.settings.wechat_token, self.settings.wechat_aes_key, self.settings.wechat_app_id
            )
            if self.settings.wechat_aes_key
            else None
        )
        # Turns that outlived the passive-reply wait: kept referenced until their replies are queued.
        self._later: set[asyncio.Task[Any]] = set()

    @property
    def config(self) -> WeChatConfig:
        return delivery_config(self.services).channels.wechat

    @property
    def engine(self) -> Any:
        return self.app["engine"]

    def t(self, key: str, **fmt: Any) -> str:
        return self.services.texts.get(key, **fmt)

    # -- request checks -------------------------------------------------------
    def check_plain_signature(self, request: web.Request) -> None:
        query = request.query
        try:
            check_signature(
                self.settings.wechat_token,
                query.get("signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            )
        except InvalidSignatureException as exc:
            raise ApiError(403, "invalid_signature", "签名校验失败") from exc
        replay.check_timestamp(query.get("timestamp", ""), self.settings.wechat_timestamp_window_seconds)

    def respond(self, answer: str | None, message: Any, nonce: str, timestamp: str) -> web.Response:
        if answer is None:
            return web.Response(text=SUCCESS, content_type="text/plain")
        xml = TextReply(content=answer, message=message).render()
        if self.crypto is not None:
            try:
                xml = self.crypto.encrypt_message(xml, nonce, timestamp or None)
            except WeChatException as exc:  # pragma: no cover - wechatpy only raises on a broken key
                raise ApiError(400, "encrypt_failed", "无法加密回复") from exc
        return web.Response(text=xml, content_type="application/xml")

    # -- what a delivery means ------------------------------------------------
    async def handle(self, message: Any) -> str | None:
        """The passive answer to a delivery, or None for `success`."""
        openid: str = message.source
        kind = message.type
        if kind == "text":
            return await self.turn(openid, message.content or "", str(message.id), "message")
        if kind == "voice":
            recognised = (message.recognition or "").strip()
            if recognised:
                return await self.turn(openid, recognised, str(message.id), "message")
            return await self.notice(openid, str(message.id), self.t("channels.voice_not_recognised"))
        if kind == "event":
            return await self.event(openid, message)
        return await self.notice(openid, str(message.id), self.t("channels.unsupported_message"))

    async def event(self, openid: str, message: Any) -> str | None:
        event = str(message.event or "").lower()
        key = f"{openid}:{message.time}:{event}"
        if event == "unsubscribe":
            await inbox.set_reachable(
                self.services, self.engine, channel=CHANNEL, external_id=openid, key=key, reachable=False
            )
            return None
        if event in ("subscribe", "subscribe_scan", "scan"):
            if event != "scan":
                await inbox.set_reachable(
                    self.services,
                    self.engine,
                    channel=CHANNEL,
                    external_id=openid,
                    key=f"{key}:member",
                    reachable=True,
                )
            scene = str(getattr(message, "scene_id", "") or "")
            if scene.startswith(BIND_SCENE) and len(scene) > len(BIND_SCENE):
                text = self.t("channels.inputs.bind", code=scene[len(BIND_SCENE) :])
            elif event == "scan":
                return None  # an already-following user scanned a plain QR code
            else:
                text = self.t("channels.inputs.greet")
            return await self.turn(openid, text, key, "event")
        if event == "click":
            says = self.menu.says(str(message.key or ""))
            if says is None:
                log.warning("wechat: click on unknown menu key %r", message.key)
                return None
            return await self.turn(openid, says, key, "event")
        return None  # view, location, template-send reports: nothing to say

    async def notice(self, openid: str, key: str, text: str) -> str | None:
        """A channel's own answer (not the engine's), given once per delivery."""
        _, new = await inbox.accept(
            self.services, channel=CHANNEL, key=key, external_id=openid, kind="message", status="answered"
        )
        if new:
            await inbox.record_notice(self.services, self.engine, CHANNEL, openid, text)
        return text

    async def turn(self, openid: str, text: str, key: str, kind: str) -> str | None:
        """One engine turn, answered passively when it is quick, through the outbox when it is not."""
        platform_msg_id = key if kind == "message" else f"event:{key.split(':', 1)[1]}"
        row, new = await inbox.accept(
            self.services,
            channel=CHANNEL,
            key=key,
            external_id=openid,
            kind=kind,
            text=text,
            platform_msg_id=platform_msg_id,
        )
        if not new and row.status not in ("received", "answered"):
            return None  # the answer is on its way through the outbox already
        task = asyncio.ensure_future(
            self.engine.handle(CHANNEL, openid, text, platform_msg_id=platform_msg_id)
        )
        try:
            result = await asyncio.wait_for(asyncio.shield(task), self.config.passive_reply_seconds)
        except TimeoutError:
            metrics.passive_overrun("slow_turn")
            if await inbox.transition(self.services, row.id, "async", expect=("received",)):
                self._deliver_later(task, row)
            return None
        except Exception:
            log.exception("wechat: the engine failed on a message; the recovery sweep will retry it")
            return self.t("menu.internal_error")
        body, choices = merge_for_wechat(result.replies, self.services.texts)
        answer = wechat_text(body, choices, self.services.texts)
        if not result.replies:
            await inbox.transition(self.services, row.id, "done", expect=("received", "answered"))
            return None
        if self.crypto is None and await replay.is_bound(self.services, result.chat_user_id):
            # Plaintext mode: a passive reply travels unencrypted and answers whoever holds a
            # signed URL; a bound user's answers (claims, attendance) go as customer-service
            # messages to their own openid instead.
            await inbox.enqueue_replies(self.services, row, result.replies, result.chat_user_id)
            return None
        if len(answer.encode()) > self.config.max_text_bytes:
            # Too long for one passive reply: the outbox sends it in parts.
            metrics.passive_overrun("too_long")
            await inbox.enqueue_replies(self.services, row, result.replies, result.chat_user_id)
            return None
        if await inbox.transition(self.services, row.id, "answered", expect=("received", "answered")):
            return answer
        return None

    def _deliver_later(self, task: asyncio.Future[Any], row: inbox.Inbound) -> None:
        async def finish() -> None:
            try:
                result = await task
            except Exception:
                log.exception("wechat: a slow turn failed; the recovery sweep will retry it")
                return
            await inbox.enqueue_replies(self.services, row, result.replies, result.chat_user_id)

        later = asyncio.ensure_future(finish())
        self._later.add(later)
        later.add_done_callback(self._later.discard)

    async def drain(self) -> None:
        """Let slow turns finish and queue their replies (on shutdown, and in tests)."""
        while self._later:
            await asyncio.gather(*list(self._later), return_exceptions=True)
