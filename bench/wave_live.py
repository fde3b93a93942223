"""One live run of the reminder wave: the real jobs and dispatcher, the fakes, a fast clock.

See bench/bench_reminder_wave_live.py for what is measured and why.

`run_scenario` builds a database and the province, starts the fakes and the
service's own pieces on a `ScaledLoop`, plays the scheduler's jobs at their
times on the fast clock, and returns what the platforms saw (`Outcome`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.wave_clock import LoopClock
from bench.wave_fakes import WaveTelegram, WaveWeChat, serve
from bench.wave_losses import backlogs, capacity_lost, paced
from bench.wave_outcome import CHANNELS, ChannelOutcome, Outcome, Scenario
from bench.wave_population import Province, populate
from bench.wave_sampler import Sampler
from bot.attendance.job import evening_run, morning_run
from bot.attendance.reminders import create_reminders
from bot.clock import LOCAL_TZ
from bot.outbox import get_dispatcher
from bot.outbox.config import DeliveryConfig, load_config, load_templates
from bot.outbox.job import dispatch_due
from bot.outbox.pacing import Pacer
from bot.services import Services
from bot.settings import load_settings
from bot.texts import get_texts
from models import ChatUser, DeliveryCount, OutboxMessage, ReminderPlan
from models.db import Database

DAY = date(2026, 11, 24)  # a Tuesday
BACKLOG_SECONDS = 5.0  # a channel is backlogged while rows for this long at its rate are due and unsent
STOP_AT = datetime.combine(DAY, dtime(18, 0), LOCAL_TZ)  # nothing is left to send by then


class _NoNLU:
    """The jobs and the dispatcher need no language understanding; this only satisfies Services."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("no NLU in the wave bench")


