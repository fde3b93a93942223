"""What happens to a row once its send is over: one fenced write per row.

Final states (sent, skipped, failed, dead) are written together with those of
the same moment (`bot.outbox.writes`); a row that goes back to `pending` (a
retry, a flood limit, an unknown outcome) is written at once, in its own transaction.

- success: `sent` (+ transcript, except replies the engine already recorded);
- 429 / retry_after: `pending` again after the wait; the whole channel paused that
  long in every process (`bot.outbox.pauses`), the chat a little longer;
- outcome unknown (timed out after the request was written): `pending` with
  `delivery` "unknown" after `retry.unknown_retry_seconds`, `dead` when unknown twice;
- blocked / unsubscribed: `skipped` "unreachable", the chat user marked unreachable;
- transient errors: `pending` at now + exponential backoff with jitter, `dead` after N;
- WeChat quota (45009): `pending` after the quota backoff, the channel paused, an alert logged;
- a bad request: `failed`.
Every write is fenced by the row's token (`update_claimed`; the `(id, lease_token)` pairs of
`bot.outbox.writes`): it lands only while the row is still
claimed under this job's token. A write that matches nothing is a late result of
a claim that lapsed and passed to another holder: it is discarded and logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from bot.ops import metrics
from bot.outbox.channel_state import ChannelState
from bot.outbox.claims import update_claimed
from bot.outbox.config import DeliveryConfig
from bot.outbox.errors import (
    OutcomeUnknown,
    QuotaExceeded,
    RateLimited,
    Rejected,
    SendError,
    Transient,
    Unreachable,
)
from bot.outbox.quotas import COUNTED, daily_quota
from bot.outbox.senders import Job, Skip
from bot.outbox.writes import Final
from models import ChatUser

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, config: DeliveryConfig, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: spreads retries so a recovering platform is not stampeded."""
    retry = config.retry
    delay = min(retry.max_seconds, retry.base_seconds * retry.factor ** max(attempt - 1, 0))
    spread = (rng or random).uniform(1 - retry.jitter, 1 + retry.jitter)
    return float(delay * spread)


class ResultHandling(ChannelState):
    """The outcomes of sends: sent, retried with backoff, dead letters, unreachable chats, quota pauses."""

    async def _rate_limited(self, job: Job, exc: RateLimited) -> None:
        """After a 429: this process's pacer was paused the moment it came back (`_pause_for`,
        before the send permit was given back); here the pause is shared and the row requeued."""
        self.stats.rate_limited += 1
        seconds = self._flood_seconds(exc)
        metrics.retry_after(self.channel, seconds)
        log.warning("outbox %s: rate limited (%s); pausing the channel %.1fs", self.channel, exc, seconds)
        await self.d.pauses().pause(self.channel, seconds, "flood")
        # The row is due when the pause ends; this process keeps its chat waiting a little longer.
        retry_at = self.now() + timedelta(seconds=seconds)
        await self._break_chat(job, retry_at, str(exc))
        await self._requeue(job, retry_at, str(exc))

    async def _outcome(self, job: Job, exc: BaseException) -> None:
        """A send that did not deliver: the row's next state by what the platform said."""
        try:
            raise exc
        except Skip as skip:
            await self._finish(job, "skipped", delivery=skip.delivery, error=str(skip))
        except RateLimited as limited:
            await self._rate_limited(job, limited)
        except Unreachable as gone:
            await self._unreachable(job, gone)
        except QuotaExceeded as quota:
            await self._quota(job, quota)
        except Rejected as bad:
            await self._finish(job, "failed", error=str(bad), attempt=True)
        except OutcomeUnknown as unknown:
            await self._unknown(job, unknown)
        except (Transient, SendError) as failed:
            await self._transient(job, failed)
        except Exception as crash:  # a bug must not lose the row: treat it as transient
            log.exception("outbox: unexpected error sending row %s", job.id)
            await self._transient(job, Transient(f"{type(crash).__name__}: {crash}"))

    def _pause_for(self, job: Job, exc: RateLimited) -> None:
        """The limit is the bot's, not the chat's: nothing goes out on this channel until it passes.

        Synchronous, so it lands before any other send of this process may start.
        """
        seconds = self._flood_seconds(exc)
        self.pacer.pause_all(seconds)
        self.pacer.pause_chat(job.external_id, seconds + self.config.flood.chat_extra_seconds)

    def _flood_seconds(self, exc: RateLimited) -> float:
        return min(exc.retry_after, self.config.flood.max_pause_seconds)

    async def _unknown(self, job: Job, exc: OutcomeUnknown) -> None:
        """Maybe delivered: never again at once; once more after a long delay, then a dead letter."""
        self.stats.unknown += 1
        if job.unknown_before:
            log.error("outbox: row %s: outcome unknown twice, not sent again: %s", job.id, exc)
            await self._finish(
                job, "dead", error=f"outcome unknown twice (may have arrived): {exc}", attempt=True
            )
            return
        retry_at = self.now() + timedelta(seconds=self.config.retry.unknown_retry_seconds)
        log.warning("outbox: row %s: outcome unknown (%s); one more try at %s", job.id, exc, retry_at)
        await self._break_chat(job, retry_at, str(exc))
        await self._update(
            job,
            status="pending",
            due_at=retry_at,
            attempts=job.attempts + 1,
            delivery="unknown",
            unknown_outcomes=job.unknown_outcomes + 1,
            last_error=str(exc)[:2000],
        )

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
        others = self._pop_queue(job.external_id)
        await asyncio.gather(
            *(self._finish(other, "skipped", delivery="unreachable", error=str(exc)) for other in others)
        )
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
        self.paused = True  # this run stops; the shared pause stops every process's next runs
        await self.d.pauses().pause(self.channel, seconds, "quota")
        retry_at = self.now() + timedelta(seconds=seconds)
        await self._release_queued(not_before=retry_at)
        await self._requeue(job, retry_at, str(exc))

    async def _requeue(self, job: Job, due_at: datetime, error: str) -> None:
        await self._update(job, status="pending", due_at=due_at, last_error=error)

    async def _update(self, job: Job, **values: Any) -> None:
        values.setdefault("locked_until", None)
        values.setdefault("lease_token", None)
        async with self.services.db.session() as db:
            result = await db.execute(update_claimed([job.id], job.token, **values))
        if not result.rowcount:  # type: ignore[attr-defined]
            self._discard(job, str(values.get("status")))

    def _discard(self, job: Job, outcome: str) -> None:
        self.stats.discarded += 1
        log.warning(
            "outbox %s: late result %r of row %s (claim epoch %d) discarded: claimed by another holder",
            self.channel,
            outcome,
            job.id,
            job.epoch,
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
        """The row's final state, written with the others of the next moment (`bot.outbox.writes`)."""
        values: dict[str, Any] = {}
        if delivery is not None:
            values["delivery"] = delivery
        if error is not None:
            values["last_error"] = error[:2000]
        sent = status == "sent"
        # Only what a platform limits per day is counted (WeChat's quotas), in the same transaction.
        counted = sent and delivery in COUNTED and daily_quota(self.config, self.channel, delivery or "")
        final = Final(
            job=job,
            status=status,
            values=values,
            attempt=attempt,
            transcript=sent and job.kind != "reply",
            counter=delivery if counted else None,
        )
        if not await self.writer.write(final):
            self._discard(job, status)
            return
        metrics.send(self.channel, delivery if status == "skipped" and delivery == "unreachable" else status)
        counter = {"sent": "sent", "skipped": "skipped", "failed": "failed", "dead": "dead"}.get(status)
        if counter:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)
