"""The outbox in the running app: its life cycle.

`setup(app)` hands the app's engine to the background work (the inbox
recovery runs turns on the same engine, with the same per-user locks) and
stops the dispatcher cleanly on shutdown: sends on the wire finish, claimed
rows go back to `pending`, and the leases are released. (Staff see and
requeue dead letters through the staff API, `bot.api.admin_outbox`, which
calls `bot.outbox.requeue`.)
"""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    async def on_startup(app: web.Application) -> None:
        app["services"].extra["engine"] = app["engine"]

    async def on_shutdown(app: web.Application) -> None:
        dispatcher = app["services"].extra.get("outbox.dispatcher")
        if dispatcher is not None:
            await dispatcher.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
