"""The morning wave of check-in reminders at province scale: do they arrive before class starts?

The quick model of the wave; bench/bench_reminder_wave_live.py runs the real
service against the fake APIs (issue 20's benchmark) and is the one to quote.
This one stays because it answers the 500,000 and evening-before questions in
seconds, where the live run at the platforms' pace takes hours.

An event-driven simulation with a virtual clock (a day of sending runs in
seconds). It is built from the service's own pieces, not copies of them:

- when each reminder is due: `reminder_due` (today's rule: 30 minutes before,
  or the trainee's own time; the institution's default for the new planning);
- the plan: `floor_for`, `backward_fill` and `wechat_needs` of
  `bot.attendance.plan_fill`, with the capacities of config/outbox.yaml;
- the order of sending: each lane claimed as `bot.outbox.claims.SEND_ORDER`
  sorts it (today's rule: due time; new: earliest deadline first), replies
  first (`bot.outbox.lanes`);
- the pace: `bot.outbox.pacing.Pacer` on the virtual clock, at each channel's
  `rate_per_second` and per-chat spacing;
- the drop rule: `bot.outbox.deadlines.too_late` (new planning only; today's
  rule sends until the session ends, `expires_at`);
- the platform: Telegram's ~30 messages/s overall is checked on the arrivals
  (`tests.outbox.fakes.max_in_any_second`, as the soak bench checks the fake),
  WeChat's 48-hour window, 5 customer-service messages per interaction and the
  template quota as `WeChatSender` meets them (a 45009 pauses the channel
  `retry.quota_backoff_seconds`, as `ResultHandling._quota` does).
What it leaves out: the database (claims of 40 rows; bench_outbox_claim.py
times them), network latency beyond a fixed `LATENCY` and retries; replies
are a steady stream per channel. Why it is faithful for the question asked:
the wave's fate is decided by the order and the pace, which are the real
code's; the database only has to keep up (bench_reminders.py shows it does).

Population: BENCH_WAVE_SIZES trainees ("100000,500000"), ~50 per class, class
starts 07:30 5 %, 08:00 50 %, 08:30 30 %, 09:00 10 %, 13:30 5 %; 5 % chose
07:00; 10 % of classes belong to institutions that remind the evening before at
20:00 (new planning only); WeChat users: 40 % wrote within the last day, the
others need a template. Mixes: all Telegram, and 60 % Telegram / 40 % WeChat.

Run: .venv/bin/python bench/bench_reminder_wave.py  (or `make bench`)
"""

from __future__ import annotations

import heapq
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.attendance.config import Planning, get_attendance_config
from bot.attendance.plan_fill import WaveItem, backward_fill, floor_for, wechat_needs
from bot.attendance.reminder_writer import reminder_due
from bot.clock import LOCAL_TZ
from bot.outbox.config import load_config
from bot.outbox.deadlines import too_late
from bot.outbox.pacing import Pacer
from tests.outbox.fakes import max_in_any_second

SIZES = [int(s) for s in os.environ.get("BENCH_WAVE_SIZES", "100000,500000").split(",") if s]
DAY = date(2026, 11, 24)  # a Tuesday
LATENCY = 0.3  # seconds from the start of a send to its arrival
REPLIES_PER_SECOND = {"telegram": 3.0, "wechat": 2.0}  # people chatting during the wave
REPLY_HOURS = (6, 10)
STARTS = [(dtime(7, 30), 5), (dtime(8, 0), 50), (dtime(8, 30), 30), (dtime(9, 0), 10), (dtime(13, 30), 5)]
CONFIG = load_config()
WINDOW = timedelta(hours=CONFIG.channels.wechat.service_window_hours) - timedelta(
    minutes=CONFIG.channels.wechat.service_window_margin_minutes
)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, dtime(hh, mm), LOCAL_TZ)


