"""The app factory: one aiohttp application serving every channel and API.

It builds the services once (database, NLU, texts, clock), mounts the
routes, migrates the database on start and runs the scheduler.
"""

from __future__ import annotations

import importlib
import logging

from aiohttp import web

from bot import log_privacy
from bot.clock import Clock, make_clock
from bot.engine import Engine
from bot.http import error_middleware, read_json
from bot.ops.metrics import TimedNLU, mark_process_dead
from bot.services import LanguageUnderstanding, Services
from bot.settings import Settings
from bot.texts import get_texts
from models.db import Database

log = logging.getLogger(__name__)

# Route modules; each exposes `routes` (a web.RouteTableDef) and optionally
# `setup(app)` for what needs more than routes (a channel mounted only when
# configured, a template engine).
ROUTE_MODULES = (
    "bot.api.health",
    "bot.api.chat",
    "bot.api.nlu",
    "bot.api.policy",
    "bot.api.admin_broadcasts",
    "bot.api.admin_staff",
    "bot.api.admin_handoffs",
    "bot.api.conversations",
    "bot.api.admin_outbox",
    "bot.console",
    "bot.api.openapi",
    "bot.api.admin_claims",
    "bot.api.admin_claim_transitions",
    "bot.api.admin_publicity",
    "bot.api.admin_rectifications",
    "bot.api.admin_binding",
    "bot.api.admin_trainee_chats",
    "bot.api.admin_classes",
    "bot.api.admin_exports",
    "bot.api.claims_board",
    "bot.channels.wechat",
    "bot.channels.telegram",
    "bot.outbox.lifecycle",
    "bot.ops.http",
)

# Background jobs (the outbox dispatcher, the daily reminders, deadline
# reminders); each module exposes `register(scheduler)`.
JOB_MODULES: tuple[str, ...] = (
    "bot.broadcasts.job",
    "bot.attendance.job",
    "bot.claims.deadlines",
    "bot.outbox.job",
    "bot.channels.inbox",
    "bot.handover.job",
)

__all__ = ["create_app", "error_middleware", "read_json"]


def load_nlu(settings: Settings) -> LanguageUnderstanding:
    from nlu import NLU

    return NLU.load(settings.bot_data_dir / "nlu-cache")


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    nlu: LanguageUnderstanding | None = None,
    migrate: bool = True,
    scheduler: bool | None = None,
) -> web.Application:
    """Build the application. Tests pass a frozen clock, a preloaded NLU, or no scheduler."""
    log_privacy.install()  # issue 12: no ID or phone number in any log line
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=settings.max_body_bytes,
    )
    db = Database(settings.db_url)
    services = Services(
        settings=settings,
        db=db,
        texts=get_texts(),
        clock=clock or make_clock(settings),
        nlu=TimedNLU(nlu or load_nlu(settings)),
    )
    app["settings"] = settings
    app["services"] = services
    app["engine"] = Engine(services)
    app["scheduler"] = None
    app["demo"] = None

    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "routes"):
            app.add_routes(module.routes)
        if hasattr(module, "setup"):
            module.setup(app)

    async def on_startup(app: web.Application) -> None:
        if migrate:
            await db.migrate()
        if settings.seed_demo:
            from bot.demo import prepare_demo

            app["demo"] = await prepare_demo(services)
        run_scheduler = settings.scheduler_enabled if scheduler is None else scheduler
        if run_scheduler:
            from bot.scheduler import Scheduler

            sched = Scheduler(services, JOB_MODULES)
            sched.start()
            app["scheduler"] = sched

    async def on_cleanup(app: web.Application) -> None:
        if app["scheduler"] is not None:
            # Cancel and await the job runs first: they hold database
            # connections, and disposing the pool under them hung the exit.
            await app["scheduler"].aclose()
        await db.dispose()
        mark_process_dead()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
