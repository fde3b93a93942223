"""`python -m bot doctor`: what an operator checks before (and after) going live.

Each check says OK, WARN or FAIL with one plain line; any FAIL makes the
exit code 1, so a deploy script or a systemd `ExecStartPre` can stop on it.
Checks call the real things (the database, Redis, the configured platform
API bases) with short timeouts, never with a message to a person.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

from bot.clock import make_clock
from bot.settings import Settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"
TIMEOUT = aiohttp.ClientTimeout(total=8)


@dataclass
class Finding:
    status: str
    check: str
    detail: str


Check = Callable[[Settings], Awaitable[list[Finding]]]


async def check_settings(settings: Settings) -> list[Finding]:
    out = [Finding(OK, "settings", "all settings are valid")]
    if not settings.admin_token:
        out.append(Finding(WARN, "settings", "ADMIN_TOKEN is empty: the staff API has no bootstrap account"))
    if not settings.secret_key and not settings.is_sqlite:
        out.append(
            Finding(
                WARN,
                "settings",
                "SECRET_KEY is empty: each host generates its own ID-card hashing key; "
                "set one value on every host sharing this database",
            )
        )
    if settings.bot_now:
        out.append(
            Finding(WARN, "settings", f"BOT_NOW={settings.bot_now}: the clock is shifted (demo/staging)")
        )
    if settings.seed_demo and not settings.is_sqlite:
        out.append(
            Finding(WARN, "settings", "SEED_DEMO is on with PostgreSQL: fictitious demo data will load")
        )
    return out


async def check_database(settings: Settings) -> list[Finding]:
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from models.db import Database, alembic_config

    db = Database(settings.db_url)
    kind = "SQLite" if settings.is_sqlite else "PostgreSQL"
    try:
        try:
            async with asyncio.timeout(5), db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                try:
                    current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
                except Exception:
                    current = None
        except Exception as exc:
            return [Finding(FAIL, "database", f"{kind} unreachable: {type(exc).__name__}: {exc}"[:300])]
    finally:
        await db.dispose()
    head = ScriptDirectory.from_config(alembic_config(settings.db_url)).get_current_head()
    if current == head:
        return [Finding(OK, "database", f"{kind} answers; schema at the newest migration ({head})")]
    state = "empty (no schema yet)" if current is None else f"at {current}"
    return [Finding(WARN, "database", f"{kind} answers; schema {state}, newest is {head}: `serve` migrates")]


async def check_redis(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        return [Finding(OK, "redis", "not configured (locks and the token live in the database)")]
    import redis.asyncio as redis

    client = redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        return [Finding(FAIL, "redis", f"REDIS_URL does not answer: {type(exc).__name__}: {exc}"[:300])]
    finally:
        await client.aclose()
    return [Finding(OK, "redis", "answers PING")]


async def _post(session: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with session.post(url, json=payload) as resp:
        body = await resp.json(content_type=None)
        return body if isinstance(body, dict) else {}


async def check_wechat(settings: Settings) -> list[Finding]:
    if not settings.wechat_enabled:
        return [
            Finding(OK, "wechat", "not configured (WECHAT_TOKEN/WECHAT_APP_ID empty): channel not mounted")
        ]
    out: list[Finding] = []
    if not settings.wechat_app_secret:
        return [Finding(FAIL, "wechat", "WECHAT_APP_SECRET is empty: nothing can be sent to WeChat users")]
    url = f"{settings.wechat_api_base}/cgi-bin/stable_token"
    payload = {
        "grant_type": "client_credential",
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_app_secret,
        "force_refresh": False,
    }
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            body = await _post(session, url, payload)
    except Exception as exc:
        out.append(Finding(FAIL, "wechat", f"{settings.wechat_api_base} unreachable: {type(exc).__name__}"))
    else:
        if body.get("access_token"):
            out.append(Finding(OK, "wechat", f"app id and secret accepted by {settings.wechat_api_base}"))
        else:
            out.append(
                Finding(
                    FAIL,
                    "wechat",
                    f"{settings.wechat_api_base} refused the credentials: errcode {body.get('errcode')} "
                    f"{body.get('errmsg', '')} (wrong secret, or this server's IP not on the whitelist)",
                )
            )
    out += _template_findings()
    return out


def _template_findings() -> list[Finding]:
    from bot.outbox.config import load_templates

    empty = sorted(k for k, t in load_templates().templates.items() if not t.template_id)
    if not empty:
        return [Finding(OK, "wechat templates", "every template has a template_id")]
    return [
        Finding(
            WARN,
            "wechat templates",
            f"no template_id for {', '.join(empty)} (config/wechat_templates.yaml): those messages are "
            "skipped for users outside WeChat's 48-hour window",
        )
    ]


async def check_telegram(settings: Settings) -> list[Finding]:
    if not settings.telegram_enabled:
        return [
            Finding(OK, "telegram", "not configured (TELEGRAM_BOT_TOKEN/SECRET empty): channel not mounted")
        ]
    url = f"{settings.telegram_api_base}/bot{settings.telegram_bot_token}/getMe"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            body = await _post(session, url, {})
    except Exception as exc:
        return [Finding(FAIL, "telegram", f"{settings.telegram_api_base} unreachable: {type(exc).__name__}")]
    if body.get("ok"):
        name = (body.get("result") or {}).get("username", "?")
        return [Finding(OK, "telegram", f"bot token accepted (@{name})")]
    return [Finding(FAIL, "telegram", f"bot token refused: {body.get('description', body)}")]


async def check_calendar(settings: Settings) -> list[Finding]:
    from bot.policy.calendar import CalendarError, get_calendar

    try:
        calendar = get_calendar()
    except CalendarError as exc:
        return [Finding(FAIL, "calendar", str(exc))]
    today = make_clock(settings).today()
    missing = calendar.missing_years(today)
    if not missing:
        return [
            Finding(OK, "calendar", f"official holiday arrangements loaded for {today.year}–{today.year + 1}")
        ]
    years = ", ".join(map(str, missing))
    return [
        Finding(
            WARN,
            "calendar",
            f"the {years} holiday arrangement (国务院办公厅节假日安排) is not loaded: "
            f"working days in {years} count Monday–Friday only, so a statutory deadline reaching "
            "into it may fall on a holiday or miss a 调休 working Saturday, and such answers say "
            "calendar_certain=false. "
            "Add the notice to config/calendar/holidays.yaml once it is published.",
        )
    ]


async def check_files(settings: Settings) -> list[Finding]:
    data = settings.bot_data_dir
    if not data.is_dir():
        return [Finding(FAIL, "data directory", f"{data} does not exist")]
    if not os.access(data, os.W_OK | os.X_OK):
        return [Finding(FAIL, "data directory", f"{data} is not writable by this user (uid {os.getuid()})")]
    out = [Finding(OK, "data directory", f"{data.resolve()} is writable")]
    mode = stat.S_IMODE(data.stat().st_mode)
    if mode & 0o002:
        out.append(Finding(FAIL, "data directory", f"{data} is writable by everyone (mode {mode:o})"))
    for name in ("secret.key", "bot.sqlite3"):
        path = data / name
        if path.exists():
            file_mode = stat.S_IMODE(path.stat().st_mode)
            if file_mode & 0o077:
                level = FAIL if name == "secret.key" else WARN
                out.append(
                    Finding(
                        level,
                        "data directory",
                        f"{path} is readable by others (mode {file_mode:o}); chmod 600",
                    )
                )
    return out


CHECKS: tuple[Check, ...] = (
    check_settings,
    check_database,
    check_redis,
    check_wechat,
    check_telegram,
    check_calendar,
    check_files,
)


async def diagnose(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings += await check(settings)
        except Exception as exc:  # a check that breaks is itself a finding, not a crash
            findings.append(
                Finding(FAIL, check.__name__.removeprefix("check_"), f"{type(exc).__name__}: {exc}")
            )
    return findings


async def run_doctor(settings: Settings, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    findings = await diagnose(settings)
    for f in findings:
        print(f"{f.status:<4}  {f.check}: {f.detail}", file=stream)
    failed = sum(f.status == FAIL for f in findings)
    warned = sum(f.status == WARN for f in findings)
    print(f"\n{failed} failed, {warned} warnings", file=stream)
    return 1 if failed else 0
