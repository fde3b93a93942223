"""aiohttp apps served on real ports from a background thread with its own event loop.

For clients that are not asyncio (schemathesis uses requests; Selenium drives a
browser): a blocking client in the test thread never stalls the servers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
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