@dataclass(slots=True)
class Row:
    id: int
    user: int
    channel: str
    class_id: int
    start: datetime
    end: datetime
    due: datetime
    personal: dtime | None
    evening: dtime | None
    inbound: datetime | None
    start_ts: float = 0.0
    end_ts: float = 0.0
    inbound_until: float = 0.0  # end of the 48-hour window (0: outside)


def population(size: int, telegram_share: float, seed: int = 20) -> list[Row]:
    rng = random.Random(seed)
    rows: list[Row] = []
    class_id = 0
    starts = [s for s, w in STARTS for _ in range(w)]
    while len(rows) < size:
        class_id += 1
        begin = rng.choice(starts)
        start = datetime.combine(DAY, begin, LOCAL_TZ)
        end = start + timedelta(hours=3)
        start_ts, end_ts = start.timestamp(), end.timestamp()
        evening = dtime(20, 0) if rng.random() < 0.10 else None
        for _ in range(min(rng.randint(40, 60), size - len(rows))):
            user = len(rows) + 1
            channel = "telegram" if rng.random() < telegram_share else "wechat"
            inbound = at(DAY, 5) - timedelta(hours=rng.uniform(1, 24)) if rng.random() < 0.4 else None
            rows.append(
                Row(
                    id=user,
                    user=user,
                    channel=channel,
                    class_id=class_id,
                    start=start,
                    end=end,
                    due=start,
                    personal=dtime(7, 0) if rng.random() < 0.05 else None,
                    evening=evening,
                    inbound=inbound,
                    start_ts=start_ts,
                    end_ts=end_ts,
                    inbound_until=(inbound + WINDOW).timestamp() if inbound else 0.0,
                )
            )
    return rows


@dataclass
class Outcome:
    reminders: int = 0
    on_time: int = 0
    after_start: int = 0
    dropped: int = 0
    expired: int = 0  # today's rule: session over before it went
    unsent_quota: int = 0
    latest: float = float("-inf")  # seconds after start of the latest arrival
    earliest_due: datetime | None = None
    templates: int = 0
    template_days: dict[date, int] = field(default_factory=dict)
    service: int = 0
    max_per_second: int = 0
    quota_pauses: int = 0
    crowded: int = 0  # the plan found no room for them by their chosen time
    alerts: list[str] = field(default_factory=list)