class _Alerts(logging.Handler):
    """Keeps the ALERT lines the plan and the dispatcher log (staff's log view of the alerts)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("ALERT"):
            self.lines.append(message)


RATES = ("rate_per_second", "plan_capacity_per_second", "platform_rate_per_second")


def _config(quota: int | None, scale: float = 1.0) -> DeliveryConfig:
    """config/outbox.yaml, with the template quota set and every rate (and the quota) times `scale`.

    A province of N/s trainees at rates/s sends the same wave, minute for
    minute, as N at the real rates: the way to see 100,000's wave on a machine
    that cannot send 28·k messages a second for an hour.
    """
    config = load_config()
    channels: dict[str, Any] = {}
    for name in ("telegram", "wechat"):
        channel = getattr(config.channels, name)
        update = {key: getattr(channel, key) * scale for key in RATES if hasattr(channel, key)}
        if name == "wechat":
            update["template_daily_quota"] = (
                quota if quota is not None else int(channel.template_daily_quota * scale)
            )
            update["service_daily_quota"] = int(channel.service_daily_quota * scale)
        channels[name] = channel.model_copy(update=update)
    return config.model_copy(update={"channels": config.channels.model_copy(update=channels)})


def _templates() -> Any:
    """The reminder template as a deployment that has one configured (its id from the MP console)."""
    templates = load_templates()
    named = {
        key: t.model_copy(update={"template_id": t.template_id or f"bench-{key}"})
        for key, t in templates.templates.items()
    }
    return templates.model_copy(update={"templates": named})


async def _today_morning(services: Services) -> None:
    """Today's rule: the 05:00 run as it was before deadline planning (no plan, no deadline on the rows).

    Rows without `deadline_at` are claimed by due time and never dropped as
    too late: they go until their session ends (`expires_at`), as before.
    """
    await create_reminders(services, services.clock.now().date())
    async with services.db.session() as db:
        await db.execute(update(OutboxMessage).values(deadline_at=None))


async def _as_scheduled(job: Any, services: Services, name: str, ran: list[str]) -> None:
    """A job run as `bot.scheduler` runs it: a failure is logged and counted, the next tick goes on."""
    try:
        await job(services)
    except Exception as exc:
        logging.getLogger(__name__).exception("scheduled job %s failed", name)
        ran.append(
            f"FAILED {name} at {services.clock.now():%m-%d %H:%M:%S}: {type(exc).__name__}: {exc}"[:300]
        )


async def _drive(
    services: Services, clock: LoopClock, jobs: list[tuple[datetime, str, Any]], ran: list[str]
) -> None:
    """The scheduler's part on the fast clock: cron jobs at their times, a dispatch tick every interval.

    The dispatch is the scheduled job itself (`bot.outbox.job.dispatch_due`: runs
    back to back until nothing is due); the next tick comes at the next multiple
    of the interval, as APScheduler's interval job (coalesced, one instance) would.
    When nothing is due until a later moment, the clock jumps there instead of
    living the idle hours.
    """
    dispatcher = get_dispatcher(services)
    interval = services.extra["delivery_config"].dispatcher.interval_seconds
    loop = asyncio.get_running_loop()
    origin = loop.time()
    todo = sorted(jobs, key=lambda j: j[0])
    while clock.now() < STOP_AT:
        while todo and todo[0][0] <= clock.now():
            _, name, job = todo.pop(0)
            started = time.perf_counter()
            await _as_scheduled(job, services, name, ran)
            ran.append(f"{name} at {clock.now():%m-%d %H:%M:%S} ({time.perf_counter() - started:.1f} s wall)")
        await _as_scheduled(dispatch_due, services, "outbox-dispatch", ran)
        ahead = [todo[0][0]] if todo else []
        open_rows = 0
        async with services.db.session() as s:
            for channel in CHANNELS:
                mine = OutboxMessage.status == "pending"
                due, sending = (
                    await s.execute(
                        select(
                            func.min(OutboxMessage.due_at).filter(mine),
                            func.count().filter(OutboxMessage.status == "sending"),
                        )
                        .select_from(OutboxMessage)
                        .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
                        .where(ChatUser.channel == channel)
                    )
                ).one()
                open_rows += int(sending or 0) + (due is not None)
                if due is not None:
                    # A channel paused by the platform (a quota, a flood limit) sends again only after it.
                    paused = await dispatcher.pauses().paused_until(channel)
                    ahead.append(max(due, paused) if paused is not None else due)
        if not todo and not open_rows:
            return
        target = min(ahead) if ahead else STOP_AT
        if (target - clock.now()).total_seconds() > interval:
            await clock.jump_to(target)
            origin = loop.time()
            continue
        now = loop.time()
        ticks = int((now - origin) // interval) + 1
        await asyncio.sleep(origin + ticks * interval - now)


def _analyse(
    province: Province, clock: LoopClock, telegram: WaveTelegram, wechat: WaveWeChat, config: DeliveryConfig
) -> dict[str, ChannelOutcome]:
    out = {ch: ChannelOutcome() for ch in CHANNELS}
    for channel in province.channel_of.values():
        out[channel].reminders += 1
    arrivals = [(t, chat, "telegram") for t, chat in telegram.arrivals] + [
        (t, chat, "wechat") for t, chat, _ in wechat.arrivals
    ]
    seen: Counter[str] = Counter()
    for t, chat, channel in arrivals:
        c = out[channel]
        seen[chat] += 1
        if seen[chat] > 1:
            c.duplicates += 1
            continue
        c.arrived += 1
        moment = clock.start + timedelta(seconds=t - clock.origin)
        late = (moment - province.start_of[chat]).total_seconds()
        c.latest = late if c.latest is None else max(c.latest, late)
        if late < 0:
            c.before_start += 1
        else:
            c.after_start += 1
    tg, wc = config.channels.telegram, config.channels.wechat
    out["telegram"].max_per_second, out["telegram"].limit = telegram.max_per_window(), telegram.limit
    out["telegram"].window = telegram.window
    out["telegram"].rate = tg.rate_per_second
    out["telegram"].refusals = {"429 overall": telegram.overall_hits, "429 per chat": telegram.per_chat_hits}
    out["wechat"].max_per_second, out["wechat"].limit = wechat.max_per_second(), wechat.per_second
    out["wechat"].rate = wc.rate_per_second
    out["wechat"].refusals = {str(code): n for code, n in sorted(wechat.refusals.items())}
    return out


async def run_scenario(sc: Scenario, url: str, workdir: Path) -> Outcome:
    """One scenario on the database at `url` (empty; migrated here)."""
    config = _config(sc.template_quota, sc.rate_scale)
    loop = asyncio.get_running_loop()
    db = Database(url)
    alerts_log = _Alerts()
    logging.getLogger().addHandler(alerts_log)
    runners: list[Any] = []
    try:
        await db.migrate()
        started = time.perf_counter()
        province = await populate(db, sc.size, sc.telegram_share, DAY, evening=sc.rule == "new", seed=sc.seed)
        populate_seconds = time.perf_counter() - started
        begin = datetime.combine(DAY - timedelta(days=1), dtime(17, 59), LOCAL_TZ)
        if sc.rule == "today":
            begin = datetime.combine(DAY, dtime(4, 59), LOCAL_TZ)
        clock = LoopClock(begin, loop)
        wc = config.channels.wechat
        # The platform's 30 a second, stretched to 30 in 1/f seconds at rate scale f (see WaveTelegram).
        telegram = WaveTelegram(
            limit=round(config.channels.telegram.platform_rate_per_second / sc.rate_scale),
            window=1.0 / sc.rate_scale,
        )
        wechat = WaveWeChat(
            now=clock.now,
            tz=LOCAL_TZ,
            window=timedelta(hours=wc.service_window_hours),
            per_interaction=wc.service_messages_per_interaction,
            per_second=max(1, round(100 * sc.rate_scale)),  # the test fake's 45011 threshold, scaled
            template_quota=wc.template_daily_quota,
            service_quota=wc.service_daily_quota,
            last_inbound=dict(province.inbound),
        )
        tg_runner, tg_base = await serve(telegram.app())
        wc_runner, wc_base = await serve(wechat.app())
        runners = [tg_runner, wc_runner]
        settings = load_settings(
            database_url=url,
            bot_data_dir=workdir / "data",
            secret_key="wave-bench",
            scheduler_enabled=False,
            telegram_bot_token=telegram.token,
            telegram_api_base=tg_base,
            wechat_app_id=wechat.app_id,
            wechat_app_secret=wechat.app_secret,
            wechat_api_base=wc_base,
            redis_url="",
        )
        extra = {"delivery_config": config, "wechat_templates": _templates()}
        services = Services(settings, db, get_texts(), clock, _NoNLU(), extra=extra)  # type: ignore[arg-type]
        dispatcher = get_dispatcher(services)
        for channel in CHANNELS:
            pacing = config.pacing(channel)
            # The dispatcher paces on the loop's time (the runner compares its slots with
            # loop.time()); the default Pacer reads time.monotonic, the same clock on a normal loop.
            dispatcher.pacers[channel] = Pacer(
                pacing.rate_per_second, pacing.per_chat_interval_seconds, now=loop.time
            )
        if sc.rule == "today":
            jobs = [(datetime.combine(DAY, dtime(5, 0), LOCAL_TZ), "05:00 run (no plan)", _today_morning)]
        else:
            jobs = [
                (
                    datetime.combine(DAY - timedelta(days=1), dtime(18, 0), LOCAL_TZ),
                    "evening run",
                    evening_run,
                ),
                (datetime.combine(DAY, dtime(5, 0), LOCAL_TZ), "morning run", morning_run),
            ]
        sampler = Sampler(
            db,
            clock,
            {"telegram": lambda: len(telegram.arrivals), "wechat": lambda: len(wechat.arrivals)},
            {ch: getattr(config.channels, ch).rate_per_second for ch in CHANNELS},
        )
        sampling = loop.create_task(sampler.run())
        ran: list[str] = []
        started = time.perf_counter()
        jumped_before = getattr(loop, "jumped", 0.0)
        virtual_start = loop.time()
        try:
            await _drive(services, clock, jobs, ran)
        finally:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
            await dispatcher.stop()
        run_seconds = time.perf_counter() - started
        lived = loop.time() - virtual_start - (getattr(loop, "jumped", 0.0) - jumped_before)
        channels = _analyse(province, clock, telegram, wechat, config)
        times = {"telegram": [t for t, _ in telegram.arrivals], "wechat": [t for t, _, _ in wechat.arrivals]}
        due: dict[str, list[float]] = {ch: [] for ch in CHANNELS}
        async with db.session() as s:
            for channel, due_at in await s.execute(
                select(ChatUser.channel, OutboxMessage.due_at)
                .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
                .where(OutboxMessage.kind == "reminder", OutboxMessage.status == "sent")
            ):
                due[channel].append(clock.at(due_at))
        for channel, c in channels.items():
            threshold = max(10, round(c.rate * BACKLOG_SECONDS))
            stretches = backlogs(due[channel], times[channel], threshold)
            c.achieved, c.backlogged_seconds, c.woke_seconds = paced(times[channel], stretches)
            c.backlogs = len(stretches)
            spans = [(t0, t1, 0) for t0, t1 in stretches]
            lost = capacity_lost(times[channel], spans, c.rate)
            c.stall_seconds, c.stalls, c.longest_stall, c.late_seconds = lost
        async with db.session() as s:
            for channel, status, delivery, n in await s.execute(
                select(ChatUser.channel, OutboxMessage.status, OutboxMessage.delivery, func.count())
                .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
                .where(OutboxMessage.kind == "reminder")
                .group_by(ChatUser.channel, OutboxMessage.status, OutboxMessage.delivery)
            ):
                channels[channel].states[f"{status}/{delivery or '-'}"] += int(n)
            plans = list(
                (
                    await s.execute(select(ReminderPlan).order_by(ReminderPlan.day, ReminderPlan.channel))
                ).scalars()
            )
            alerts = [
                a | {"channel": p.channel, "plan_day": p.day.isoformat()}
                for p in plans
                for a in (p.alerts or [])
            ]
            quota_used = {
                f"{day:%m-%d} {counter}": int(value)
                for day, counter, value in await s.execute(
                    select(DeliveryCount.day, DeliveryCount.counter, DeliveryCount.value).where(
                        DeliveryCount.channel == "wechat"
                    )
                )
            }
        return Outcome(
            scenario=sc,
            channels=channels,
            alerts=alerts,
            log_alerts=alerts_log.lines,
            quota_used=quota_used,
            template_quota=wc.template_daily_quota,
            populate_seconds=populate_seconds,
            run_seconds=run_seconds,
            virtual_lived=lived,
            jobs=ran,
        )
    finally:
        logging.getLogger().removeHandler(alerts_log)
        for runner in runners:
            await runner.cleanup()
        await db.dispose()
