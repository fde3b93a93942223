"""aiohttp apps served on real ports from a background thread with its own event loop.

For clients that are not asyncio (schemathesis uses requests; Selenium drives a
browser): a blocking client in the test thread never stalls the servers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class LiveServer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-server", daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []
        self.app: web.Application | None = None
        self.url = ""

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run a coroutine on the servers' loop (e.g. to arrange data) and wait for it."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def serve(self, app: web.Application) -> str:
        """Serve an app on a free port of 127.0.0.1 (startup hooks run); its base URL."""
        return self.run(self._serve(app))

    def serve_main(self, app: web.Application) -> str:
        self.app = app
        self.url = self.serve(app)
        return self.url

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    def stop(self) -> None:
        for runner in reversed(self.runners):
            self.run(runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@contextmanager
def demo_app_served(database_url: str, data_dir: Path, nlu: Any) -> Iterator[LiveServer]:
    """The app on a migrated database with the demo data, no channels or scheduler, as `make run` serves it.

    The OpenAPI fuzz runs (SQLite and PostgreSQL) hit it from schemathesis' blocking client.
    """
    from bot.app import create_app
    from bot.clock import FrozenClock
    from bot.settings import load_settings
    from tests.conftest import ADMIN_TOKEN, DEFAULT_NOW

    app_settings = load_settings(
        database_url=database_url,
        bot_data_dir=data_dir,
        admin_token=ADMIN_TOKEN,
        secret_key="fuzz-secret",
        wechat_token="",
        wechat_app_id="",
        telegram_bot_token="",
        telegram_secret_token="",
        seed_demo=True,
    )
    app = create_app(app_settings, clock=FrozenClock(DEFAULT_NOW), nlu=nlu, migrate=False, scheduler=False)
    server = LiveServer()
    server.serve_main(app)
    try:
        yield server
    finally:
        server.stop()
