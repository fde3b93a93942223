"""Binding a chat account to a trainee, an institution or a staff member (intent `bind_identity`).

Two ways in: the ID-card number plus the phone on record, or a one-time bind
code from the institution (typed as `绑定 K7XP2M9Q`, or arriving from a
Telegram `/start bind_<code>` deep link, which the channel turns into that
text). 解除绑定 unbinds after a confirmation.

The ID number never sits in the conversation state in clear (only its keyed
hash and masked form), and the inbound messages that carried it are masked
in the transcript, so a staff member reading a conversation sees no number.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from bot.binding.service import (
    CODE_ALPHABET,
    BindOutcome,
    Links,
    bind_by_code,
    bind_by_identity,
    links_of,
    locked_until,
    normalize_code,
    unbind,
)
from bot.claims.config import get_claims_config
from bot.identity import hash_id_card, mask_id_card, mask_phone
from handlers.base import Context, Flow, on_intent, register_flow
from models import Message
from nlu.answers import UNRECOGNISED, yes_no
from nlu.ids import IdCardCheck, find_id_cards, find_phones

FLOW = "bind"
_CODE_AFTER_WORD = re.compile(
    r"(?:绑定码|绑定|bind_?)\s*[:：]?\s*([A-Za-z0-9][A-Za-z0-9\- ]*[A-Za-z0-9])", re.I
)
_BARE_CODE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9\- ]*[A-Za-z0-9])\s*[。.!！]?\s*$")


def t(ctx: Context, key: str, **fmt: object) -> str:
    return ctx.t(f"binding.{key}", **fmt)


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)


def find_code(text: str, *, bare: bool) -> str | None:
    """A bind code in the message: after 绑定/绑定码, or (inside the flow) the message alone."""
    cfg = get_claims_config().binding
    candidates = [m.group(1) for m in _CODE_AFTER_WORD.finditer(text)]
    if bare:
        m = _BARE_CODE.match(text)
        if m:
            candidates.append(m.group(1))
    for raw in candidates:
        code = normalize_code(raw)
        if not cfg.code_min_length <= len(code) <= cfg.code_max_length:
            continue
        if code.isdigit() and find_phones(code):
            continue  # a phone number, not a code
        if not bare and not set(code) <= set(CODE_ALPHABET):
            continue  # a word after 绑定 (bind me, please), not one of our codes
        return code
    return None


def wants_unbind(text: str) -> bool:
    return any(word in text for word in get_claims_config().binding.unbind_words)


async def mask_inbound(ctx: Context, *secrets: str) -> None:
    """Replace ID and phone numbers in this turn's inbound message with their masked forms."""
    inbound = (
        await ctx.db.execute(
            select(Message)
            .where(Message.chat_user_id == ctx.user.id, Message.direction == "in")
            .order_by(Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if inbound is None:
        return
    original = text = inbound.text
    for cand in find_id_cards(original):
        text = text.replace(original[cand.start : cand.end], mask_id_card(cand.number))
    for phone in find_phones(original):
        text = text.replace(original[phone.start : phone.end], mask_phone(phone.number))
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, secret[:2] + "*" * (len(secret) - 2))
    inbound.text = text


def until_text(ctx: Context, until: datetime) -> str:
    local = until.astimezone(ctx.now.tzinfo)
    key = "until_time" if local.date() == ctx.today else "until_day"
    return t(ctx, key, month=local.month, day=local.day, hour=local.hour, minute=local.minute)


def linked_choices(ctx: Context) -> list[str]:
    return [t(ctx, "claims_button"), t(ctx, "attendance_button")]


async def report(ctx: Context, outcome: BindOutcome, *, phone: str = "") -> None:
    """Tell the user how an attempt went, and where the conversation goes next."""
    if outcome.status == "bound":
        ctx.end_flow()
        if outcome.kind == "trainee" and outcome.trainee is not None:
            trainee = outcome.trainee
            ctx.say(
                t(
                    ctx,
                    "bound_trainee",
                    name=mask_name(trainee.name),
                    id_masked=trainee.id_card_masked,
                    phone_masked=mask_phone(phone or trainee.phone or ""),
                ),
                linked_choices(ctx),
            )
        elif outcome.kind == "institution" and outcome.institution is not None:
            ctx.say(t(ctx, "bound_institution", institution=outcome.institution.name))
        elif outcome.staff is not None:
            ctx.say(t(ctx, "bound_staff", name=outcome.staff.name))
        return
    if outcome.status == "locked":
        ctx.end_flow()
        assert outcome.locked_until is not None
        ctx.say(t(ctx, "locked", until=until_text(ctx, outcome.locked_until)))
        return
    if outcome.status == "mismatch":
        ctx.goto("id_card")
        ctx.set_data(id_hash=None, id_masked=None)
        ctx.say(
            t(ctx, "mismatch", left=outcome.failures_left), [t(ctx, "retry_button"), t(ctx, "code_button")]
        )
        return
    ctx.goto("code")
    ctx.say(t(ctx, outcome.status, left=outcome.failures_left), [t(ctx, "id_button")])


async def try_code(ctx: Context, code: str) -> None:
    await mask_inbound(ctx, code)
    key = ctx.services.settings.hash_key()
    await report(ctx, await bind_by_code(ctx.db, ctx.user, code, now=ctx.now, key=key))


async def try_identity(ctx: Context, id_hash: str, phone: str) -> None:
    await report(ctx, await bind_by_identity(ctx.db, ctx.user, id_hash, phone, now=ctx.now), phone=phone)


def describe(ctx: Context, links: Links) -> str:
    parts = []
    if links.trainee is not None:
        parts.append(t(ctx, "unbind_what_trainee", name=mask_name(links.trainee.name)))
    if links.institution is not None:
        parts.append(t(ctx, "unbind_what_institution", institution=links.institution.name))
    parts += [t(ctx, "unbind_what_staff", name=s.name) for s in links.staff]
    return t(ctx, "unbind_separator").join(parts)


async def ask_unbind(ctx: Context) -> None:
    links = await links_of(ctx.db, ctx.user)
    if not links.any:
        ctx.end_flow()
        ctx.say(t(ctx, "not_bound"))
        return
    ctx.goto("unbind_confirm")
    ctx.say(t(ctx, "unbind_confirm", what=describe(ctx, links)), [t(ctx, "unbind_yes"), t(ctx, "unbind_no")])


class BindFlow(Flow):
    name = FLOW

    async def start(self, ctx: Context) -> None:
        text = ctx.text
        if wants_unbind(text):
            await ask_unbind(ctx)
            return
        until = locked_until(ctx.user, ctx.now)
        if until is not None:
            ctx.end_flow()
            ctx.say(t(ctx, "locked", until=until_text(ctx, until)))
            return
        code = find_code(text, bare=False)
        if code is not None:
            await try_code(ctx, code)
            return
        if ctx.user.trainee_id is not None:
            await self.show_bound(ctx)
            return
        if find_id_cards(text):
            ctx.goto("id_card")
            await self.on_id_card(ctx)
            return
        if any(word in text for word in get_claims_config().binding.code_words) and "身份" not in text:
            ctx.goto("code")
            ctx.say(t(ctx, "ask_code"), [t(ctx, "id_button")])
            return
        ctx.goto("id_card")
        ctx.say(t(ctx, "ask_id_card"), [t(ctx, "code_button")])

    async def show_bound(self, ctx: Context) -> None:
        ctx.end_flow()
        links = await links_of(ctx.db, ctx.user)
        assert links.trainee is not None
        lines = [
            t(
                ctx,
                "already_bound",
                name=mask_name(links.trainee.name),
                id_masked=links.trainee.id_card_masked,
            )
        ]
        if links.institution is not None:
            lines.append(t(ctx, "also_linked_institution", institution=links.institution.name))
        lines += [t(ctx, "also_linked_staff", name=s.name) for s in links.staff]
        ctx.say("\n".join(lines), [t(ctx, "unbind_button"), *linked_choices(ctx)])

    async def on_message(self, ctx: Context) -> bool:
        text = ctx.text
        step = ctx.state.step
        if step == "unbind_confirm":
            return await self.on_unbind_confirm(ctx)
        if wants_unbind(text):
            await ask_unbind(ctx)
            return True
        if text == t(ctx, "code_button"):
            ctx.goto("code")
            ctx.say(t(ctx, "ask_code"), [t(ctx, "id_button")])
            return True
        if text in (t(ctx, "id_button"), t(ctx, "retry_button")):
            ctx.goto("id_card")
            ctx.set_data(id_hash=None, id_masked=None)
            ctx.say(t(ctx, "ask_id_card"), [t(ctx, "code_button")])
            return True
        if step == "code":
            code = find_code(text, bare=True)
            if code is None:
                return False
            await try_code(ctx, code)
            return True
        code = find_code(text, bare=False)
        if code is not None:
            await try_code(ctx, code)
            return True
        if step == "phone":
            return await self.on_phone(ctx)
        return await self.on_id_card(ctx)

    async def on_id_card(self, ctx: Context) -> bool:
        candidates = find_id_cards(ctx.text)
        if not candidates:
            if find_phones(ctx.text):
                await mask_inbound(ctx)
                ctx.say(t(ctx, "phone_first"), [t(ctx, "code_button")])
                return True
            return False
        await mask_inbound(ctx)
        valid = next((c for c in candidates if c.check is IdCardCheck.VALID), None)
        if valid is None:
            first = candidates[0]
            key = "id_old_format" if len(first.number) == 15 else "id_invalid"
            ctx.say(t(ctx, key), [t(ctx, "code_button")])
            return True
        id_hash = hash_id_card(valid.number, ctx.services.settings.hash_key())
        masked = mask_id_card(valid.number)
        phones = find_phones(ctx.text)
        if phones:
            await try_identity(ctx, id_hash, phones[0].number)
            return True
        ctx.set_data(id_hash=id_hash, id_masked=masked)
        ctx.goto("phone")
        ctx.say(t(ctx, "ask_phone", id_masked=masked))
        return True

    async def on_phone(self, ctx: Context) -> bool:
        phones = find_phones(ctx.text)
        id_hash = ctx.data.get("id_hash")
        if find_id_cards(ctx.text):  # a corrected ID number: start over from it
            return await self.on_id_card(ctx)
        if not phones:
            if any(ch.isdigit() for ch in ctx.text):
                await mask_inbound(ctx)
                ctx.say(t(ctx, "reask_phone"))
                return True
            return False
        await mask_inbound(ctx)
        if not id_hash:
            ctx.goto("id_card")
            ctx.say(t(ctx, "ask_id_card"), [t(ctx, "code_button")])
            return True
        await try_identity(ctx, id_hash, phones[0].number)
        return True

    async def on_unbind_confirm(self, ctx: Context) -> bool:
        text = ctx.text
        if text == t(ctx, "unbind_yes"):
            answer: object = True
        elif text == t(ctx, "unbind_no"):
            answer = False
        else:
            answer = yes_no(text)
        if answer is True:
            await unbind(ctx.db, ctx.user)
            ctx.end_flow()
            ctx.say(t(ctx, "unbind_done"))
            return True
        if answer is False:
            ctx.end_flow()
            ctx.say(t(ctx, "unbind_kept"))
            return True
        if answer is UNRECOGNISED:
            return False
        ctx.say(t(ctx, "unbind_reask"), [t(ctx, "unbind_yes"), t(ctx, "unbind_no")])
        return True

    async def reask(self, ctx: Context) -> None:
        step = ctx.state.step
        if step == "unbind_confirm":
            ctx.say(t(ctx, "unbind_reask"), [t(ctx, "unbind_yes"), t(ctx, "unbind_no")])
        elif step == "phone":
            ctx.say(t(ctx, "reask_phone"))
        elif step == "code":
            ctx.say(t(ctx, "reask_code"), [t(ctx, "id_button")])
        else:
            ctx.say(t(ctx, "reask_id_card"), [t(ctx, "code_button")])


register_flow(BindFlow())


@on_intent("bind_identity")
async def bind_identity(ctx: Context) -> None:
    await ctx.start_flow(FLOW)
