"""找培训班: classes of designated institutions by place and occupation.

Places come from the division data of the province (bot.places): "延边" is
every county of the prefecture, "南关区" one district, "长白山" the counties
the zone lies in. A class is in a place when its own region or its
institution's lies there. When nothing fits, the search widens up the
hierarchy (the same prefecture, then the province) and says so in one line,
so "延吉有电商班吗" never ends at a bare "没有" while 延边 has one. Every
sentence and word list is in `config/messages/courses.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot import places
from handlers.base import Context, Flow, answers_directly, on_intent, register_flow
from models import Institution, TrainingClass
from nlu.text import HAN, compact

# Classes a trainee can still join or is attending: approved by the bureau
# (第十四条 班期审核) and not yet over.
LISTED_CLASS_STATUSES = ("approved", "running")
_NOT_HAN = re.compile(f"[^{HAN}A-Za-z0-9]+")
Row = tuple[TrainingClass, Institution]


def _raw(ctx: Context, key: str) -> Any:
    return ctx.services.texts.raw(f"courses.{key}")


@dataclass(frozen=True)
class ClassFilter:
    """What a message asks for: the places named (as written, with their codes) and the other words."""

    places: tuple[str, ...] = ()  # the names as written, for the answer ("延吉")
    codes: tuple[str, ...] = ()  # the divisions they cover; empty: the whole province
    rest: str = ""  # the message without the place names, for occupation words
    words: tuple[str, ...] = ()  # what is left once the filler words are gone

    @property
    def empty(self) -> bool:
        return not self.places and not self.words


def _narrowest(hits: list[places.PlaceHit]) -> list[places.PlaceHit]:
    """ "长春市南关区" asks for 南关区: a place is dropped when another named one lies inside it."""
    codes = [c for hit in hits for c in hit.within]
    return [
        hit
        for hit in hits
        if not any(other != code and places.contains(code, other) for code in hit.within for other in codes)
    ]


def read_filter(ctx: Context, text: str) -> ClassFilter:
    """Place names (longest first) and what is left once they and the filler words are gone."""
    rest = compact(text)
    hits = places.find_places(rest)
    for hit in reversed(hits):  # right to left: earlier offsets stay valid
        rest = rest[: hit.start] + " " + rest[hit.end :]
    chosen = [hit for hit in _narrowest(hits) if places.PROVINCE_CODE not in hit.within]
    codes = tuple(dict.fromkeys(code for hit in chosen for code in hit.within))
    left = rest
    for word in sorted(_raw(ctx, "filler"), key=len, reverse=True):
        left = left.replace(word, " ")
    words = tuple(w for w in _NOT_HAN.split(left) if len(w) >= 2)
    return ClassFilter(tuple(dict.fromkeys(hit.text for hit in chosen)), codes, rest, words)


async def listed_classes(ctx: Context) -> list[Row]:
    """Approved or running classes of active institutions that have not ended, soonest first."""
    query = (
        select(TrainingClass, Institution)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(
            Institution.status == "active",
            TrainingClass.status.in_(LISTED_CLASS_STATUSES),
            TrainingClass.end_date >= ctx.today,
        )
        .order_by(TrainingClass.start_date, TrainingClass.id)
    )
    return [(c, i) for c, i in (await ctx.db.execute(query)).all()]


def in_places(rows: list[Row], codes: tuple[str, ...]) -> list[Row]:
    """The classes whose own region or whose institution's lies in one of `codes` (all when empty)."""
    if not codes:
        return rows
    return [
        (c, i)
        for c, i in rows
        if any(places.contains(code, c.region_code) or places.contains(code, i.region_code) for code in codes)
    ]


def occupation_terms(ctx: Context, flt: ClassFilter, rows: list[Row]) -> tuple[str, tuple[str, ...]]:
    """The occupation asked for, as said, and the words a class's occupation or name must hold.

    An occupation of a listed class named in the message wins; then a word
    people use for one (电商 → 电子商务师, config); otherwise the first leftover
    word is taken as the occupation asked for, so "厨师" finds nothing instead
    of everything. ("", ()) when the message names none.
    """
    named = sorted({c.occupation for c, _ in rows if c.occupation and c.occupation in flt.rest}, key=len)
    if named:
        return "、".join(named), tuple(named)
    aliases: dict[str, list[str]] = _raw(ctx, "occupation_words")
    for word in sorted(aliases, key=len, reverse=True):
        if word in flt.rest:
            return word, (word, *aliases[word])
    if flt.words:
        return flt.words[0], (flt.words[0],)
    return "", ()


def of_occupation(rows: list[Row], terms: tuple[str, ...]) -> list[Row]:
    if not terms:
        return rows
    return [(c, i) for c, i in rows if any(t in c.occupation or t in c.name for t in terms)]