def simulate(rows: list[Row], channel: str, *, planned: bool, run_at: datetime, out: Outcome) -> None:
    """One channel's day: the reminders (already due-timed) and a stream of replies, on the virtual clock."""
    pacing = CONFIG.pacing(channel)
    vt = [run_at.timestamp()]
    pacer = Pacer(pacing.rate_per_second, pacing.per_chat_interval_seconds, now=lambda: vt[0])
    wechat = CONFIG.channels.wechat
    # Not yet due, by due time; due, in the claim's order (SEND_ORDER: deadline first when planned).
    dues: dict[datetime, float] = {}
    future = sorted(
        ((dues.setdefault(r.due, r.due.timestamp()), r.id, r) for r in rows),
        key=lambda x: (x[0], x[1]),
        reverse=True,
    )
    ready: list[tuple[float, float, int, Row]] = []
    reply_every = 1.0 / REPLIES_PER_SECOND[channel]
    next_reply = at(DAY, REPLY_HOURS[0]).timestamp()
    reply_end = at(DAY, REPLY_HOURS[1]).timestamp()
    paused_until = 0.0
    sent_cs: dict[int, int] = {}
    arrivals: list[float] = []
    templates: dict[date, int] = {}  # per local day: WeChat's quota resets at midnight
    while future or ready:
        now = vt[0]
        while future and future[-1][0] <= now:
            due, rid, row = future.pop()
            heapq.heappush(ready, ((row.start_ts if planned else due), due, rid, row))
        slot = max(now, pacer.ready_at(""), paused_until)
        if slot > now:
            vt[0] = slot
            continue
        if next_reply <= now and next_reply < reply_end:
            # The reply lane goes first whenever something waits in it.
            pacer.take(f"reply:{int(next_reply)}", scheduled=now)
            arrivals.append(now + LATENCY)
            next_reply += reply_every
            continue
        if not ready:
            nxt = [future[-1][0]] if future else []
            if next_reply < reply_end:
                nxt.append(next_reply)
            vt[0] = max(now, min(nxt))
            continue
        _, _, _, row = heapq.heappop(ready)
        start = row.start_ts
        # `too_late` on datetimes only near the deadline (the rest is plainly in time).
        if planned and start - now < 60 and too_late(row.start, moment_of(now), pacing.send_seconds):
            out.dropped += 1
            continue
        if now >= row.end_ts:
            out.expired += 1
            continue
        if channel == "wechat":
            moment = moment_of(now)
            sent = sent_cs.get(row.user, 0)
            in_window = now < row.inbound_until
            if in_window and sent < wechat.service_messages_per_interaction:
                sent_cs[row.user] = sent + 1
                out.service += 1
            elif templates.get(moment.date(), 0) >= wechat.template_daily_quota:
                # 45009: the whole channel pauses; the row is due again after the pause.
                out.quota_pauses += 1
                paused_until = now + CONFIG.retry.quota_backoff_seconds
                row.due = datetime.fromtimestamp(paused_until, LOCAL_TZ)
                future.append((paused_until, row.id, row))
                future.sort(key=lambda x: (x[0], x[1]), reverse=True)
                if all(f[2].end_ts <= paused_until for f in future):
                    out.unsent_quota += len(future) + len(ready)
                    break
                continue
            else:
                templates[moment.date()] = templates.get(moment.date(), 0) + 1
                out.templates += 1
                out.template_days = templates
        pacer.take(str(row.user), scheduled=now)
        arrival = now + LATENCY
        arrivals.append(arrival)
        out.latest = max(out.latest, arrival - start)
        if arrival < start:
            out.on_time += 1
        else:
            out.after_start += 1
    out.max_per_second = max(out.max_per_second, max_in_any_second(arrivals))


def moment_of(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, LOCAL_TZ)


def today_rule(rows: list[Row]) -> None:
    """Due 30 minutes before (or at the trainee's own time), written by the 05:00 run."""
    run = at(DAY, 5)
    for r in rows:
        r.due = max(reminder_due(r.start, 30, r.personal, LOCAL_TZ), run)


def new_rule(rows: list[Row], cfg: Planning, run: datetime, out: dict[str, Outcome]) -> None:
    """The institution's default, the trainee's time, then the plan per channel (the evening before)."""
    for r in rows:
        r.due = max(reminder_due(r.start, 30, r.personal, LOCAL_TZ, r.evening), run)
    for channel in ("telegram", "wechat"):
        mine = [r for r in rows if r.channel == channel]
        if not mine:
            continue
        items = [
            WaveItem(
                r.id, channel, r.user, r.class_id, r.due, r.start, floor_for(r.start, cfg, LOCAL_TZ, r.due)
            )
            for r in mine
        ]
        pacing = CONFIG.pacing(channel)
        fill = backward_fill(items, pacing.plan_capacity(), pacing.send_seconds, run)
        by_id = {r.id: r for r in mine}
        for item in items:
            by_id[item.row_id].due = item.planned or item.chosen
        if fill.at_risk:
            classes = len({i.class_id for i in fill.at_risk})
            out[channel].alerts.append(
                f"capacity: {len(fill.at_risk):,} reminders ({classes} classes) at risk"
            )
        out[channel].crowded = len(fill.crowded)
        if channel == "wechat":
            needs = wechat_needs(
                items,
                {r.user: r.inbound for r in mine},
                {},
                window=WINDOW,
                per_interaction=CONFIG.channels.wechat.service_messages_per_interaction,
                tz=LOCAL_TZ,
            )
            quota = CONFIG.channels.wechat.template_daily_quota
            for send_day, wanted in sorted(needs.templates.items()):
                if len(wanted) > quota:
                    classes = len({i.class_id for i in wanted[quota:]})
                    text = f"template quota {send_day}: {len(wanted):,} needed, {quota:,} a day"
                    out[channel].alerts.append(f"{text}; {classes} classes named")


