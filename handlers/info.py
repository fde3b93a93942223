"""The information intents: subsidies, claim documents, complaints (finding a class: courses.py).

Why here and not in the policy engine: these answers are read-outs of the
policy data (`config/policy/`) and of the database, put into chat-sized
Chinese. Every rate, list and article comes from the policy files; every
sentence from `config/messages/info.yaml`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bot.audit import audit
from bot.identity import mask_id_card
from bot.policy import get_policy
from bot.policy.eligibility import assess
from bot.policy.params import percent
from bot.policy.profile import ProfileError
from handlers import rules
from handlers.base import Context, Flow, answers_directly, on_intent, register_flow
from models import AuditEntry
from nlu.text import compact, fold_width

_ID_LIKE = re.compile(r"\d{17}[\dXx]")


def _raw(ctx: Context, key: str) -> Any:
    return ctx.services.texts.raw(f"info.{key}")


def _law(ctx: Context) -> str:
    return str(_raw(ctx, "law_title"))


def _point(ctx: Context, text: str, article: str) -> str:
    return ctx.t("info.point", text=text, article=article)


# --- subsidy_info ---------------------------------------------------------------


@on_intent("subsidy_info")
async def subsidy_info(ctx: Context) -> None:
    """The three subsidies of 第十五条 and the attendance rule, every figure from the policy."""
    pol = get_policy()
    lines = [ctx.t("info.subsidy_info.title", law_title=_law(ctx), document=pol.document)]
    for sid, sub in pol.subsidies.subsidies.items():
        if sub.covers == "groups":
            who = pol.texts.living_covered_description.text
        else:
            who = ctx.t(f"info.subsidy_info.who.{sub.covers}")
        what = ctx.t(f"info.subsidy_info.what.{sid}")
        lines.append(
            ctx.t("info.subsidy_info.line", name=sub.name, citation=sub.citation, who=who, what=what)
        )
    att = pol.attendance
    lines.append(ctx.t("info.subsidy_info.attendance_title"))
    exam = ctx.t("info.subsidy_info.exam_rule", exam_min=percent(att.exam_min_rate.value))
    lines.append(_point(ctx, exam, att.exam_min_rate.citation))
    share = ctx.t("info.subsidy_info.share_rule", **pol.rate_texts)
    lines.append(_point(ctx, share, att.share_min_rate.citation))
    lines.append(ctx.t("info.subsidy_info.amount", hotline=_raw(ctx, "hotline")))
    ctx.say("\n".join(lines), list(_raw(ctx, "subsidy_info.choices")))


# --- documents_needed ---------------------------------------------------------------


def _claim_of_text(ctx: Context, text: str) -> str | None:
    """The kind of claim a message names (评价补贴, 生活费 …), longest name first."""
    pol = get_policy()
    aliases: dict[str, list[str]] = _raw(ctx, "documents.aliases")
    names = [(compact(c.name), cid) for cid, c in pol.documents.claims.items()]
    names += [(compact(a), cid) for cid, words in aliases.items() for a in words]
    t = compact(text)
    for name, cid in sorted(names, key=lambda p: len(p[0]), reverse=True):
        if name and name in t:
            return cid
    return None


def _source(ctx: Context) -> str:
    """Who files the claim and by when (第十六条), the day count from the policy."""
    days = get_policy().deadlines["claim_submission"].count
    return ctx.t("info.documents.source", law_title=_law(ctx), days=days)


def _claim_choices() -> list[str]:
    return [c.name for c in get_policy().documents.claims.values()]


def _say_claim(ctx: Context, cid: str) -> None:
    """All papers of one kind of claim (第十六条), the trainee's own first."""
    pol = get_policy()
    claim = pol.documents.claims[cid]  # type: ignore[index]
    mine: list[str] = []
    theirs: list[str] = []
    for item in claim.items:
        text = ctx.t("info.documents.line", text=item.text)
        if item.only_for_groups:
            names = _raw(ctx, "documents.group_joiner").join(
                pol.group_by_id[g].name for g in item.only_for_groups
            )
            text += ctx.t("info.documents.only_for", groups=names)
        (mine if item.provided_by == "trainee" else theirs).append(text)
    lines = [ctx.t("info.documents.title", name=claim.name, citation=claim.citation)]
    if mine:
        lines += [ctx.t("info.documents.mine_title"), *mine]
    if theirs:
        lines += [ctx.t("info.documents.theirs_title"), *theirs]
    lines.append(_source(ctx))
    others = [name for name in _claim_choices() if name != claim.name]
    ctx.say("\n".join(lines), [*others, *_raw(ctx, "documents.choices_extra")])


def _profile_assessment(ctx: Context) -> Any:
    """The saved screening answers' result when they point to papers, else None."""
    try:
        result = assess(ctx.user.profile or {}, ctx.today)
    except ProfileError:
        return None
    return result if result.categories and result.document_needs else None


def _say_profile_documents(ctx: Context) -> bool:
    """The papers the saved screening answers point to; False when they do not say enough."""
    result = _profile_assessment(ctx)
    if result is None:
        return False
    pol = get_policy()
    names = "、".join(pol.eligibility.categories[c].name for c in result.categories)  # type: ignore[index]
    lines = [ctx.t("info.documents.from_profile", categories=names)]
    mine = [d for d in result.document_needs if d.provided_by == "trainee"]
    theirs = [d for d in result.document_needs if d.provided_by != "trainee"]
    if mine:
        lines.append(ctx.t("info.documents.mine_title"))
        lines += [_point(ctx, d.text, d.citation) for d in mine]
    if theirs:
        lines.append(ctx.t("info.documents.theirs_title"))
        lines += [_point(ctx, d.text, d.citation) for d in theirs]
    lines.append(_source(ctx))
    lines.append(ctx.t("info.documents.other_kinds"))
    ctx.say("\n".join(lines), _claim_choices())
    return True


