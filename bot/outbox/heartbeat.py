"""The holder's heartbeat: its channel lease and its claims, kept alive while it works.

Leases are short (`dispatcher.claim_lease_seconds`, `leader_lease_seconds`, a
few seconds) and renewed every `dispatcher.heartbeat_seconds`, so a SIGKILLed
holder's queued rows and channel come back within a few seconds, not after
the longest request could take. A row on the wire is renewed for
`wire_lease_seconds` (request timeout + claim lease): its request may still
arrive, so nobody else may take it while its answer is outstanding.

Fencing stays as it was: a renewal lands only under the row's own token
(`claims.update_claimed`), and a holder starts a send only while its own last
successful heartbeat still covers the channel lease and the row's claim by a
margin (`send_margin_seconds`). A holder whose heartbeats fail (a stalled database) thus
stops sending before another process can take its rows; its late results
are discarded by the token.

Other processes stand by: a process that does not hold the channel polls
its lease every `standby_poll_seconds` and takes over as soon as it has run
out (with `until_idle`, only while the channel has work).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import exists, select, update

from bot.outbox.claims import due_query, free_expired_claims, renew_claims
from bot.outbox.leases import acquire_lease
from bot.outbox.results import ResultHandling
from bot.outbox.senders import Job
from models import ChatUser, OutboxMessage

log = logging.getLogger(__name__)

LOST = float("-inf")  # `Job.lease_until` of a row whose claim passed to another holder


class Heartbeat(ResultHandling):
    """Lease keeping of one channel's run: taking the channel, renewing it and the claims, standing by."""

    async def _take_channel(self) -> bool:
        """Our lease of the channel (now, or after standing by while another holder has it); False if not."""
        if await self._acquire():
            await self._free_previous_claims()
            return True
        log.debug("outbox %s: another process dispatches this channel; standing by", self.channel)
        poll = self.config.dispatcher.standby_poll_seconds
        while not self.d.stopping and self.loop.time() + poll < self.deadline:
            if self.until_idle and not await self._channel_has_work():
                return False
            await self.d.wait_for_wake(poll)
            if await self._acquire():
                log.info("outbox %s: took the channel over from a stopped holder", self.channel)
                await self._free_previous_claims()
                # A flood pause the old holder was told about holds for us too.
                return await self._honour_pause()
        return False

    async def _free_previous_claims(self) -> None:
        """The queued rows of the channel's previous holder come back now, with its channel lease.

        Whoever held the channel before us sends nothing more: it starts a send
        only while its channel lease surely holds (`_still_ours`), and that lease
        has run out, or was ours (a previous run of this process gave its rows
        back). Its rows waiting in memory can thus go at once, without waiting for
        their claims to run out: their claims end at most a claim lease after its
        last heartbeat, which was a channel lease ago (a heartbeat of slack: the
        claims are renewed in a task of their own). Its rows on the wire can not:
        their claims were renewed for the request timeout longer, past this bound,
        so a request that may still arrive is not sent again while it may.
        """
        d = self.config.dispatcher
        ahead = d.claim_lease_seconds - d.leader_lease_seconds + d.heartbeat_seconds
        bound = self.now() + timedelta(seconds=ahead)
        users = select(ChatUser.id).where(ChatUser.channel == self.channel)
        async with self.services.db.session() as s:
            result = await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == "sending",
                    OutboxMessage.locked_until <= bound,
                    OutboxMessage.chat_user_id.in_(users),
                )
                .values(status="pending", locked_until=None, lease_token=None)
                .execution_options(synchronize_session=False)
            )
        freed = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if freed:
            log.warning("outbox %s: %d rows of the previous holder are due again", self.channel, freed)

    async def _acquire(self) -> bool:
        dispatcher = self.config.dispatcher
        started = self.loop.time()
        if not await acquire_lease(
            self.services.db,
            self.services.clock,
            self.lease_name,
            self.d.holder,
            dispatcher.leader_lease_seconds,
        ):
            return False
        self.leader_until = started + dispatcher.leader_lease_seconds
        self.next_renew = started + dispatcher.heartbeat_seconds
        return True

    async def _channel_has_work(self) -> bool:
        """Rows of the channel due now or claimed (perhaps by a holder that died): worth standing by for."""
        now = self.now()
        claimed = (
            select(OutboxMessage.id)
            .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
            .where(OutboxMessage.status == "sending", ChatUser.channel == self.channel)
        )
        async with self.services.db.session() as s:
            return bool(await s.scalar(select(exists(due_query(self.channel, now, 1)) | exists(claimed))))

    async def _honour_pause(self) -> bool:
        """Wait out a shared pause in the pacer when it ends within this run; False to skip the run."""
        until = await self.d.pauses().paused_until(self.channel)
        if until is None:
            return True
        seconds = (until - self.now()).total_seconds()
        if self.loop.time() + seconds >= self.deadline:
            return False
        self.pacer.pause_all(seconds)
        return True

    # -- while holding the channel ------------------------------------------
    def _may_send(self) -> bool | None:
        """True while our channel lease is safely ours; None while a late heartbeat may still save it."""
        margin = self.config.dispatcher.send_margin_seconds
        now = self.loop.time()
        if now + margin < self.leader_until:
            return True
        return None if now < self.leader_until else False

    def _still_ours(self, job: Job) -> bool:
        """Checked again right before the request: a send may have waited for its chat or a free slot."""
        if self._may_send() is not True:
            self.stats.dropped += 1
            return False
        return self._claim_holds(job)

    def _claim_holds(self, job: Job) -> bool:
        """Start a send only while our claim surely outlasts its start: else another holder may send it."""
        if self.loop.time() + self.config.dispatcher.send_margin_seconds < job.lease_until:
            return True
        self.stats.dropped += 1
        log.warning(
            "outbox %s: row %s not sent: its claim (epoch %d) may lapse", self.channel, job.id, job.epoch
        )
        return False

    def _renew_in_background(self) -> None:
        """One heartbeat: the channel lease and the claims, each in its own task and short transactions.

        Apart, so a renewal of rows that waits for a row lock (a result being
        written) never makes the channel lease late.
        """
        if self.loop.time() < self.next_renew:
            return
        self.next_renew = self.loop.time() + self.config.dispatcher.heartbeat_seconds
        if self._renewing is None or self._renewing.done():
            self._renewing = self.loop.create_task(self._logged(self._beat, "the channel lease"))
        if self._renewing_rows is None or self._renewing_rows.done():
            self._renewing_rows = self.loop.create_task(self._logged(self._renew_rows, "the claims"))

    async def _end_heartbeat(self) -> None:
        """Let renewals under way land; one the database does not answer is given up (the run is over)."""
        tasks = {t for t in (self._renewing, self._renewing_rows) if t is not None and not t.done()}
        if not tasks:
            return
        await asyncio.wait(tasks, timeout=self.config.dispatcher.heartbeat_seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _logged(self, renew: Callable[[], Awaitable[bool]], what: str) -> None:
        try:
            if not await renew():
                self.lost_lease = True
        except Exception:
            log.exception("outbox %s: renewing %s failed; trying again shortly", self.channel, what)

    async def _beat(self) -> bool:
        """Renew the channel lease (False: another process has it now) and hear of a shared pause."""
        if not await self._acquire():
            return False
        # A pause another process was told about (a flood limit) holds here too.
        until_paused = await self.d.pauses().paused_until(self.channel)
        if until_paused is not None:
            self.pacer.pause_all((until_paused - self.now()).total_seconds())
        return True

    async def _renew_rows(self) -> bool:
        dispatcher = self.config.dispatcher
        started = self.loop.time()
        queued = [job for queue in self.queues.values() for job in queue]
        wire = list(self.on_the_wire.values())
        kept: set[int] = set()
        for jobs, seconds in (
            (queued, dispatcher.claim_lease_seconds),
            (wire, dispatcher.wire_lease_seconds),
        ):
            if jobs:
                async with self.services.db.session() as s:
                    kept |= await renew_claims(s, jobs, self.now() + timedelta(seconds=seconds))
                for job in jobs:
                    if job.id in kept:
                        job.lease_until = max(job.lease_until, started + seconds)
        # Renewed rows still queued now (one on the wire may just have had its result written: no loss;
        # one claimed meanwhile was not asked about).
        still = {job.id for queue in self.queues.values() for job in queue}
        for job in queued:
            if job.id in still and job.id not in kept and job.lease_until != LOST:
                job.lease_until = LOST
                log.warning("outbox %s: row %s was claimed by another holder", self.channel, job.id)
        # Rows of a holder that died mid-run come back now, not at this process's next run.
        async with self.services.db.session() as s:
            freed = await free_expired_claims(s, self.now())
        if freed:
            log.warning("outbox %s: %d rows of a stopped dispatcher are due again", self.channel, freed)
        return True