def run(size: int, telegram_share: float, rule: str, cfg: Planning) -> dict[str, Outcome]:
    rows = population(size, telegram_share)
    out = {"telegram": Outcome(), "wechat": Outcome()}
    if rule == "today":
        today_rule(rows)
        run_at = at(DAY, 5)
    else:
        run_at = at(DAY - timedelta(days=1), 18)
        new_rule(rows, cfg, run_at, out)
    for channel in ("telegram", "wechat"):
        mine = [r for r in rows if r.channel == channel]
        out[channel].reminders = len(mine)
        out[channel].earliest_due = min((r.due for r in mine), default=None)
        simulate(mine, channel, planned=rule != "today", run_at=run_at, out=out[channel])
    return out


def report(label: str, out: dict[str, Outcome], seconds: float) -> None:
    total = sum(o.reminders for o in out.values())
    on_time = sum(o.on_time for o in out.values())
    print(f"  {label}  ({seconds:.1f} s simulated in wall time)")
    print(f"    delivered before class start: {on_time:,} of {total:,} = {on_time / total:.2%}")
    for channel, o in out.items():
        if not o.reminders:
            continue
        latest = f"{o.latest / 60:+.1f} min" if o.latest > float("-inf") else "-"
        earliest = o.earliest_due.strftime("%m-%d %H:%M") if o.earliest_due else "-"
        line = (
            f"    {channel:8} {o.reminders:>7,}: before start {o.on_time:,}, after start {o.after_start:,},"
            f" dropped {o.dropped:,}, expired {o.expired:,}; latest arrival {latest} vs start;"
            f" first due {earliest}; max {o.max_per_second}/s; crowded {o.crowded:,}"
        )
        print(line)
        if channel == "wechat":
            quota = CONFIG.channels.wechat
            days = ", ".join(f"{d:%m-%d} {n:,}" for d, n in sorted(o.template_days.items()))
            print(
                f"             templates {o.templates:,} ({days}) of {quota.template_daily_quota:,} a day,"
                f" customer-service {o.service:,} of {quota.service_daily_quota:,};"
                f" quota pauses {o.quota_pauses}, never sent for the quota {o.unsent_quota:,}"
            )
        for alert in o.alerts:
            print(f"             ALERT before sending: {alert}")


def main() -> None:
    cfg = get_attendance_config().planning
    evening_all = cfg.model_copy(update={"evening_for_all": True})
    tg, wc = CONFIG.channels.telegram, CONFIG.channels.wechat
    print("== reminder wave: share before class start, today's rule vs deadline planning (simulated clock)")
    print(
        f"limits: telegram {tg.rate_per_second:g}/s sent (platform ~{tg.platform_rate_per_second:g}/s),"
        f" plan {tg.plan_capacity_per_second:g}/s; wechat {wc.rate_per_second:g}/s, plan"
        f" {wc.plan_capacity_per_second:g}/s, templates {wc.template_daily_quota:,}/day;"
        f" replies {REPLIES_PER_SECOND['telegram']:g}/s + {REPLIES_PER_SECOND['wechat']:g}/s"
    )
    for size in SIZES:
        for share, mix in ((1.0, "all Telegram"), (0.6, "60% Telegram / 40% WeChat")):
            print(f"-- {size:,} trainees, {mix}")
            scenarios = [("today's rule (30 min before, by due time)", "today", cfg)]
            scenarios.append(("deadline planning (floor 06:00 on the day)", "new", cfg))
            if size > 100_000:
                scenarios.append(("deadline planning, evening before allowed (19:00)", "new", evening_all))
            for label, rule, planning in scenarios:
                started = time.perf_counter()
                out = run(size, share, rule, planning)
                report(label, out, time.perf_counter() - started)


if __name__ == "__main__":
    main()
