"""One channel's share of a dispatcher run: its lease, its claims and the paced sending loop.

Only the process holding the lease `outbox:<channel>` sends (so the pace is
the platform's limit, not a multiple of it). The loop claims small batches
beside the sends, takes the chat whose slot comes first (an overall rate per
channel and a minimum spacing per chat, `bot.outbox.pacing`), and starts its
next job; what a send's result does to the row is `bot.outbox.results`.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from datetime import datetime, timedelta

from bot.outbox.channel_state import DispatchStats, Slot
from bot.outbox.claims import claim_batch, load_jobs, renew_claims
from bot.outbox.errors import QuotaExceeded, RateLimited, Rejected, SendError, Transient, Unreachable
from bot.outbox.leases import acquire_lease, hand_over
from bot.outbox.results import ResultHandling
from bot.outbox.senders import Job, Skip
from models import Lease

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.5  # how often an unfinished run looks for newly due rows
MAX_WAIT_SLICE = 0.2  # longest sleep before re-checking claims, kicks and leases


class ChannelRunner(ResultHandling):
    """One channel's share of a run: lease, claims, pacing, sends (results: `ResultHandling`)."""

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

    # -- the paced sending loop -----------------------------------------------
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
                heapq.heapreplace(self.heap, Slot(self.pacer.chat_ready_at(slot.chat), slot.seq, slot.chat))
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
                    self.heap, Slot(self.pacer.chat_ready_at(slot.chat), self._next_seq(), slot.chat)
                )
            else:
                del self.queues[slot.chat]

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
        want = self.config.dispatcher.claim_batch - self.queued
        now = self.now()
        lease = self.config.dispatcher.claim_lease_seconds
        async with self.services.db.session() as db:
            ids = await claim_batch(db, channel=self.channel, now=now, want=want, lease_seconds=lease)
            jobs = await load_jobs(db, ids, self._next_seq) if ids else []
        self.exhausted = len(ids) < want
        self.next_claim = self.loop.time() + (IDLE_POLL_SECONDS if self.exhausted else 0.0)
        for job in jobs:
            reason = self._skip_reason(job, now)
            if reason is not None:
                await self._finish(job, "skipped", delivery=reason[0], error=reason[1])
                continue
            self._enqueue_local(job)

    @staticmethod
    def _skip_reason(job: Job, now: datetime) -> tuple[str, str] | None:
        if job.expires_at is not None and job.expires_at <= now:
            return "expired", "expired before it could be sent"
        if not job.reachable:
            return "unreachable", "the user cannot be reached (unsubscribed or blocked the bot)"
        return None

    # -- leases -------------------------------------------------------------
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
                await renew_claims(s, ids, until)
        return True

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
