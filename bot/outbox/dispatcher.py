"""The outbox dispatcher: claims due rows and sends them at each platform's pace.

One `Dispatcher` per process starts a `ChannelRunner` (`bot.outbox.runner`)
per channel whose credentials are set. A runner claims small batches per
lane (replies, reminders, broadcasts: `bot.outbox.lanes`, `bot.outbox.claims`),
orders them per chat, and starts each send at its slot: an overall rate per
channel and a minimum spacing per chat (`bot.outbox.pacing`); a flood limit
pauses the channel in every process (`bot.outbox.pauses`). Each claim carries
a lease token, and only its holder's results land (the fence). Final
results are written in groups, those of each tenth of a second in one
transaction (`bot.outbox.writes`; retries and requeues each at once,
`bot.outbox.results`), so a crash loses nothing (claimed rows come back
when their claim lease runs out) and repeats at most the sends that were on
the wire or whose result was still waiting to be written. Rows of one chat
keep their order: after a failure the chat's later rows wait too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.outbox.channel_state import DispatchStats, wait_event
from bot.outbox.claims import free_expired_claims, skip_unpushable
from bot.outbox.config import ChannelPacing, delivery_config, templates_config
from bot.outbox.deadlines import drop_pending_too_late
from bot.outbox.pacing import Pacer
from bot.outbox.pauses import PauseStore, pause_store
from bot.outbox.platforms import open_redis, telegram_api, wechat_api, wechat_token_store
from bot.outbox.runner import ChannelRunner
from bot.outbox.senders import Sender, TelegramSender, WeChatSender
from bot.outbox.telegram_api import TelegramApi
from bot.outbox.wakeups import ReplyListener

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class Dispatcher:
    """One per process (kept in `services.extra["outbox.dispatcher"]`); `run` does the work."""

    def __init__(self, services: Services, *, holder: str | None = None) -> None:
        self.services = services
        # One dispatcher per process: the process is the lease holder, so a new Dispatcher
        # in the same process (a reload) carries on where the last one was.
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.config = delivery_config(services)
        self.pacers: dict[str, Pacer] = {}
        self._session: aiohttp.ClientSession | None = None
        self._senders: dict[str, Sender] | None = None
        self._run_lock = asyncio.Lock()
        self._wake = asyncio.Event()  # a kick: new rows due, or stopping
        self._work = asyncio.Event()  # a kick or a reply due (what a channel's holder waits for)
        self.kicks = 0
        self.reply_kicks = 0
        self._replies = ReplyListener(services.db, self.reply_due)
        self._stopping = False
        self._background: asyncio.Task[Any] | None = None
        self._redis: Any = None
        self._pauses: PauseStore | None = None

    # -- life cycle -----------------------------------------------------------
    def kick(self) -> None:
        """New rows are due now: wake a running dispatch, or start one in the background."""
        self.kicks += 1
        self._set(self._wake, self._work)
        if self._stopping or self._run_lock.locked():
            return
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(self._run_logged())

    def reply_due(self) -> None:
        """A reply was enqueued (perhaps by another process): the channel holders claim replies now."""
        self.reply_kicks += 1
        self._set(self._work)

    @staticmethod
    def _set(*events: asyncio.Event) -> None:
        for event in events:
            event.set()
            event.clear()  # set() already woke every waiter; later waits must block again

    async def _run_logged(self) -> None:
        try:
            await self.drain()
        except Exception:
            log.exception("outbox dispatch failed")

    async def stop(self) -> None:
        """Finish the sends on the wire, give back claimed rows and leases, close connections."""
        self._stopping = True
        self.kicks += 1
        self._wake.set()
        self._work.set()
        async with self._run_lock:
            pass
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)
        await self.close()

    async def close(self) -> None:
        await self._replies.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._senders = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def senders(self) -> dict[str, Sender]:
        """The senders of the channels whose credentials are set (built once, on first use)."""
        if self._senders is None:
            settings = self.services.settings
            timeout = self.config.dispatcher.request_timeout_seconds
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
            senders: dict[str, Sender] = {}
            if settings.telegram_bot_token:
                api = telegram_api(self._session, settings, timeout)
                senders["telegram"] = TelegramSender(api, self.config.channels.telegram)
            if settings.wechat_app_id and settings.wechat_app_secret:
                if self._redis is None:
                    self._redis = open_redis(settings)
                store = wechat_token_store(settings, self.services.db, self.services.clock, self._redis)
                senders["wechat"] = WeChatSender(
                    wechat_api(self._session, settings, store, self.services.clock, timeout),
                    self.config.channels.wechat,
                    templates_config(self.services),
                    self.services.texts,
                )
            self._senders = senders
        return self._senders

    def pauses(self) -> PauseStore:
        """Where channel pauses (flood limits, quotas) are shared with the other processes."""
        if self._pauses is None:
            if self._redis is None:
                self._redis = open_redis(self.services.settings)
            self._pauses = pause_store(self.services.db, self.services.clock, self._redis)
        return self._pauses

    def telegram_api(self) -> TelegramApi | None:
        """The Telegram client (shared connection pool), for calls that are not outbox rows."""
        sender = self.senders().get("telegram")
        return sender.api if isinstance(sender, TelegramSender) else None

    def send_seconds(self) -> dict[str, float]:
        return {channel: self.config.pacing(channel).send_seconds for channel in self.senders()}

    def pacer(self, channel: str, pacing: ChannelPacing) -> Pacer:
        if channel not in self.pacers:
            self.pacers[channel] = Pacer(pacing.rate_per_second, pacing.per_chat_interval_seconds)
        return self.pacers[channel]

    # -- a run --------------------------------------------------------------
    async def run(self, *, budget: float | None = None, until_idle: bool = True) -> DispatchStats:
        """Send what is due, for at most `budget` seconds; with `until_idle`, return once nothing is due."""
        stats = DispatchStats()
        async with self._run_lock:
            loop = asyncio.get_running_loop()
            seconds = budget if budget is not None else self.config.dispatcher.run_budget_seconds
            deadline = loop.time() + seconds
            await self._replies.start()
            while not self._stopping:
                kicks = self.kicks
                now = self.services.clock.now()
                async with self.services.db.session() as db:
                    freed = await free_expired_claims(db, now)
                    stats.skipped += await skip_unpushable(db, now)
                    stats.skipped += await drop_pending_too_late(db, now, self.send_seconds())
                if freed:
                    log.warning("outbox: %d rows of a stopped dispatcher are due again", freed)
                runners = [
                    ChannelRunner(self, channel, sender, until_idle=until_idle, deadline=deadline)
                    for channel, sender in self.senders().items()
                ]
                # One channel's failure (a locked database while it winds down) must not leave
                # the other channel's runner orphaned mid-send: each ends, then each is logged.
                results = await asyncio.gather(*(r.run() for r in runners), return_exceptions=True)
                for runner, result in zip(runners, results, strict=True):
                    if isinstance(result, BaseException):
                        if not isinstance(result, Exception):
                            raise result
                        log.error("outbox: the %s runner failed", runner.channel, exc_info=result)
                    else:
                        stats.add(result)
                # A kick that came while the runners were finishing must not wait for the next tick.
                if self.kicks == kicks or loop.time() >= deadline:
                    break
        return stats

    async def drain(self) -> DispatchStats:
        """Runs back to back while a run ends on its budget with work left (the scheduled job's call).

        A run ends after `run_budget_seconds`; left to the scheduler, the next one
        starts at its next tick, up to `interval_seconds` later, and the channel
        idles meanwhile: with a 50 s budget and a 2 s tick that was about 4 % of a
        busy channel's capacity. Runs end here only when nothing is left to send now
        (or on stop), so a backlog is sent at the channel's full pace.
        """
        total = DispatchStats()
        while not self._stopping:
            stats = await self.run()
            total.add(stats)
            if not stats.cut_short:
                break
        return total

    async def wait_for_wake(self, seconds: float) -> None:
        await wait_event(self._wake, seconds)

    async def wait_for_work(self, seconds: float) -> None:
        """A holder's wait: a kick or a due reply ends it (a standby waits for kicks only)."""
        await wait_event(self._work, seconds)

    @property
    def stopping(self) -> bool:
        return self._stopping