@answers_directly("documents_needed")
def _documents_known(ctx: Context) -> bool:
    """A kind of claim named, or a saved screening: the paper list, not the picker's question."""
    return _claim_of_text(ctx, ctx.text) is not None or _profile_assessment(ctx) is not None


@on_intent("documents_needed")
async def documents_needed(ctx: Context) -> None:
    cid = _claim_of_text(ctx, ctx.text)
    if cid is not None:
        _say_claim(ctx, cid)
        return
    if _say_profile_documents(ctx):
        return
    await ctx.start_flow("documents")


# Replies that end the documents picker politely (谢谢/拜拜 → thanks; 好的/行了 → affirm;
# 不用了 → deny), keyed by the intent.
_CLOSING_INTENTS = {
    "thanks": "menu.thanks",
    "affirm": "info.documents.closed",
    "deny": "info.documents.closed",
}


class DocumentsFlow(Flow):
    """One question: which kind of claim (when the message and the profile do not say)."""

    name = "documents"

    async def start(self, ctx: Context) -> None:
        ctx.say_key("info.documents.ask", _claim_choices())

    async def on_message(self, ctx: Context) -> bool:
        """A kind of claim is answered; 谢谢/好的/不用了 close the picker; another request leaves it.

        Only a message that is none of these gets the choices again: someone
        who says 拜拜 or asks when class starts is done picking.
        """
        cid = _claim_of_text(ctx, ctx.text)
        if cid is not None:
            ctx.end_flow()
            _say_claim(ctx, cid)
            return True
        parse = ctx.parse
        clear = parse.confidence >= ctx.services.settings.intent_threshold
        # No bar for a closing word: at a picker "行了" is the end of it, however unsure.
        if parse.intent in _CLOSING_INTENTS:
            ctx.end_flow()
            ctx.say_key(_CLOSING_INTENTS[parse.intent])
            return True
        if clear and parse.intent != "out_of_scope":
            ctx.end_flow()  # the engine routes the message as if no flow were open
        return False

    async def reask(self, ctx: Context) -> None:
        ctx.say_key("info.documents.reask", _claim_choices())


register_flow(DocumentsFlow())


# --- complaint -------------------------------------------------------------------


def _mask_ids(text: str) -> str:
    """ID-card numbers never go into the audit log in clear, valid or mistyped."""
    folded = fold_width(text)  # same length: spans found in it are valid in the original
    out = text
    for m in reversed(list(_ID_LIKE.finditer(folded))):
        out = out[: m.start()] + mask_id_card(m.group(0).upper()) + out[m.end() :]
    return out


async def record_complaint(ctx: Context, text: str) -> int:
    """Write the complaint to the audit log (same transaction as the turn); its id is the reference."""
    await audit(
        ctx.db,
        f"chat_user:{ctx.user.id}",
        "complaint",
        "chat_user",
        ctx.user.id,
        text=_mask_ids(text),
        channel=ctx.user.channel,
    )
    await ctx.db.flush()
    query = (
        select(AuditEntry.id)
        .where(AuditEntry.action == "complaint", AuditEntry.target_id == str(ctx.user.id))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    number: int = (await ctx.db.execute(query)).scalar_one()
    return number


def _sure_other_intent(ctx: Context, own: str) -> bool:
    """A button or command of another intent; anything less sure is taken as the details asked for."""
    parse = ctx.parse
    return parse.intent not in (own, "out_of_scope") and (
        parse.confidence >= ctx.services.settings.global_threshold
    )


def _detailed(ctx: Context, text: str) -> bool:
    return len(compact(text)) >= int(_raw(ctx, "complaint.min_chars"))


async def _record_and_confirm(ctx: Context, text: str) -> None:
    number = await record_complaint(ctx, text)
    ctx.say_key(
        "info.complaint.recorded",
        list(_raw(ctx, "complaint.after_choices")),
        number=number,
        hotline=_raw(ctx, "hotline"),
    )


@on_intent("complaint")
async def complaint(ctx: Context) -> None:
    # A question (机构的整改期限是多久？) is never filed: the flow explains what may be reported.
    if _detailed(ctx, ctx.text) and not rules.is_question(ctx.text):
        await _record_and_confirm(ctx, ctx.text)
        return
    await ctx.start_flow("complaint")


class ComplaintFlow(Flow):
    """What may be reported (第二十六–二十八条), then the details in one message."""

    name = "complaint"

    async def start(self, ctx: Context) -> None:
        ctx.say_key(
            "info.complaint.intro",
            list(_raw(ctx, "complaint.choices")),
            law_title=_law(ctx),
            hotline=_raw(ctx, "hotline"),
        )

    async def on_message(self, ctx: Context) -> bool:
        if not _detailed(ctx, ctx.text) or _sure_other_intent(ctx, "complaint"):
            return False
        if rules.is_question(ctx.text):
            return False  # a question is never filed; the flow asks for the details again
        ctx.end_flow()
        await _record_and_confirm(ctx, ctx.text)
        return True

    async def reask(self, ctx: Context) -> None:
        ctx.say_key("info.complaint.too_short", list(_raw(ctx, "complaint.choices")))


register_flow(ComplaintFlow())
