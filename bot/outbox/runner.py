"""One channel's share of a dispatcher run: its lease, its claims and the paced sending loop.

Only the process holding the lease `outbox:<channel>` sends (so the pace is
the platform's limit, not a multiple of it). The loop claims small batches
beside the sends, takes the chat whose slot comes first (an overall rate per
channel and a minimum spacing per chat, `bot.outbox.pacing`), and starts its
next job; what a send's result does to the row is `bot.outbox.results`.

Lanes (`bot.outbox.lanes`): each lane has its own heap of chat slots and its
own budget of claimed rows; replies are claimed every `lanes.reply_poll_seconds`
and go first whenever their chat may be sent to, reminders and broadcasts
share the rest of the pace by weight.

Fencing on the sending side (`bot.outbox.heartbeat`): a job is only started
while the holder's last heartbeat still covers its claim and the channel
lease by a heartbeat's margin (`Job.lease_until`, moved on by every renewal);
a row whose renewal matched nothing belongs to another holder now and is dropped.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from datetime import datetime, timedelta

from bot.outbox.channel_state import DispatchStats, Slot, wait_event
from bot.outbox.claims import claim_lanes, load_jobs, release_claims
from bot.outbox.deadlines import TOO_LATE, TOO_LATE_REASON, note_dropped, too_late
from bot.outbox.errors import (
    RateLimited,
)
from bot.outbox.heartbeat import Heartbeat
from bot.outbox.lanes import LANE_RANK, LANES
from bot.outbox.leases import hand_over
from bot.outbox.senders import Job

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.5  # how often an unfinished run looks for newly due rows
MAX_WAIT_SLICE = 0.2  # longest sleep before re-checking claims, kicks and leases


class ChannelRunner(Heartbeat):
    """One channel's run: claims, pacing, sends (leases: `Heartbeat`; results: `ResultHandling`)."""

    async def run(self) -> DispatchStats:
        while True:
            if not await self._honour_pause() or not await self._take_channel():
                return self.stats
            try:
                await self._loop()
                if self._cut_short():
                    self.stats.cut_short += 1
            finally:
                await self._wind_down()
            if not self.lost_lease or self.d.stopping or self.loop.time() >= self.deadline:
                return self.stats
            # A late heartbeat (a busy database) cost us the lease: take it back (or stand by)
            # at once rather than leave the channel idle until this process's next run.
            self.lost_lease = False
            self.next_claim = self.next_reply_claim = 0.0

    def _cut_short(self) -> bool:
        """The run's budget ended this loop while the channel still had work (not a pause or a lost lease)."""
        if self.d.stopping or self.paused or self.lost_lease or self.loop.time() < self.deadline:
            return False
        idle = self.exhausted and self.replies_exhausted
        return bool(self.queues or self.in_flight or not idle)

    async def _wind_down(self) -> None:
        """Finish what is on the wire, give back what is queued, hand the lease over when stopping."""
        claiming = [t for t in (self._claiming, self._claiming_replies) if t is not None]
        await asyncio.gather(*claiming, return_exceptions=True)
        while self.in_flight:  # the heartbeat goes on while the last answers come in
            self._renew_in_background()
            await asyncio.wait(self.in_flight, timeout=MAX_WAIT_SLICE)
        await self._end_heartbeat()
        await self._release_queued()
        if self.d.stopping:
            # Another process may take over, once our last second of sends is behind us.
            pacing = self.config.pacing(self.channel)
            handover = max(1.0, pacing.per_chat_interval_seconds)
            await hand_over(self.services.db, self.services.clock, self.lease_name, self.d.holder, handover)
        # Otherwise the lease stays ours until it expires: the next tick of this process
        # renews it, so the channel's pace never restarts from zero in another process.

    # -- the paced sending loop -----------------------------------------------
    async def _loop(self) -> None:
        while not self.d.stopping and not self.paused and self.loop.time() < self.deadline:
            if self.d.kicks != self.seen_kicks:
                self.seen_kicks = self.d.kicks
                self.next_claim = 0.0
                self.exhausted = False
                self.reply_wanted, self.replies_exhausted = True, False  # it may be a reply
            if self.d.reply_kicks != self.seen_reply_kicks:
                self.seen_reply_kicks = self.d.reply_kicks
                self.reply_wanted = True  # claimed at once, even if a reply claim is under way now
                self.replies_exhausted = False
            holds = self._may_send()
            if self.lost_lease or holds is False:
                log.warning(
                    "outbox %s: lost the dispatcher lease; taking it back or standing by", self.channel
                )
                self.lost_lease = True
                return
            self._renew_in_background()
            if holds is None:  # the heartbeat is late: no send starts until it lands (or the lease lapses)
                if self._renewing is not None and not self._renewing.done():
                    await asyncio.wait({self._renewing}, timeout=MAX_WAIT_SLICE)
                else:
                    await asyncio.sleep(MAX_WAIT_SLICE / 4)
                continue
            self._claim_in_background()
            if not self.queues:
                claiming = {t for t in (self._claiming, self._claiming_replies) if _busy(t)}
                if claiming:
                    await asyncio.wait(claiming, timeout=MAX_WAIT_SLICE)
                    continue
                if self.in_flight:
                    await asyncio.wait(self.in_flight, timeout=MAX_WAIT_SLICE)
                    continue
                if self.until_idle and self.exhausted and self.replies_exhausted:
                    return
                await self.d.wait_for_work(min(IDLE_POLL_SECONDS, max(self.deadline - self.loop.time(), 0)))
                continue
            if len(self.requesting) >= self.config.dispatcher.max_in_flight:
                # Every send permit is taken (slow answers): take no slot now, so the next one
                # freed goes to whoever is first then (a reply that came meanwhile), not to a
                # send queued for a permit with its slot long gone.
                self.permit_freed.clear()
                await wait_event(self.permit_freed, MAX_WAIT_SLICE)
                continue
            choice = self._choose()
            if choice is None:
                self._reslot()  # only stale slots were left: give every queued chat a slot again
                continue
            if isinstance(choice, float):
                wait = choice - self.loop.time()
                await self.d.wait_for_work(min(max(wait, 0.0), MAX_WAIT_SLICE))
                continue
            lane, slot, ready = choice
            heapq.heappop(self.heaps[lane])
            queue = self.queues[slot.chat]
            job = queue.popleft()
            self.lane_queued[job.lane] -= 1
            if queue:
                head = queue[0]
                heapq.heappush(
                    self.heaps[head.lane],
                    Slot(self.pacer.chat_ready_at(slot.chat), self._next_seq(), slot.chat),
                )
            else:
                del self.queues[slot.chat]
            if not self._claim_holds(job):
                self._give_back(job)
                continue
            self._advance(job.lane)
            self.pacer.take(slot.chat, scheduled=ready)
            self._start(job)

    def _top(self, lane: str) -> Slot | None:
        """The first slot of a lane whose chat still has jobs, its time brought up to the chat's spacing."""
        heap = self.heaps[lane]
        while heap:
            slot = heap[0]
            if slot.chat not in self.queues:
                heapq.heappop(heap)
                continue
            chat_ready = self.pacer.chat_ready_at(slot.chat)
            if chat_ready > slot.ready_at:
                heapq.heapreplace(heap, Slot(chat_ready, slot.seq, slot.chat))
                continue
            return slot
        return None

    def _choose(self) -> tuple[str, Slot, float] | float | None:
        """The lane and slot to send now (replies first, then by weight), else when the next is ready."""
        now = self.loop.time()
        ready: list[tuple[str, Slot, float]] = []
        earliest: float | None = None
        for lane in LANES:
            slot = self._top(lane)
            if slot is None:
                continue
            at = self.pacer.ready_at(slot.chat)
            if at <= now:
                ready.append((lane, slot, at))
            elif earliest is None or at < earliest:
                earliest = at
        if not ready:
            return earliest
        if ready[0][0] == "reply":
            return ready[0]
        return min(ready, key=lambda r: (max(self.lane_pass[r[0]], self.vtime), LANE_RANK[r[0]]))

    def _give_back(self, job: Job) -> None:
        """A row not sent because its claim may lapse goes back at once (if it is still ours)."""

        async def release() -> None:
            async with self.services.db.session() as db:
                await release_claims(db, [job], None)

        task = self.loop.create_task(release())
        self.in_flight.add(task)
        task.add_done_callback(self._done)

    def _reslot(self) -> None:
        for chat, queue in self.queues.items():
            heapq.heappush(
                self.heaps[queue[0].lane], Slot(self.pacer.chat_ready_at(chat), self._next_seq(), chat)
            )

    def _advance(self, lane: str) -> None:
        weight = self.config.lanes.weight(lane)
        if weight <= 0:
            return
        start = max(self.lane_pass[lane], self.vtime)
        self.lane_pass[lane] = start + 1.0 / weight
        self.vtime = start

    # -- claiming -----------------------------------------------------------
    def _wants(self) -> dict[str, int]:
        """How many rows each lane may claim now: its budget minus what it holds, refilled at half."""
        lanes = self.config.lanes
        held = self.lane_queued
        room = self.config.dispatcher.claim_batch - held["reminder"] - held["broadcast"]
        wants = {"reply": lanes.reply_queue - self.lane_queued["reply"]}
        for lane in ("reminder", "broadcast"):
            budget, held = lanes.queue(lane), self.lane_queued[lane]
            wants[lane] = max(0, min(budget - held, room)) if held <= budget // 2 else 0
        return wants

    def _claim_in_background(self) -> None:
        """Replies and the other lanes are claimed apart, so a reply never waits for a batch's claim."""
        now = self.loop.time()
        wants = self._wants()
        due = now >= self.next_reply_claim or self.reply_wanted
        if not _busy(self._claiming_replies) and due and wants["reply"] > 0:
            self.reply_wanted = False  # a reply announced from now on is claimed again after this
            self._claiming_replies = self.loop.create_task(self._claim_logged({"reply": wants["reply"]}))
        others = {lane: wants[lane] for lane in ("reminder", "broadcast") if wants[lane] > 0}
        if not _busy(self._claiming) and now >= self.next_claim and others:
            self._claiming = self.loop.create_task(self._claim_logged(others))

    async def _claim_logged(self, wants: dict[str, int]) -> None:
        try:
            await self._claim(wants)
        except Exception:
            log.exception("outbox %s: claiming due rows failed; trying again shortly", self.channel)
            if "reply" in wants:
                self.next_reply_claim = self.loop.time() + IDLE_POLL_SECONDS
            else:
                self.next_claim = self.loop.time() + IDLE_POLL_SECONDS

    async def _claim(self, wants: dict[str, int]) -> None:
        now = self.now()
        lease = self.config.dispatcher.claim_lease_seconds
        started = self.loop.time()
        async with self.services.db.session() as db:
            ids = await claim_lanes(db, channel=self.channel, now=now, wants=wants, lease_seconds=lease)
            jobs = await load_jobs(db, ids, self._next_seq) if ids else []
        self.stats.claim_seconds.append(self.loop.time() - started)
        got: dict[str, int] = {}
        for job in jobs:
            got[job.lane] = got.get(job.lane, 0) + 1
        short = all(got.get(lane, 0) < want for lane, want in wants.items())
        if "reply" in wants:
            self.replies_exhausted = short
            self.next_reply_claim = self.loop.time() + self.config.lanes.reply_poll_seconds
        else:
            # Nothing more is due only if every lane was asked (a lane still holding rows was not).
            self.exhausted = short and len(wants) == 2
            self.next_claim = self.loop.time() + (IDLE_POLL_SECONDS if short else 0.0)
        skips = []
        for job in jobs:
            job.lease_until = started + lease
            reason = self._skip_reason(job, now)
            if reason is not None:
                skips.append(self._finish(job, "skipped", delivery=reason[0], error=reason[1]))
                continue
            self._enqueue_local(job)
        await asyncio.gather(*skips)  # written together (`bot.outbox.writes`), not one after another

    def _skip_reason(self, job: Job, now: datetime) -> tuple[str, str] | None:
        if job.expires_at is not None and job.expires_at <= now:
            return "expired", "expired before it could be sent"
        if self._late(job, now):
            return TOO_LATE, TOO_LATE_REASON
        if not job.reachable:
            return "unreachable", "the user cannot be reached (unsubscribed or blocked the bot)"
        return None

    def _late(self, job: Job, now: datetime) -> bool:
        """Too late to arrive before its deadline (counted and logged once, where it is dropped)."""
        if not too_late(job.deadline_at, now, self.config.pacing(self.channel).send_seconds):
            return False
        note_dropped(self.channel, job.kind, job.id, job.deadline_at)
        return True

    # -- sending ------------------------------------------------------------
    def _start(self, job: Job) -> None:
        self.on_the_wire[job.id] = job
        self.requesting.add(job.id)
        previous = self.last_task.get(job.external_id)
        task = self.loop.create_task(self._send(job, previous))
        self._task_rows[task] = (job.id,)
        self.last_task[job.external_id] = task
        self.in_flight.add(task)
        task.add_done_callback(self._done)

    def _request_over(self, job: Job) -> None:
        """The send's request is answered (or will not be made): the loop may start another."""
        self.requesting.discard(job.id)
        self.permit_freed.set()

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        for row in self._task_rows.pop(task, ()):
            self.on_the_wire.pop(row, None)
            self.requesting.discard(row)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox send task crashed", exc_info=task.exception())

    async def _send(self, job: Job, previous: asyncio.Task[None] | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.gather(previous, return_exceptions=True)
        broken = self.broken.get(job.external_id)
        if broken is not None and broken[0] > job.seq:
            self._request_over(job)
            if broken[1] is None:
                await self._finish(job, "skipped", delivery="unreachable", error=broken[2])
            else:
                await self._requeue(job, broken[1], f"waits for an earlier message: {broken[2]}")
            return
        outcome = await self._deliver(job)
        if outcome is None:
            return
        # The result is written outside the send permit: a slow database then delays
        # the row's write, never the next request (a reply's above all).
        if isinstance(outcome, str):
            await self._finish(job, "sent", delivery=outcome, error=job.note, attempt=True)
        else:
            await self._outcome(job, outcome)

    async def _deliver(self, job: Job) -> str | BaseException | None:
        """The request itself, under a send permit: its delivery, its error, or None when not sent."""
        async with self.semaphore:
            try:
                paused = self.pacer.paused_for()
                if paused > 0:
                    # A flood limit came back while this send waited for its turn: not into the window.
                    retry_at = self.now() + timedelta(seconds=paused)
                    reason = "the channel is paused by a flood limit"
                    await self._break_chat(job, retry_at, reason)
                    await self._requeue(job, retry_at, reason)
                    return None
                if not self._still_ours(job):
                    # It waited for its turn until our leases may lapse: another process may send it now.
                    async with self.services.db.session() as db:
                        await release_claims(db, [job], None)
                    return None
                now = self.now()
                if self._late(job, now):
                    # It waited in the queue past its deadline: not sent after the class began.
                    await self._finish(job, "skipped", delivery=TOO_LATE, error=TOO_LATE_REASON)
                    return None
                try:
                    return await self.sender.deliver(job, now)
                except RateLimited as exc:
                    # Paused before the permit is given back, so no waiting send starts into the window.
                    self._pause_for(job, exc)
                    return exc
                except Exception as exc:
                    return exc
            finally:
                self._request_over(job)


def _busy(task: asyncio.Task[None] | None) -> bool:
    return task is not None and not task.done()