def wider_steps(codes: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Where to look next when the places named have nothing: the prefectures, then the province.

    Each step is (the level's name key, its codes); a prefecture named goes
    straight to the province.
    """
    prefectures = tuple(
        dict.fromkeys(
            p
            for code in codes
            for p in (code, *places.ancestors(code))
            if p != places.PROVINCE_CODE and p.endswith("00") and p not in codes
        )
    )
    steps: list[tuple[str, tuple[str, ...]]] = []
    if prefectures:
        steps.append(("prefecture", prefectures))
    steps.append(("province", ()))
    return steps


def _line(ctx: Context, cls: TrainingClass, inst: Institution) -> str:
    unknown = ctx.t("courses.unknown")
    status_key = "running" if cls.start_date <= ctx.today else "approved"
    return ctx.t(
        "courses.line",
        name=cls.name,
        status=ctx.t(f"courses.status.{status_key}"),
        region=places.region_name(cls.region_code) or places.region_name(inst.region_code) or "",
        institution=inst.name,
        start=cls.start_date.isoformat(),
        end=cls.end_date.isoformat(),
        address=cls.address or inst.address or unknown,
        phone=inst.contact_phone or unknown,
    )


def _listing(ctx: Context, head: str, rows: list[Row]) -> str:
    limit = int(_raw(ctx, "max_listed"))
    lines = [head, *(_line(ctx, c, i) for c, i in rows[:limit])]
    if len(rows) > limit:
        lines.append(ctx.t("courses.more", rest=len(rows) - limit))
    lines.append(ctx.t("courses.sign_up"))
    return "\n".join(lines)


async def idle_institutions(ctx: Context, flt: ClassFilter, listed: list[Row]) -> list[Institution]:
    """Active institutions of the places named with no class listed now, when the message asks for them."""
    if not flt.codes or not any(w in flt.rest for w in _raw(ctx, "institution_words")):
        return []
    busy = {i.id for _, i in listed}
    query = select(Institution).where(Institution.status == "active").order_by(Institution.id)
    return [
        inst
        for inst in (await ctx.db.execute(query)).scalars()
        if inst.id not in busy and any(places.contains(code, inst.region_code) for code in flt.codes)
    ]


def _institutions(ctx: Context, key: str, flt: ClassFilter, institutions: list[Institution]) -> str:
    limit = int(_raw(ctx, "max_institutions"))
    unknown = ctx.t("courses.unknown")
    place = str(_raw(ctx, "place_joiner")).join(flt.places)
    lines = [ctx.t(f"courses.{key}", place=place)]
    lines += [
        ctx.t("courses.institution_line", name=i.name, phone=i.contact_phone or unknown)
        for i in institutions[:limit]
    ]
    return "\n".join(lines)


def _wider_name(ctx: Context, level: str, codes: tuple[str, ...]) -> str:
    if level == "province":
        return ctx.t("courses.wider.province")
    names = [places.short_name(c) or c for c in codes]
    return ctx.t("courses.wider.prefecture", place=str(_raw(ctx, "place_joiner")).join(names))


async def say_classes(ctx: Context, flt: ClassFilter) -> None:
    rows = await listed_classes(ctx)
    occupation, terms = occupation_terms(ctx, flt, rows)
    of_kind = of_occupation(rows, terms)
    found = in_places(of_kind, flt.codes)
    label = str(_raw(ctx, "filter_joiner")).join([*flt.places, *filter(None, [occupation])])
    idle = await idle_institutions(ctx, flt, rows)
    if found:
        if label:
            head = ctx.t("courses.found_filtered", filter=label, count=len(found))
        else:
            head = ctx.t("courses.found", count=len(found))
        ctx.say(_listing(ctx, head, found))
        if idle:
            ctx.say(_institutions(ctx, "institutions_more_head", flt, idle))
        return
    if idle:
        ctx.say(_institutions(ctx, "institutions_head", flt, idle))
    if flt.codes:
        what = ctx.t("courses.what_any")
        if occupation:
            what = ctx.t("courses.what_occupation", occupation=occupation)
        for level, codes in wider_steps(flt.codes):
            nearby = in_places(of_kind, codes)
            if nearby:
                head = ctx.t(
                    "courses.none_here_wider",
                    place=str(_raw(ctx, "place_joiner")).join(flt.places),
                    what=what,
                    wider=_wider_name(ctx, level, codes),
                    count=len(nearby),
                )
                ctx.say(_listing(ctx, head, nearby))
                return
    choices = list(_raw(ctx, "none_choices"))
    hotline = ctx.t("info.hotline")
    if label:
        ctx.say_key("courses.none", choices, filter=label, hotline=hotline)
    else:
        ctx.say_key("courses.none_at_all", choices, hotline=hotline)


@answers_directly("find_training")
def _search_readable(ctx: Context) -> bool:
    """A place, a known occupation word, or nothing at all (the whole list) is a search the
    handler answers; other leftover words ("当定点机构硬件上") would be taken for a trade."""
    flt = read_filter(ctx, ctx.text)
    if flt.empty or flt.places:
        return True
    aliases: dict[str, list[str]] = _raw(ctx, "occupation_words")
    return any(word in flt.rest for word in aliases)


@on_intent("find_training")
async def find_training(ctx: Context) -> None:
    flt = read_filter(ctx, ctx.text)
    await say_classes(ctx, flt)
    if flt.empty:
        await ctx.start_flow("find_training")


class FindTrainingFlow(Flow):
    """After an unfiltered list: one chance to name an occupation or a place."""

    name = "find_training"

    async def start(self, ctx: Context) -> None:
        ctx.say_key("courses.ask_filter")

    async def on_message(self, ctx: Context) -> bool:
        flt = read_filter(ctx, ctx.text)
        ctx.end_flow()
        if flt.empty or (not flt.places and _other_intent(ctx, "find_training")):
            return False  # not a place or an occupation: the engine routes it afresh
        await say_classes(ctx, flt)
        return True

    async def reask(self, ctx: Context) -> None:  # pragma: no cover - on_message always ends the flow
        ctx.say_key("courses.ask_filter")


register_flow(FindTrainingFlow())


def _other_intent(ctx: Context, own: str) -> bool:
    """The message clearly means something else (a menu button, a confident other intent)."""
    parse = ctx.parse
    return parse.intent not in (own, "out_of_scope") and (
        parse.confidence >= ctx.services.settings.intent_threshold
    )
