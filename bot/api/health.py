"""Liveness and readiness for the proxy and monitoring."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    services = request.app["services"]
    db_ok = await services.db.ping()
    sched = request.app["scheduler"]
    body = {
        "status": "ok" if db_ok else "error",
        "db": "ok" if db_ok else "unreachable",
        "scheduler": "running" if sched is not None and sched.running else "stopped",
    }
    return web.json_response(body, status=200 if db_ok else 503)
