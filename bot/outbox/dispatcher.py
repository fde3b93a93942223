"""The outbox dispatcher: claims due rows and sends them at each platform's pace.

Per channel, only the process holding the lease `outbox:<channel>` sends
(so the pace is the platform's limit, not a multiple of it); it claims small
batches (replies first), orders them per chat, and starts each send at its
slot: an overall rate per channel and a minimum spacing per chat. Every
result is written as soon as it is known, in its own transaction, so a crash
loses nothing (claimed rows come back when their claim lease runs out) and
repeats at most the sends that were on the wire.

What happens to a row after a send:
- success: `sent` (+ transcript, except replies the engine already recorded);
- 429 / retry_after: `pending` again at now + retry_after, the chat paused;
- blocked / unsubscribed: `skipped` "unreachable", the chat user marked unreachable;
- transient errors: `pending` at now + exponential backoff with jitter, `dead` after N;
- WeChat quota (45009): `pending` after the quota backoff, the channel paused, an alert logged;
- a bad request: `failed`.
Rows of one chat keep their order: after a failure the chat's later rows wait too.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import random
import socket
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import func, insert, literal, select, update

from bot.ops import metrics
from bot.outbox.claims import claim_due, free_expired_claims, skip_unpushable
from bot.outbox.config import ChannelPacing, DeliveryConfig, delivery_config, templates_config
from bot.outbox.errors import QuotaExceeded, RateLimited, Rejected, SendError, Transient, Unreachable
from bot.outbox.leases import acquire_lease, hand_over
from bot.outbox.pacing import Pacer
from bot.outbox.senders import Job, Sender, Skip, TelegramSender, WeChatSender
from bot.outbox.telegram_api import TelegramApi
from bot.outbox.tokens import DbTokenStore, RedisTokenStore, TokenStore
from bot.outbox.wechat_api import WeChatApi
from models import ChatUser, Lease, Message, OutboxMessage

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.5  # how often an unfinished run looks for newly due rows
MAX_WAIT_SLICE = 0.2  # longest sleep before re-checking claims, kicks and leases


@dataclass
class DispatchStats:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    dead: int = 0

    def add(self, other: DispatchStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff_seconds(attempt: int, config: DeliveryConfig, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: spreads retries so a recovering platform is not stampeded."""
    retry = config.retry
    delay = min(retry.max_seconds, retry.base_seconds * retry.factor ** max(attempt - 1, 0))
    spread = (rng or random).uniform(1 - retry.jitter, 1 + retry.jitter)
    return float(delay * spread)


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
        self._wake = asyncio.Event()
        self.kicks = 0
        self._stopping = False
        self._background: asyncio.Task[Any] | None = None
        self._redis: Any = None

    # -- life cycle -----------------------------------------------------------
    def kick(self) -> None:
        """New rows are due now: wake a running dispatch, or start one in the background."""
        self.kicks += 1
        self._wake.set()
        self._wake.clear()  # set() already woke every waiter; later waits must block again
        if self._stopping or self._run_lock.locked():
            return
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(self._run_logged())

    async def _run_logged(self) -> None:
        try:
            await self.run()
        except Exception:
            log.exception("outbox dispatch failed")

    async def stop(self) -> None:
        """Finish the sends on the wire, give back claimed rows and leases, close connections."""
        self._stopping = True
        self.kicks += 1
        self._wake.set()
        async with self._run_lock:
            pass
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)
        await self.close()

    async def close(self) -> None:
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
                api = TelegramApi(
                    self._session,
                    base=settings.telegram_api_base,
                    token=settings.telegram_bot_token,
                    timeout=timeout,
                )
                senders["telegram"] = TelegramSender(api, self.config.channels.telegram)
            if settings.wechat_app_id and settings.wechat_app_secret:
                senders["wechat"] = WeChatSender(
                    self.wechat_api(self._session),
                    self.config.channels.wechat,
                    templates_config(self.services),
                    self.services.texts,
                )
            self._senders = senders
        return self._senders

    def telegram_api(self) -> TelegramApi | None:
        """The Telegram client (shared connection pool), for calls that are not outbox rows."""
        sender = self.senders().get("telegram")
        return sender.api if isinstance(sender, TelegramSender) else None

    def wechat_api(self, session: aiohttp.ClientSession) -> WeChatApi:
        settings = self.services.settings
        return WeChatApi(
            session,
            base=settings.wechat_api_base,
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret,
            store=self.token_store(),
            clock=self.services.clock,
            timeout=self.config.dispatcher.request_timeout_seconds,
        )

    def token_store(self) -> TokenStore:
        settings = self.services.settings
        name = f"wechat:{settings.wechat_app_id}"
        if settings.redis_url:
            if self._redis is None:
                import redis.asyncio as redis

                self._redis = redis.from_url(settings.redis_url)
            return RedisTokenStore(self._redis, name)
        return DbTokenStore(self.services.db, self.services.clock, name)

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
            while not self._stopping:
                kicks = self.kicks
                now = self.services.clock.now()
                async with self.services.db.session() as db:
                    freed = await free_expired_claims(db, now)
                    stats.skipped += await skip_unpushable(db, now)
                if freed:
                    log.warning("outbox: %d rows of a stopped dispatcher are due again", freed)
                runners = [
                    ChannelRunner(self, channel, sender, until_idle=until_idle, deadline=deadline)
                    for channel, sender in self.senders().items()
                ]
                for result in await asyncio.gather(*(r.run() for r in runners)):
                    stats.add(result)
                # A kick that came while the runners were finishing must not wait for the next tick.
                if self.kicks == kicks or loop.time() >= deadline:
                    break
        return stats

    async def wait_for_wake(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            return

    @property
    def stopping(self) -> bool:
        return self._stopping


@dataclass(order=True)
class _Slot:
    ready_at: float
    seq: int
    chat: str = field(compare=False)


class ChannelRunner:
    """One channel's share of a run: lease, claims, pacing, sends, results."""

    def __init__(
        self, dispatcher: Dispatcher, channel: str, sender: Sender, *, until_idle: bool, deadline: float
    ) -> None:
        self.d = dispatcher
        self.services = dispatcher.services
        self.config = dispatcher.config
        self.channel = channel
        self.sender = sender
        self.until_idle = until_idle
        self.deadline = deadline
        pacing = self.config.pacing(channel)
        self.pacer = dispatcher.pacer(channel, pacing)
        self.lease_name = f"outbox:{channel}"
        self.queues: dict[str, deque[Job]] = {}
        self.heap: list[_Slot] = []
        self.in_flight: set[asyncio.Task[None]] = set()
        self.on_the_wire: set[int] = set()  # ids of rows being sent (their claims are renewed too)
        self.last_task: dict[str, asyncio.Task[None]] = {}
        # chat -> (seq, retry_at, reason): its jobs claimed before seq must not be sent in this run;
        # they wait until retry_at, or are skipped when retry_at is None (the chat is unreachable).
        self.broken: dict[str, tuple[int, datetime | None, str]] = {}
        self._task_rows: dict[asyncio.Task[None], tuple[int, ...]] = {}
        self.semaphore = asyncio.Semaphore(self.config.dispatcher.max_in_flight)
        self.stats = DispatchStats()
        self.seq = 0
        self.exhausted = False
        self.loop = asyncio.get_running_loop()
        self.next_claim = 0.0
        self.next_renew = 0.0
        self.paused = False
        self.lost_lease = False
        self.seen_kicks = dispatcher.kicks
        # Claims and lease renewals run beside the sending loop, so a slow query never
        # delays a send past its slot.
        self._claiming: asyncio.Task[None] | None = None
        self._renewing: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def now(self) -> datetime:
        return self.services.clock.now()

    async def run(self) -> DispatchStats:
        db = self.services.db
        if await self._channel_paused():
            return self.stats
        if not await acquire_lease(
            db,
            self.services.clock,
            self.lease_name,
            self.d.holder,
            self.config.dispatcher.leader_lease_seconds,
        ):
            log.debug("outbox %s: another process dispatches this channel", self.channel)
            return self.stats
        self.next_renew = self.loop.time() + self.config.dispatcher.leader_lease_seconds / 3
        try:
            await self._loop()
        finally:
            for helper in (self._claiming, self._renewing):
                if helper is not None:
                    await asyncio.gather(helper, return_exceptions=True)
            if self.in_flight:
                await asyncio.gather(*self.in_flight, return_exceptions=True)
            await self._release_queued()
            if self.d.stopping:
                # Another process may take over, once our last second of sends is behind us.
                pacing = self.config.pacing(self.channel)
                handover = max(1.0, pacing.per_chat_interval_seconds)
                await hand_over(db, self.services.clock, self.lease_name, self.d.holder, handover)
            # Otherwise the lease stays ours until it expires: the next tick of this process
            # renews it, so the channel's pace never restarts from zero in another process.
        return self.stats

    async def _loop(self) -> None:
        while not self.d.stopping and not self.paused and self.loop.time() < self.deadline:
            if self.d.kicks != self.seen_kicks:
                self.seen_kicks = self.d.kicks
                self.next_claim = 0.0
                self.exhausted = False
            if self.lost_lease:
                log.warning("outbox %s: lost the dispatcher lease; stopping this run", self.channel)
                return
            self._renew_in_background()
            self._claim_in_background()
            if not self.heap:
                if self._claiming is not None and not self._claiming.done():
                    await asyncio.wait({self._claiming}, timeout=MAX_WAIT_SLICE)
                    continue
                if self.in_flight:
                    await asyncio.wait(self.in_flight, timeout=MAX_WAIT_SLICE)
                    continue
                if self.until_idle and self.exhausted:
                    return
                await self.d.wait_for_wake(min(IDLE_POLL_SECONDS, max(self.deadline - self.loop.time(), 0)))
                continue
            slot = self.heap[0]
            ready = self.pacer.ready_at(slot.chat)
            if self.pacer.chat_ready_at(slot.chat) > slot.ready_at:
                heapq.heapreplace(self.heap, _Slot(self.pacer.chat_ready_at(slot.chat), slot.seq, slot.chat))
                continue
            wait = ready - self.loop.time()
            if wait > 0:
                await self.d.wait_for_wake(min(wait, MAX_WAIT_SLICE))
                continue
            heapq.heappop(self.heap)
            queue = self.queues.get(slot.chat)
            if not queue:
                self.queues.pop(slot.chat, None)
                continue
            job = queue.popleft()
            self.pacer.take(slot.chat, scheduled=ready)
            self._start(job)
            if queue:
                heapq.heappush(
                    self.heap, _Slot(self.pacer.chat_ready_at(slot.chat), self._next_seq(), slot.chat)
                )
            else:
                del self.queues[slot.chat]

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- claiming -----------------------------------------------------------
    def _claim_in_background(self) -> None:
        if self._claiming is not None and not self._claiming.done():
            return
        if self.queued > self.config.dispatcher.claim_batch // 2 or self.loop.time() < self.next_claim:
            return
        self._claiming = self.loop.create_task(self._claim_logged())

    async def _claim_logged(self) -> None:
        try:
            await self._claim()
        except Exception:
            log.exception("outbox %s: claiming due rows failed; trying again shortly", self.channel)
            self.next_claim = self.loop.time() + IDLE_POLL_SECONDS

    async def _claim(self) -> None:
        batch = self.config.dispatcher.claim_batch
        want = batch - self.queued
        now = self.now()
        lease = self.config.dispatcher.claim_lease_seconds
        async with self.services.db.session() as db:
            ids = await claim_due(
                db, channel=self.channel, now=now, limit=want, lease_seconds=lease, kind="reply"
            )
            if len(ids) < want:
                ids += await claim_due(
                    db, channel=self.channel, now=now, limit=want - len(ids), lease_seconds=lease
                )
            jobs = await self._load(db, ids) if ids else []
        self.exhausted = len(ids) < want
        self.next_claim = self.loop.time() + (IDLE_POLL_SECONDS if self.exhausted else 0.0)
        for job in jobs:
            reason = self._skip_reason(job, now)
            if reason is not None:
                await self._finish(job, "skipped", delivery=reason[0], error=reason[1])
                continue
            self._enqueue_local(job)

    async def _load(self, db: Any, ids: list[int]) -> list[Job]:
        # Plain columns, not ORM objects: this runs beside the sends, so it must stay light.
        rows = await db.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.idempotency_key,
                OutboxMessage.kind,
                OutboxMessage.text,
                OutboxMessage.choices,
                OutboxMessage.template,
                OutboxMessage.attempts,
                OutboxMessage.due_at,
                OutboxMessage.expires_at,
                ChatUser.id.label("user_id"),
                ChatUser.channel,
                ChatUser.external_id,
                ChatUser.reachable,
                ChatUser.last_inbound_at,
            )
            .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.kind != "reply", OutboxMessage.due_at, OutboxMessage.id)
        )
        return [
            Job(
                id=row.id,
                key=row.idempotency_key,
                kind=row.kind,
                text=row.text,
                choices=list(row.choices or []),
                template=row.template,
                attempts=row.attempts,
                due_at=row.due_at,
                expires_at=row.expires_at,
                chat_user_id=row.user_id,
                channel=row.channel,
                external_id=row.external_id,
                reachable=row.reachable,
                last_inbound_at=row.last_inbound_at,
                seq=self._next_seq(),
            )
            for row in rows.all()
        ]

    @staticmethod
    def _skip_reason(job: Job, now: datetime) -> tuple[str, str] | None:
        if job.expires_at is not None and job.expires_at <= now:
            return "expired", "expired before it could be sent"
        if not job.reachable:
            return "unreachable", "the user cannot be reached (unsubscribed or blocked the bot)"
        return None

    def _enqueue_local(self, job: Job) -> None:
        chat = job.external_id
        queue = self.queues.get(chat)
        if queue is None:
            queue = self.queues[chat] = deque()
            heapq.heappush(self.heap, _Slot(self.pacer.chat_ready_at(chat), job.seq, chat))
        queue.append(job)

    def _renew_in_background(self) -> None:
        if self.loop.time() < self.next_renew or (self._renewing is not None and not self._renewing.done()):
            return
        self.next_renew = self.loop.time() + self.config.dispatcher.leader_lease_seconds / 3
        self._renewing = self.loop.create_task(self._renew_logged())

    async def _renew_logged(self) -> None:
        try:
            if not await self._renew():
                self.lost_lease = True
        except Exception:
            log.exception("outbox %s: renewing the leases failed; trying again shortly", self.channel)

    async def _renew(self) -> bool:
        dispatcher = self.config.dispatcher
        db, clock = self.services.db, self.services.clock
        if not await acquire_lease(
            db, clock, self.lease_name, self.d.holder, dispatcher.leader_lease_seconds
        ):
            return False
        ids = [job.id for queue in self.queues.values() for job in queue] + list(self.on_the_wire)
        if ids:
            until = self.now() + timedelta(seconds=dispatcher.claim_lease_seconds)
            async with db.session() as s:
                await s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                    .values(locked_until=until)
                    .execution_options(synchronize_session=False)
                )
        return True

    async def _release_queued(self, chat: str | None = None, not_before: datetime | None = None) -> None:
        """Give claimed, unsent rows back (all, or one chat's) so that nothing waits for a lease to expire."""
        chats = [chat] if chat is not None else list(self.queues)
        ids = [job.id for c in chats for job in self.queues.pop(c, ())]
        if not ids:
            return
        values: dict[str, Any] = {"status": "pending", "locked_until": None}
        async with self.services.db.session() as db:
            if not_before is not None:
                # Later rows of a chat wait for its failed one, so the chat sees them in order.
                bound = literal(not_before, OutboxMessage.__table__.c.due_at.type)
                larger = func.greatest if db.bind.dialect.name == "postgresql" else func.max
                values["due_at"] = larger(OutboxMessage.due_at, bound)
            await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def _channel_paused(self) -> bool:
        """A quota pause is a lease nobody renews, shared by every process until it expires."""
        async with self.services.db.session() as db:
            lease = await db.get(Lease, f"pause:{self.channel}")
            return bool(lease and lease.holder and lease.expires_at and lease.expires_at > self.now())

    # -- sending ------------------------------------------------------------
    def _start(self, job: Job) -> None:
        self.on_the_wire.add(job.id)
        previous = self.last_task.get(job.external_id)
        task = self.loop.create_task(self._send(job, previous))
        self._task_rows[task] = (job.id,)
        self.last_task[job.external_id] = task
        self.in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.on_the_wire.difference_update(self._task_rows.pop(task, ()))
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox send task crashed", exc_info=task.exception())

    async def _send(self, job: Job, previous: asyncio.Task[None] | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.gather(previous, return_exceptions=True)
        broken = self.broken.get(job.external_id)
        if broken is not None and broken[0] > job.seq:
            if broken[1] is None:
                await self._finish(job, "skipped", delivery="unreachable", error=broken[2])
            else:
                await self._requeue(job, broken[1], f"waits for an earlier message: {broken[2]}")
            return
        async with self.semaphore:
            now = self.now()
            try:
                delivery = await self.sender.deliver(job, now)
            except Skip as skip:
                await self._finish(job, "skipped", delivery=skip.delivery, error=str(skip))
            except RateLimited as exc:
                await self._rate_limited(job, exc)
            except Unreachable as exc:
                await self._unreachable(job, exc)
            except QuotaExceeded as exc:
                await self._quota(job, exc)
            except Rejected as exc:
                await self._finish(job, "failed", error=str(exc), attempt=True)
            except (Transient, SendError) as exc:
                await self._transient(job, exc)
            except Exception as exc:  # a bug must not lose the row: treat it as transient
                log.exception("outbox: unexpected error sending row %s", job.id)
                await self._transient(job, Transient(f"{type(exc).__name__}: {exc}"))
            else:
                await self._finish(job, "sent", delivery=delivery, error=job.note, attempt=True)

    async def _rate_limited(self, job: Job, exc: RateLimited) -> None:
        self.stats.rate_limited += 1
        metrics.retry_after(self.channel, exc.retry_after)
        log.warning("outbox %s: rate limited (%s); waiting %.1fs", self.channel, exc, exc.retry_after)
        self.pacer.pause_chat(job.external_id, exc.retry_after)
        self.pacer.pause_all(min(exc.retry_after, 1.0))
        retry_at = self.now() + timedelta(seconds=exc.retry_after)
        await self._break_chat(job, retry_at, str(exc))
        await self._requeue(job, retry_at, str(exc))

    async def _transient(self, job: Job, exc: SendError) -> None:
        attempts = job.attempts + 1
        if attempts >= self.config.retry.max_attempts:
            log.error("outbox: row %s dead after %d attempts: %s", job.id, attempts, exc)
            await self._finish(job, "dead", error=str(exc), attempt=True)
            return
        retry_at = self.now() + timedelta(seconds=backoff_seconds(attempts, self.config))
        await self._break_chat(job, retry_at, str(exc))
        self.stats.retried += 1
        metrics.send(self.channel, "retry")
        await self._update(job, status="pending", due_at=retry_at, attempts=attempts, last_error=str(exc))

    async def _unreachable(self, job: Job, exc: Unreachable) -> None:
        log.info("outbox %s: chat user %s unreachable: %s", self.channel, job.chat_user_id, exc)
        async with self.services.db.session() as db:
            await db.execute(update(ChatUser).where(ChatUser.id == job.chat_user_id).values(reachable=False))
        for other in self.queues.pop(job.external_id, deque()):
            await self._finish(other, "skipped", delivery="unreachable", error=str(exc))
        self.broken[job.external_id] = (self.seq + 1, None, str(exc))
        await self._finish(job, "skipped", delivery="unreachable", error=str(exc), attempt=True)

    async def _quota(self, job: Job, exc: QuotaExceeded) -> None:
        seconds = self.config.retry.quota_backoff_seconds
        log.error(
            "ALERT outbox %s: the platform's daily API quota is used up (%s); pausing the channel for %.0f s",
            self.channel,
            exc,
            seconds,
        )
        self.paused = True  # this run stops; the pause lease below stops every process's next runs
        await acquire_lease(self.services.db, self.services.clock, f"pause:{self.channel}", "quota", seconds)
        retry_at = self.now() + timedelta(seconds=seconds)
        await self._release_queued(not_before=retry_at)
        await self._requeue(job, retry_at, str(exc))

    async def _break_chat(self, job: Job, retry_at: datetime, reason: str) -> None:
        self.broken[job.external_id] = (self.seq + 1, retry_at, reason)
        await self._release_queued(job.external_id, not_before=retry_at)

    async def _requeue(self, job: Job, due_at: datetime, error: str) -> None:
        await self._update(job, status="pending", due_at=due_at, last_error=error)

    async def _update(self, job: Job, **values: Any) -> None:
        values.setdefault("locked_until", None)
        async with self.services.db.session() as db:
            await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == job.id, OutboxMessage.status == "sending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def _finish(
        self,
        job: Job,
        status: str,
        *,
        delivery: str | None = None,
        error: str | None = None,
        attempt: bool = False,
    ) -> None:
        now = self.now()
        values: dict[str, Any] = {"status": status, "locked_until": None}
        if delivery is not None:
            values["delivery"] = delivery
        if error is not None:
            values["last_error"] = error[:2000]
        if attempt:
            values["attempts"] = job.attempts + 1
        if status == "sent":
            values["sent_at"] = now
        async with self.services.db.session() as db:
            result = await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == job.id, OutboxMessage.status == "sending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if status == "sent" and job.kind != "reply" and result.rowcount:  # type: ignore[attr-defined]
                await db.execute(
                    insert(Message).values(
                        chat_user_id=job.chat_user_id,
                        direction="out",
                        text=job.text,
                        choices=list(job.choices),
                        created_at=now,
                    )
                )
        metrics.send(self.channel, delivery if status == "skipped" and delivery == "unreachable" else status)
        counter = {"sent": "sent", "skipped": "skipped", "failed": "failed", "dead": "dead"}.get(status)
        if counter:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)
