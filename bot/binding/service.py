"""Linking a chat account to a real-name record: ID card + phone, or a one-time bind code.

Only a bound account sees its own attendance and claims, so binding is the
door to personal data: failed attempts are counted per chat account and
lock it for a while (`ChatUser.bind_failures`, `bind_locked_until`), and also
per target record and per source in the database (`bot.binding.throttle`); at
most `MAX_CHATS_PER_TRAINEE` chats hold one identity and the others are told
when a new one binds; a wrong
ID/phone pair never says which half was wrong, and bind codes are stored as
keyed hashes, work once and expire.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.binding import throttle
from bot.claims.config import Binding, get_claims_config
from bot.texts import get_texts
from models import BindCode, ChatUser, Institution, StaffAccount, Trainee

# How many chat accounts may hold one trainee's identity at once: a phone's WeChat and one
# more (Telegram, or a second phone). A third binding unbinds the oldest, which is told.
MAX_CHATS_PER_TRAINEE = 2

# Letters and digits that cannot be misread for one another (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_PHONE_DIGITS = re.compile(r"\D")


def normalize_code(raw: str) -> str:
    return re.sub(r"[\s\-_]", "", raw).upper()


def hash_code(code: str, key: bytes) -> str:
    """Keyed, so a leaked table does not give the (short) codes back by brute force."""
    return hmac.new(key, b"bind-code:" + normalize_code(code).encode(), hashlib.sha256).hexdigest()


def new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_phone(raw: str) -> str:
    digits = _PHONE_DIGITS.sub("", raw)
    return digits[-11:] if len(digits) > 11 and digits.startswith("86") else digits


@dataclass(frozen=True)
class BindOutcome:
    """What happened: `bound` (with the record), `mismatch`, `locked`, or a code problem."""

    status: str
    kind: str | None = None
    trainee: Trainee | None = None
    institution: Institution | None = None
    staff: StaffAccount | None = None
    locked_until: datetime | None = None
    failures_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "bound"


def locked_until(user: ChatUser, now: datetime) -> datetime | None:
    """When the account may try again, or None when it may try now."""
    if user.bind_locked_until is not None and user.bind_locked_until > now:
        return user.bind_locked_until
    return None


def _fail(user: ChatUser, now: datetime, limits: Binding, status: str) -> BindOutcome:
    user.bind_failures = (user.bind_failures or 0) + 1
    if user.bind_failures >= limits.max_failures:
        user.bind_failures = 0
        user.bind_locked_until = now + timedelta(minutes=limits.lock_minutes)
        return BindOutcome("locked", locked_until=user.bind_locked_until)
    return BindOutcome(status, failures_left=limits.max_failures - user.bind_failures)


def _succeed(user: ChatUser, now: datetime) -> None:
    user.bind_failures = 0
    user.bind_locked_until = None
    user.bound_at = now


async def bind_by_identity(
    db: AsyncSession, user: ChatUser, id_hash: str, phone: str, *, now: datetime
) -> BindOutcome:
    """Bind when the ID number (by its keyed hash, `bot.identity.hash_id_card`) and the phone
    on record belong to the same trainee; which of the two was wrong is never said."""
    limits = get_claims_config().binding
    source = throttle.source_key(user)
    until = locked_until(user, now) or await throttle.locked(db, [source], now)
    if until is not None:
        return BindOutcome("locked", locked_until=until)
    trainee = (await db.execute(select(Trainee).where(Trainee.id_card_hash == id_hash))).scalar_one_or_none()
    target = throttle.target_key(trainee.id if trainee is not None else None, id_hash)
    until = await throttle.locked(db, [target], now)
    if until is not None:
        await audit(db, f"chat:{user.id}", "bind_refused_locked", "chat_user", user.id, method="id_card")
        return BindOutcome("locked", locked_until=until)
    if trainee is None or not trainee.phone or normalize_phone(trainee.phone) != normalize_phone(phone):
        outcome = _fail(user, now, limits, "mismatch")
        locks = [await throttle.fail(db, key, lim, now) for key, lim in _counted(source, target)]
        if outcome.status != "locked" and any(locks):
            outcome = BindOutcome("locked", locked_until=max(u for u in locks if u is not None))
        await audit(db, f"chat:{user.id}", "bind_failed", "chat_user", user.id, method="id_card")
        return outcome
    await throttle.clear(db, target)
    await _bind_trainee(db, user, trainee, now)
    _succeed(user, now)
    await audit(db, f"chat:{user.id}", "bind_trainee", "trainee", trainee.id, method="id_card")
    return BindOutcome("bound", kind="trainee", trainee=trainee)


def _counted(source: str, target: str) -> list[tuple[str, throttle.Limits]]:
    return [(source, throttle.SOURCE), (target, throttle.TARGET)]


async def _bind_trainee(db: AsyncSession, user: ChatUser, trainee: Trainee, now: datetime) -> None:
    """Link the account; tell the trainee's other chats, and unbind the oldest beyond the limit."""
    from bot.outbox import enqueue  # the outbox imports the binding's models; import late

    user.trainee_id = trainee.id
    others = list(
        (
            await db.execute(
                select(ChatUser)
                .where(ChatUser.trainee_id == trainee.id, ChatUser.id != user.id)
                .order_by(ChatUser.bound_at.is_(None).desc(), ChatUser.bound_at, ChatUser.id)
            )
        ).scalars()
    )
    texts = get_texts()
    channel = texts.get(f"binding.channel_names.{user.channel}")
    surplus = max(0, len(others) + 1 - MAX_CHATS_PER_TRAINEE)
    for number, other in enumerate(others):
        replaced = number < surplus
        key = "binding.replaced_by_new_chat" if replaced else "binding.new_chat_bound"
        await enqueue(
            db,
            key=f"security:bind:{user.id}:{other.id}:{now.isoformat()}",
            chat_user_id=other.id,
            kind="security_notice",
            text=texts.get(key, channel=channel),
            due_at=now,
        )
        if replaced:
            other.trainee_id = None
            other.bound_at = None
            await audit(
                db,
                f"chat:{user.id}",
                "unbind_trainee",
                "trainee",
                trainee.id,
                chat_user=other.id,
                why="replaced",
            )


