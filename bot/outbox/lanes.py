"""Delivery lanes: who goes first when a channel has more due than its pace allows.

- "reply": a person is waiting for an answer (the engine's replies, staff
  replies, interactive prompts). Always first, claimed every
  `lanes.reply_poll_seconds` even while a broadcast runs, so a reply waits for
  its chat's spacing and the next free slot of the channel, never for a batch.
- "reminder": messages about one person's own business (check-in reminders,
  claim updates, deadlines, alerts).
- "broadcast": notices to an audience.

Reminders and broadcasts share what replies leave of the channel's pace by
weight (`lanes.reminder_weight` : `lanes.broadcast_weight`), so a morning's
reminders go first without stopping a broadcast outright. Each lane also has
its own budget of claimed rows held in memory (`lanes.*_queue`), so one lane
never fills the claim with rows another lane would send sooner.
"""

from __future__ import annotations

from models.outbox import OUTBOX_LANES

LANES: tuple[str, ...] = OUTBOX_LANES
LANE_RANK = {lane: rank for rank, lane in enumerate(LANES)}


def lane_for(kind: str) -> str:
    """The default lane of a message kind: replies and broadcasts by name, everything else a reminder.

    A security notice ("另一个微信号刚绑定了您的身份") goes with replies: it is worth
    nothing if it waits behind a morning's reminders.
    """
    if kind in ("reply", "security_notice"):
        return "reply"
    if kind == "broadcast":
        return "broadcast"
    return "reminder"


def check_lane(lane: str) -> str:
    if lane not in LANES:
        raise ValueError(f"unknown outbox lane {lane!r}; one of {', '.join(LANES)}")
    return lane
