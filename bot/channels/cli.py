"""`python -m bot wechat-menu` and `python -m bot telegram-set-webhook`: one-off platform setup."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import aiohttp
from pydantic import ValidationError

from bot.clock import Clock
from bot.outbox.config import load_config
from bot.outbox.errors import SendError
from bot.outbox.platforms import open_redis, telegram_api, wechat_api, wechat_token_store
from bot.settings import Settings
from bot.texts import get_texts
from models.db import Database

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def add_commands(sub: Any) -> None:
    p = sub.add_parser("wechat-menu", help="publish config/wechat_menu.yaml as the Official Account menu")
    p.add_argument("--dry-run", action="store_true", help="only validate and print the menu")
    p.set_defaults(func=cmd_wechat_menu)

    p = sub.add_parser("telegram-set-webhook", help="register this server's webhook with Telegram")
    p.add_argument("--url", required=True, help="public https URL ending in /telegram/webhook")
    p.add_argument("--drop-pending-updates", action="store_true")
    p.add_argument("--max-connections", type=int, default=40)
    p.set_defaults(func=cmd_telegram_set_webhook)


def cmd_wechat_menu(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.wechat_menu import load_menu

    try:
        menu = load_menu()
    except ValidationError as exc:
        print(f"config/wechat_menu.yaml 有误 / invalid menu:\n{exc}", file=sys.stderr)
        return 2
    payload = menu.payload()
    if args.dry_run:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        print("WECHAT_APP_ID and WECHAT_APP_SECRET must be set to publish the menu", file=sys.stderr)
        return 2
    return asyncio.run(_publish_menu(settings, payload))


async def _publish_menu(settings: Settings, payload: dict[str, Any]) -> int:
    db = Database(settings.db_url)
    redis: Any = None
    try:
        await db.migrate()  # the shared token lives in the database
        clock = Clock(settings.tz)
        redis = open_redis(settings)
        store = wechat_token_store(settings, db, clock, redis)
        timeout = load_config().dispatcher.request_timeout_seconds
        async with aiohttp.ClientSession() as session:
            api = wechat_api(session, settings, store, clock, timeout)
            try:
                await api.create_menu(payload)
            except SendError as exc:
                print(f"菜单发布失败 / WeChat refused the menu: {exc}", file=sys.stderr)
                return 1
    finally:
        if redis is not None:
            await redis.aclose()
        await db.dispose()
    print(f"菜单已发布 / menu published ({len(payload['button'])} buttons)")
    return 0


def cmd_telegram_set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    if not (settings.telegram_bot_token and settings.telegram_secret_token):
        print("TELEGRAM_BOT_TOKEN and TELEGRAM_SECRET_TOKEN must be set", file=sys.stderr)
        return 2
    if not args.url.startswith("https://"):
        print("Telegram only calls https:// webhooks", file=sys.stderr)
        return 2
    if not 1 <= args.max_connections <= 100:
        print("--max-connections must be between 1 and 100", file=sys.stderr)
        return 2
    return asyncio.run(_set_webhook(settings, args))


async def _set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    commands = get_texts().raw("channels.telegram_commands")
    timeout = load_config().dispatcher.request_timeout_seconds
    async with aiohttp.ClientSession() as session:
        api = telegram_api(session, settings, timeout)
        try:
            await api.call(
                "setWebhook",
                {
                    "url": args.url,
                    "secret_token": settings.telegram_secret_token,
                    "allowed_updates": ALLOWED_UPDATES,
                    "max_connections": args.max_connections,
                    "drop_pending_updates": bool(args.drop_pending_updates),
                },
            )
            await api.call("setMyCommands", {"commands": commands})
            info = await api.call("getWebhookInfo")
        except SendError as exc:
            print(f"Telegram refused: {exc}", file=sys.stderr)
            return 1
    print(f"webhook set: {info.get('url')} (pending updates: {info.get('pending_update_count', 0)})")
    return 0