async def bind_by_code(
    db: AsyncSession, user: ChatUser, code: str, *, now: datetime, key: bytes
) -> BindOutcome:
    """Redeem a one-time code: a trainee, an institution contact, or a staff member's own account."""
    limits = get_claims_config().binding
    source = throttle.source_key(user)
    until = locked_until(user, now) or await throttle.locked(db, [source], now)
    if until is not None:
        return BindOutcome("locked", locked_until=until)
    row = (
        await db.execute(select(BindCode).where(BindCode.code_hash == hash_code(code, key)).with_for_update())
    ).scalar_one_or_none()
    staff = await db.get(StaffAccount, row.staff_id) if row is not None and row.kind == "staff" else None
    if row is not None and row.kind == "staff" and (staff is None or staff.revoked_at is not None):
        row = None  # a code for a revoked account is as good as no code
    if row is None or row.used_at is not None or row.expires_at <= now:
        status = "invalid_code" if row is None else ("used_code" if row.used_at else "expired_code")
        outcome = _fail(user, now, limits, status)
        lock = await throttle.fail(db, source, throttle.SOURCE, now)
        if outcome.status != "locked" and lock is not None:
            outcome = BindOutcome("locked", locked_until=lock)
        await audit(db, f"chat:{user.id}", "bind_failed", "chat_user", user.id, method="code", why=status)
        return outcome
    row.used_at = now
    row.used_by = user.id
    _succeed(user, now)
    actor = f"chat:{user.id}"
    if row.kind == "trainee":
        trainee = await db.get(Trainee, row.trainee_id)
        assert trainee is not None
        await _bind_trainee(db, user, trainee, now)
        await audit(db, actor, "bind_trainee", "trainee", row.trainee_id, method="code", code_id=row.id)
        return BindOutcome("bound", kind="trainee", trainee=trainee)
    if row.kind == "institution":
        institution = await db.get(Institution, row.institution_id)
        user.institution_id = row.institution_id
        await audit(db, actor, "bind_institution", "institution", row.institution_id, code_id=row.id)
        return BindOutcome("bound", kind="institution", institution=institution)
    assert staff is not None
    staff.chat_user_id = user.id
    await audit(db, actor, "bind_staff", "staff_account", staff.id, code_id=row.id)
    return BindOutcome("bound", kind="staff", staff=staff)


@dataclass(frozen=True)
class Links:
    """Everything a chat account is linked to, for "you are bound as …" and unbinding."""

    trainee: Trainee | None
    institution: Institution | None
    staff: list[StaffAccount]

    @property
    def any(self) -> bool:
        return bool(self.trainee or self.institution or self.staff)


async def links_of(db: AsyncSession, user: ChatUser) -> Links:
    trainee = await db.get(Trainee, user.trainee_id) if user.trainee_id else None
    institution = await db.get(Institution, user.institution_id) if user.institution_id else None
    staff = list(
        (
            await db.execute(
                select(StaffAccount).where(
                    StaffAccount.chat_user_id == user.id, StaffAccount.revoked_at.is_(None)
                )
            )
        ).scalars()
    )
    return Links(trainee, institution, staff)


async def unbind(db: AsyncSession, user: ChatUser) -> Links:
    """Drop every link of this chat account; returns what it was linked to."""
    links = await links_of(db, user)
    actor = f"chat:{user.id}"
    if links.trainee is not None:
        await audit(db, actor, "unbind_trainee", "trainee", links.trainee.id)
    if links.institution is not None:
        await audit(db, actor, "unbind_institution", "institution", links.institution.id)
    for staff in links.staff:
        staff.chat_user_id = None
        await audit(db, actor, "unbind_staff", "staff_account", staff.id)
    user.trainee_id = None
    user.institution_id = None
    user.bound_at = None
    return links


async def issue_code(
    db: AsyncSession,
    *,
    kind: str,
    actor: str,
    now: datetime,
    key: bytes,
    trainee_id: int | None = None,
    institution_id: int | None = None,
    staff_id: int | None = None,
) -> tuple[str, BindCode]:
    """A fresh code (shown once, stored hashed) for one record."""
    limits = get_claims_config().binding
    code = new_code(limits.code_length)
    row = BindCode(
        code_hash=hash_code(code, key),
        kind=kind,
        trainee_id=trainee_id if kind == "trainee" else None,
        institution_id=institution_id if kind == "institution" else None,
        staff_id=staff_id if kind == "staff" else None,
        expires_at=now + timedelta(days=limits.code_ttl_days),
        created_by=actor,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    target = {"trainee": trainee_id, "institution": institution_id, "staff": staff_id}[kind]
    await audit(db, actor, "issue_bind_code", kind, target, code_id=row.id)
    return code, row
