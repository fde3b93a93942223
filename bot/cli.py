"""`python -m bot serve|chat|migrate|seed-demo` and the commands other modules add."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from bot import log_privacy
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")

# Modules that add sub-commands: each has `add_commands(subparsers)` and sets
# `func(settings, args) -> int` as the parser default.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.staff.cli",
    "bot.channels.cli",
    "bot.outbox.cli",
)

Command = Callable[[Settings, argparse.Namespace], int]


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import faulthandler

    from bot.app import create_app

    # A fatal signal (SIGBUS from a memory-mapped SQLite file cut short, SIGSEGV in a
    # C extension) then leaves its name and the Python stacks on stderr, not silence.
    faulthandler.enable()
    if args.seed_demo:
        settings = settings.model_copy(update={"seed_demo": True})
    host = args.host or settings.host
    port = args.port or settings.port
    app = create_app(settings)
    log.info(
        "serving on http://%s:%s (database %s)", host, port, "SQLite" if settings.is_sqlite else "PostgreSQL"
    )

    def ready(_: str) -> None:
        from bot.ops.banner import ready_lines

        url = f"http://{'localhost' if host in ('0.0.0.0', '::', '') else host}:{port}"
        texts = app["services"].texts
        print("\n".join(ready_lines(texts, url, app["demo"], str(settings.bot_data_dir))), flush=True)

    async def arm_watchdog(_: web.Application) -> None:
        _exit_watchdog(SHUTDOWN_GRACE_SECONDS + EXIT_WATCHDOG_SECONDS)

    app.on_startup.append(settle_heap)  # after the app's own start-up (migrations, scheduler)

    # on_shutdown is the first step after SIGTERM/SIGINT: from then on the
    # process ends within a bounded time, whatever a task does.
    app.on_shutdown.insert(0, arm_watchdog)
    web.run_app(
        app, host=host, port=port, print=ready, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    return 0


async def settle_heap(_: web.Application) -> None:
    """Move what start-up built out of the collector's sight, then turn the collector on.

    Start-up makes a quarter of a million long-lived objects (modules, the jieba
    dictionary, the models) and almost no garbage (some 2,000 objects, 0.5 MB),
    yet the collector's passes over the growing heap were a fifth of a warm
    start; `__main__` turns it off for `serve`. Frozen, those objects are not
    scanned again by the collections made while serving either. The little
    garbage start-up left is kept: collecting it would cost 0.15 s of the start.
    """
    gc.freeze()
    gc.enable()


# Requests in flight get this long to finish after SIGTERM; the watchdog
# then allows this much more for cleanup before it ends the process itself.
SHUTDOWN_GRACE_SECONDS = 5.0
EXIT_WATCHDOG_SECONDS = 10.0


def _exit_watchdog(seconds: float) -> None:
    """End the process if a graceful stop has not finished in `seconds`.

    A task that never finishes its cancellation (a driver future nobody will
    resolve) made `serve` ignore SIGTERM for minutes; a supervisor waiting on
    it is worse than an abrupt exit, because the database rows are the truth
    and every job resumes on the next start. The stacks go to stderr first.
    """
    import faulthandler
    import os
    import threading

    def fire() -> None:
        log.error("shutdown did not finish within %.0f s; exiting now", seconds)
        faulthandler.dump_traceback(all_threads=True)
        os._exit(70)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.doctor import run_doctor

    return asyncio.run(run_doctor(settings))


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from models.db import Database

    async def run() -> None:
        db = Database(settings.db_url)
        try:
            await db.migrate()
        finally:
            await db.dispose()

    asyncio.run(run())
    print("database is up to date")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import seed_demo_standalone

    created = asyncio.run(seed_demo_standalone(settings, force=args.force))
    print("demo data loaded" if created else "demo data already present (use --force to add it anyway)")
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import load_nlu
    from bot.channels.console import run_console
    from bot.clock import make_clock
    from bot.engine import Engine
    from bot.services import Services
    from bot.texts import get_texts
    from models.db import Database

    async def run() -> None:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            services = Services(settings, db, get_texts(), make_clock(settings), load_nlu(settings))
            await run_console(Engine(services), args.user)
        finally:
            await db.dispose()

    asyncio.run(run())
    return 0


def cmd_diagrams(settings: Settings, args: argparse.Namespace) -> int:
    from bot.diagrams import main as diagrams

    return diagrams(check=args.check)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: the sub-command modules are imported only when `argv` may need them.

    They pull in the account, outbox and WeChat API code, which `serve` (the start
    everyone waits for) loads later or never; help and unknown commands see them all.
    """
    parser = argparse.ArgumentParser(prog="python -m bot", description="吉林省补贴培训学员机器人")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the HTTP API, webhooks and scheduler")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--seed-demo", action="store_true", help="load config/demo into an empty database")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed-demo", help="load the demo institutions, classes and trainees")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("doctor", help="check settings, database, Redis, channels, calendar and files")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("chat", help="chat with the bot in this terminal")
    p.add_argument("--user", default="console-user", help="the chat identity to use")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("diagrams", help="print the Mermaid pictures of the message path and the flows")
    p.add_argument("--check", metavar="FILE", help="fail when FILE is not what would be printed")
    p.set_defaults(func=cmd_diagrams)

    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] not in sub.choices:
        for name in COMMAND_MODULES:
            importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"配置错误 / bad settings:\n{exc}", file=sys.stderr)
        return 2
    log_privacy.install()  # before the first line: no ID or phone number in any log line
    from bot.ops.logging import configure

    configure(settings.log_level, settings.log_format)
    command: Command = args.func
    return command(settings, args)
