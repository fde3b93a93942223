"""The staff console: server-rendered pages under /console (aiohttp-jinja2, no build step).

A route module (`ROUTE_MODULES`): `setup(app)` installs its own Jinja
environment under a private key, so another module using aiohttp-jinja2
cannot clash with it.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.console import (
    broadcasts,
    claims,
    classes,
    handoffs,
    home,
    import_tasks,
    imports,
    outbox,
    signin,
    trainee_chats,
)
from bot.console.page import JINJA_KEY, console_not_found
from bot.identity import strip_bidi

HERE = Path(__file__).resolve().parent
# One module per domain, each with its `routes`.
PAGES = (signin, home, claims, classes, imports, outbox, handoffs, broadcasts, trainee_chats)

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        app_key=JINJA_KEY,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        finalize=strip_bidi,  # issue 12: no RTL override reorders what staff read
    )
    env.globals["static_version"] = str(int((HERE / "static" / "console.js").stat().st_mtime))
    app.router.add_static("/console/static/", HERE / "static", name="console_static")
    for module in PAGES:
        app.add_routes(module.routes)
    app.middlewares.append(console_not_found)
    app[import_tasks.LIVE_KEY] = {}
    app[import_tasks.TASKS_KEY] = set()
    # Before the app's own cleanup disposes the pool the import tasks use.
    app.on_cleanup.append(import_tasks.stop_all)
