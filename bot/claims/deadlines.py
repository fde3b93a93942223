"""Daily deadline reminders: institutions, staff and city bureaus hear of their own deadlines.

- institutions: the class application (第十四条（一）, latest day 5 working
  days before the start) a few working days ahead and on the day; the claim
  submission after a class ends (第十六条) on working days 5, 8 and 10 while
  trainees still lack a claim; a rectification letter (第二十七条) before its
  one-month deadline;
- staff: claims in their region whose review, publicity start or payment is
  overdue (第十七条), once per overdue step;
- city bureaus: the monthly report to the province (第二十三条).

Reminder points live in `config/claims.yaml`, day counts in
`config/policy/deadlines.yaml`. The job runs on working days only (every
reminder point is a working day) and is idempotent: each reminder has an
outbox key naming the deadline, the point and the recipient, so running it
twice, or on two processes, sends nothing twice. After downtime the most
recent point that was missed still goes out, once, while the deadline has
not passed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal
from bot.claims.config import get_claims_config
from bot.claims.due_dates import DUE_EVENT, OVERDUE_STATES
from bot.claims.formatting import article_of, fmt_date, provisional_line, subsidy_name
from bot.outbox import enqueue
from bot.policy import get_calendar, get_policy
from bot.policy.deadlines import compute_deadline
from bot.services import Services
from models import ChatUser, Claim, Enrollment, Institution, Rectification, StaffAccount, TrainingClass

if TYPE_CHECKING:
    from bot.scheduler import Scheduler


def current_point_before(points: Iterable[int], remaining: int) -> int | None:
    """Counting down to a deadline: the latest point reached (the smallest point >= remaining)."""
    reached = [p for p in points if p >= remaining]
    return min(reached) if reached else None


def current_point_after(points: Iterable[int], elapsed: int) -> int | None:
    """Counting up from an event: the latest point reached (the largest point <= elapsed)."""
    reached = [p for p in points if p <= elapsed]
    return max(reached) if reached else None


class _Run:
    """One run of the job: today's date, the texts, and a running count of what was enqueued."""

    def __init__(self, services: Services, db: AsyncSession) -> None:
        self.services = services
        self.db = db
        self.now: datetime = services.clock.now()
        self.today: date = self.now.date()
        self.texts = services.texts
        self.cal = get_calendar()
        self.cfg = get_claims_config().reminders
        self.counts: dict[str, int] = defaultdict(int)

    def d(self, value: date) -> str:
        return fmt_date(self.texts, value, self.today)

    def left(self, n: int) -> str:
        return self.texts.get("claims.institution.left", n=n)

    def with_note(self, text: str, dates: Sequence[date | None]) -> str:
        note = provisional_line(self.texts, list(dates))
        return f"{text}\n{note}" if note else text

    async def send(
        self, key: str, users: Iterable[ChatUser], kind: str, text: str, item: str, deadline: date | None
    ) -> None:
        template: dict[str, Any] = {
            "template": "deadline_reminder",
            "fields": {"item": item, "deadline": deadline.isoformat() if deadline else ""},
        }
        for user in users:
            added = await enqueue(
                self.db,
                key=f"{key}:user:{user.id}",
                chat_user_id=user.id,
                kind=kind,
                text=text,
                template=template,
                due_at=self.now,
            )
            self.counts[kind] += int(added)

    async def contacts(self, institution_ids: Iterable[int]) -> dict[int, list[ChatUser]]:
        ids = set(institution_ids)
        out: dict[int, list[ChatUser]] = defaultdict(list)
        if not ids:
            return out
        rows = await self.db.execute(
            select(ChatUser)
            .where(ChatUser.institution_id.in_(ids), ChatUser.reachable.is_(True))
            .order_by(ChatUser.id)
        )
        for user in rows.scalars():
            assert user.institution_id is not None
            out[user.institution_id].append(user)
        return out

    # -- institutions ---------------------------------------------------

    async def class_applications(self) -> None:
        points = self.cfg.class_application_working_days_before
        count = get_policy().deadlines["class_application"].count
        horizon, _ = self.cal.add_working_days(self.today, max(points) + count + 1)
        classes = list(
            (
                await self.db.execute(
                    select(TrainingClass).where(
                        TrainingClass.status == "planned",
                        TrainingClass.applied_on.is_(None),
                        TrainingClass.start_date > self.today,
                        TrainingClass.start_date <= horizon,
                    )
                )
            ).scalars()
        )
        contacts = await self.contacts(k.institution_id for k in classes)
        for klass in classes:
            users = contacts.get(klass.institution_id)
            if not users:
                continue
            dl = compute_deadline("class_application", klass.start_date)
            if dl.deadline < self.today:
                continue
            remaining, _ = self.cal.working_days_between(self.today, dl.deadline)
            point = current_point_before(points, remaining)
            if point is None:
                continue
            fmt = {
                "class_name": klass.name,
                "start": self.d(klass.start_date),
                "deadline": self.d(dl.deadline),
            }
            if remaining == 0:
                text = self.texts.get("claims.institution.class_application_today", **fmt)
            else:
                text = self.texts.get(
                    "claims.institution.class_application", left=self.left(remaining), **fmt
                )
            await self.send(
                f"deadline:class_application:{klass.id}:{dl.deadline}:{point}",
                users,
                "institution_reminder",
                self.with_note(text, [self.today, dl.deadline]),
                self.texts.get("claims.institution.item_class_application", class_name=klass.name),
                dl.deadline,
            )

    async def claim_submissions(self) -> None:
        points = self.cfg.claim_submission_working_days_after
        count = get_policy().deadlines["claim_submission"].count
        earliest, _ = self.cal.add_working_days(self.today, -(count + 1))
        classes = list(
            (
                await self.db.execute(
                    select(TrainingClass).where(
                        TrainingClass.status != "cancelled",
                        TrainingClass.end_date < self.today,
                        TrainingClass.end_date >= earliest - timedelta(days=7),
                    )
                )
            ).scalars()
        )
        contacts = await self.contacts(k.institution_id for k in classes)
        due: list[tuple[TrainingClass, list[ChatUser], int, int]] = []
        for klass in classes:
            users = contacts.get(klass.institution_id)
            if not users:
                continue
            elapsed, _ = self.cal.working_days_between(klass.end_date, self.today)
            point = current_point_after(points, elapsed)
            if point is not None and elapsed <= count:
                due.append((klass, users, elapsed, point))
        unclaimed = await self.unclaimed([klass.id for klass, *_ in due])
        for klass, users, elapsed, point in due:
            missing = unclaimed.get(klass.id, 0)
            if not missing:
                continue
            dl = compute_deadline("claim_submission", klass.end_date)
            fmt = {
                "class_name": klass.name,
                "end": self.d(klass.end_date),
                "deadline": self.d(dl.deadline),
                "missing": missing,
                "n": elapsed,
            }
            remaining, _ = self.cal.working_days_between(self.today, dl.deadline)
            if remaining <= 0:
                text = self.texts.get("claims.institution.claim_submission_today", **fmt)
            else:
                text = self.texts.get("claims.institution.claim_submission", left=self.left(remaining), **fmt)
            await self.send(
                f"deadline:claim_submission:{klass.id}:{klass.end_date}:{point}",
                users,
                "institution_reminder",
                self.with_note(text, [klass.end_date, dl.deadline]),
                self.texts.get("claims.institution.item_claim_submission", class_name=klass.name),
                dl.deadline,
            )

    async def unclaimed(self, class_ids: list[int]) -> dict[int, int]:
        """Per class: enrolled trainees without any claim for it yet."""
        if not class_ids:
            return {}
        has_claim = select(Claim.id).where(
            Claim.class_id == Enrollment.class_id, Claim.trainee_id == Enrollment.trainee_id
        )
        rows = await self.db.execute(
            select(Enrollment.class_id, func.count(Enrollment.id))
            .where(
                Enrollment.class_id.in_(class_ids),
                Enrollment.status != "withdrawn",
                ~has_claim.exists(),
            )
            .group_by(Enrollment.class_id)
        )
        return {class_id: int(n) for class_id, n in rows.all()}

    async def rectifications(self) -> None:
        points = self.cfg.rectification_working_days_before
        rows = list(
            (
                await self.db.execute(
                    select(Rectification, Institution)
                    .join(Institution, Institution.id == Rectification.institution_id)
                    .where(Rectification.completed_on.is_(None), Rectification.due_on >= self.today)
                )
            ).all()
        )
        contacts = await self.contacts(inst.id for _, inst in rows)
        for row, inst in rows:
            users = contacts.get(inst.id)
            if not users:
                continue
            remaining, _ = self.cal.working_days_between(self.today, row.due_on)
            point = current_point_before(points, remaining)
            if point is None:
                continue
            fmt = {"institution": inst.name, "subject": row.subject, "deadline": self.d(row.due_on)}
            if remaining == 0:
                text = self.texts.get("claims.institution.rectification_today", **fmt)
            else:
                text = self.texts.get("claims.institution.rectification", left=self.left(remaining), **fmt)
            await self.send(
                f"deadline:rectification:{row.id}:{row.due_on}:{point}",
                users,
                "institution_reminder",
                self.with_note(text, [self.today, row.due_on]),
                self.texts.get("claims.institution.item_rectification", subject=row.subject),
                row.due_on,
            )

    # -- staff ----------------------------------------------------------

    async def staff_with_chat(
        self, roles: Sequence[str], extra_regions: Sequence[str] = ()
    ) -> list[tuple[StaffAccount, ChatUser]]:
        query = (
            select(StaffAccount, ChatUser)
            .join(ChatUser, ChatUser.id == StaffAccount.chat_user_id)
            .where(StaffAccount.revoked_at.is_(None), ChatUser.reachable.is_(True))
            .order_by(StaffAccount.id)
        )
        rows = (await self.db.execute(query)).all()
        return [(s, u) for s, u in rows if s.role in roles or s.region_code in extra_regions]

    async def overdue_groups(self) -> dict[tuple[int, str, str, date], int]:
        """Overdue claims counted per (class, subsidy, late step, its due date), in the database.

        The same verdict as `outlook(...).overdue`: a review, publicity start or
        payment past its due date, or an unrecorded end of publicity whose
        payment period has run out (then the payment is the late step).
        """
        groups: dict[tuple[int, str, str, date], int] = defaultdict(int)
        rows = await self.db.execute(
            select(Claim.class_id, Claim.subsidy_type, Claim.state, Claim.due_on, func.count(Claim.id))
            .where(Claim.state.in_(OVERDUE_STATES), Claim.due_on < self.today)
            .group_by(Claim.class_id, Claim.subsidy_type, Claim.state, Claim.due_on)
        )
        for class_id, subsidy_type, state, due_on, count in rows.all():
            groups[(class_id, subsidy_type, DUE_EVENT[state], due_on)] += count
        payment_days = get_policy().deadlines["payment"].count
        cutoff, _ = self.cal.add_working_days(self.today, -payment_days)
        rows = await self.db.execute(
            select(Claim.class_id, Claim.subsidy_type, Claim.publicity_end, func.count(Claim.id))
            .where(Claim.state == "in_publicity", Claim.publicity_end < cutoff)
            .group_by(Claim.class_id, Claim.subsidy_type, Claim.publicity_end)
        )
        for class_id, subsidy_type, publicity_end, count in rows.all():
            due_on = compute_deadline("payment", publicity_end).deadline
            groups[(class_id, subsidy_type, "payment", due_on)] += count
        return groups

    async def staff_overdue(self) -> None:
        staff = await self.staff_with_chat(self.cfg.staff_alert_roles)
        if not staff:
            return
        groups = await self.overdue_groups()
        classes = {
            klass.id: (klass, inst)
            for klass, inst in (
                await self.db.execute(
                    select(TrainingClass, Institution)
                    .join(Institution, Institution.id == TrainingClass.institution_id)
                    .where(TrainingClass.id.in_({g[0] for g in groups}))
                )
            ).all()
        }
        for (class_id, subsidy_type, event, due_on), count in sorted(groups.items()):
            klass, inst = classes[class_id]
            text = self.texts.get(
                "claims.staff.overdue",
                class_name=klass.name,
                institution=inst.name,
                count=count,
                subsidy=subsidy_name(subsidy_type),
                step=self.texts.get(f"claims.steps.{event}"),
                due=self.d(due_on),
                article=article_of(event),
            )
            for account, user in staff:
                principal = Principal(role=account.role, region_code=account.region_code, staff_id=account.id)
                if not principal.covers_region(klass.region_code):
                    continue
                await self.send(
                    f"staff_overdue:{account.id}:{class_id}:{subsidy_type}:{event}:{due_on}",
                    [user],
                    "staff_alert",
                    text,
                    self.texts.get("claims.staff.item_overdue", class_name=klass.name),
                    due_on,
                )

    async def monthly_report(self) -> None:
        cfg = self.cfg.monthly_report
        first = self.today.replace(day=1)
        nth, _ = self.cal.working_days_between(first - timedelta(days=1), self.today)
        if nth < cfg.working_day_of_month:
            return
        previous = first - timedelta(days=1)
        text = self.texts.get("claims.staff.monthly_report", month=previous.month)
        for account, user in await self.staff_with_chat(cfg.roles, cfg.extra_regions):
            await self.send(
                f"monthly_report:{account.id}:{self.today:%Y-%m}",
                [user],
                "staff_alert",
                text,
                self.texts.get("claims.staff.item_monthly_report"),
                None,
            )


async def deadline_reminders(services: Services) -> dict[str, int]:
    """Enqueue today's reminders; returns how many outbox rows were added per kind."""
    today = services.clock.today()
    if not get_calendar().is_working_day(today):
        return {}
    async with services.db.session() as db:
        run = _Run(services, db)
        await run.class_applications()
        await run.claim_submissions()
        await run.rectifications()
        await run.staff_overdue()
        await run.monthly_report()
    return {kind: n for kind, n in run.counts.items() if n}


async def catch_up(services: Services) -> None:
    """After a start past the morning run time, send what today's run would have sent."""
    if services.clock.now().time() >= get_claims_config().reminders.run_at:
        await deadline_reminders(services)


def register(scheduler: Scheduler) -> None:
    at = get_claims_config().reminders.run_at
    scheduler.add("deadline-reminders", deadline_reminders, "cron", hour=at.hour, minute=at.minute)
    # A restart after the morning run still sends today's reminders (the keys keep it to once).
    scheduler.add(
        "deadline-reminders-catch-up",
        catch_up,
        "date",
        run_date=datetime.now(scheduler.services.settings.tz) + timedelta(seconds=30),
    )
