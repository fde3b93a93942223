"""What one channel's run holds in memory: the claimed rows per chat, their slots, broken chats.

Rows of one chat keep their order: each chat has a FIFO of claimed jobs and
one slot in a heap ordered by when the chat may next be sent to. A chat
whose send failed is "broken" from that point of the run on: its later jobs
go back to the database (due no earlier than the failed one) or, when the
chat is unreachable, are skipped. A chat's slot sits in the heap of the lane
of its next job (`bot.outbox.lanes`), so the loop can take replies first.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.outbox.claims import release_claims
from bot.outbox.lanes import LANES
from bot.outbox.senders import Job, Sender
from bot.outbox.writes import ResultWriter

if TYPE_CHECKING:
    from bot.outbox.dispatcher import Dispatcher


@dataclass
class DispatchStats:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    dead: int = 0
    unknown: int = 0  # sends whose outcome is unknown (timed out after the request was written)
    discarded: int = 0  # late results of rows whose claim had passed to another holder
    dropped: int = 0  # claimed rows not sent because the claim could lapse while on the wire
    claim_seconds: list[float] = field(default_factory=list)  # how long each claim took
    # Channel runs that ended on the run's budget with rows still queued or due: the next run
    # must follow at once, or the channel idles until the next tick (`Dispatcher.drain`).
    cut_short: int = 0

    def add(self, other: DispatchStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(order=True)
class Slot:
    ready_at: float
    seq: int
    chat: str = field(compare=False)


async def wait_event(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` pass, whichever is first."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return


class ChannelState:
    """The state of one channel's share of a run, shared by its claiming, sending and result handling."""

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
        self.heaps: dict[str, list[Slot]] = {lane: [] for lane in LANES}
        self.lane_queued: dict[str, int] = dict.fromkeys(LANES, 0)
        # Stride scheduling between reminders and broadcasts: each send advances its lane's pass.
        self.lane_pass: dict[str, float] = dict.fromkeys(LANES, 0.0)
        self.vtime = 0.0
        self.in_flight: set[asyncio.Task[None]] = set()
        self.on_the_wire: dict[int, Job] = {}  # rows being sent (their claims are renewed too)
        # Rows started whose request is not answered yet: at most `max_in_flight`, so a slot is
        # taken only when a request can go at once (a reply never queues behind taken slots).
        self.requesting: set[int] = set()
        self.permit_freed = asyncio.Event()
        self.last_task: dict[str, asyncio.Task[None]] = {}
        # chat -> (seq, retry_at, reason): its jobs claimed before seq must not be sent in this run;
        # they wait until retry_at, or are skipped when retry_at is None (the chat is unreachable).
        self.broken: dict[str, tuple[int, datetime | None, str]] = {}
        self._task_rows: dict[asyncio.Task[None], tuple[int, ...]] = {}
        self.semaphore = asyncio.Semaphore(self.config.dispatcher.max_in_flight)
        self.stats = DispatchStats()
        tz = self.services.clock.tz
        self.writer = ResultWriter(self.services.db, channel, self.now, lambda at: at.astimezone(tz).date())
        self.seq = 0
        self.exhausted = False  # the last claim of reminders and broadcasts came back short
        self.replies_exhausted = False  # ... and of replies
        self.loop = asyncio.get_running_loop()
        self.next_claim = 0.0
        self.next_reply_claim = 0.0
        self.next_renew = 0.0
        self.leader_until = 0.0  # loop time until which our channel lease is surely ours
        self.paused = False
        self.lost_lease = False
        self.seen_kicks = dispatcher.kicks
        self.seen_reply_kicks = dispatcher.reply_kicks
        self.reply_wanted = False  # a reply was announced: claim replies now, not at the next poll
        # Claims and lease renewals run beside the sending loop, so a slow query never
        # delays a send past its slot.
        self._claiming: asyncio.Task[None] | None = None
        self._claiming_replies: asyncio.Task[None] | None = None
        self._renewing: asyncio.Task[None] | None = None
        self._renewing_rows: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return sum(self.lane_queued.values())

    def now(self) -> datetime:
        return self.services.clock.now()

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _enqueue_local(self, job: Job) -> None:
        chat = job.external_id
        queue = self.queues.get(chat)
        if queue is None:
            queue = self.queues[chat] = deque()
            heapq.heappush(self.heaps[job.lane], Slot(self.pacer.chat_ready_at(chat), job.seq, chat))
        elif job.lane == "reply":
            # A reply behind this chat's queued notices: the chat's next slot is taken with the
            # replies' priority (the chat's order stays as it was; only its turn comes sooner).
            heapq.heappush(self.heaps["reply"], Slot(self.pacer.chat_ready_at(chat), job.seq, chat))
        queue.append(job)
        self.lane_queued[job.lane] += 1

    def _pop_queue(self, chat: str) -> list[Job]:
        """Take a chat's queued jobs out of the run (their slots go stale and are skipped)."""
        jobs = list(self.queues.pop(chat, ()))
        for job in jobs:
            self.lane_queued[job.lane] -= 1
        return jobs

    async def _release_queued(self, chat: str | None = None, not_before: datetime | None = None) -> None:
        """Give claimed, unsent rows back (all, or one chat's) so that nothing waits for a lease to expire."""
        chats = [chat] if chat is not None else list(self.queues)
        jobs = [job for c in chats for job in self._pop_queue(c)]
        if not jobs:
            return
        async with self.services.db.session() as db:
            await release_claims(db, jobs, not_before)

    async def _break_chat(self, job: Job, retry_at: datetime, reason: str) -> None:
        self.broken[job.external_id] = (self.seq + 1, retry_at, reason)
        await self._release_queued(job.external_id, not_before=retry_at)
