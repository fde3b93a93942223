"""Facts said in passing, taken into the screening (nlu.facts → the saved answers).

Whatever the question, "我62了，哪有退休金" answers two others: the flow
takes every fact the message states, says in one line what it took
("记下了：62岁，没领养老金"), and asks only what is still open. The newest
statement of a fact wins, so "说错了，我是城里户口" simply corrects it.

The retirement question is worked out from an age or birth year with the
statutory ages of `bot.policy.retirement` (dated data) when the age settles
it either way; a trainee bound to the real-name record gives the sex through
the masked ID number (its 17th digit is kept, GB 11643: odd = male).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from bot.policy.profile import Profile, ProfileError
from bot.policy.retirement import births_for_age, births_for_year, deciding, get_retirement_rules, reached
from handlers.base import Context
from handlers.eligibility.store import Store
from models import Trainee
from nlu.facts import Facts

RETIRED = "reached_retirement_age"
# Index of the sex digit in an 18-character ID number; masking keeps the last four.
_SEX_DIGIT = 16


@dataclass
class Taken:
    """What one message added or changed, in the order the note says it."""

    person: list[str] = field(default_factory=list)  # age / birth_year / sex
    fields: list[str] = field(default_factory=list)  # contract profile fields
    groups: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.person or self.fields or self.groups)


def take(ctx: Context, store: Store, facts: Facts, as_of: date) -> Taken:
    """Record the message's facts on the store (not saved yet); return what changed."""
    taken = Taken()
    person = store.person
    if facts.age is not None and person.get("age") != list(facts.age):
        person.update(age=list(facts.age), age_on=ctx.today.isoformat())
        person.pop("birth_year", None)
        taken.person.append("age")
    if facts.birth_year is not None and person.get("birth_year") != facts.birth_year:
        person["birth_year"] = facts.birth_year
        person.pop("age", None)
        taken.person.append("birth_year")
    if facts.sex is not None and person.get("sex") != facts.sex:
        person["sex"] = facts.sex
        taken.person.append("sex")
    answers = store.answers
    for name, value in facts.profile().items():
        try:
            Profile.from_mapping({name: value})
        except ProfileError:
            continue
        if answers.get(name) != value:
            store.answer(name, value)
            taken.fields.append(name)
    if facts.groups:
        if "groups" in answers:
            new = [g for g in facts.groups if g not in answers["groups"]]
            if new:
                store.answer("groups", sorted({*answers["groups"], *new}))
        else:
            new = [g for g in facts.groups if g not in store.pending]
            store.pending.extend(new)
        taken.groups.extend(new)
    if derive_retirement(store, as_of):
        taken.fields.append(RETIRED)
    return taken


def births(store: Store) -> tuple[date, date] | None:
    """The birth dates the person's stated age or birth year allow."""
    person = store.person
    age = person.get("age")
    if isinstance(age, list) and len(age) == 2:
        try:
            on = date.fromisoformat(person.get("age_on", ""))
        except ValueError:
            return None
        return births_for_age(int(age[0]), int(age[1]), on)
    year = person.get("birth_year")
    return births_for_year(int(year)) if isinstance(year, int) else None


def derive_retirement(store: Store, as_of: date) -> bool:
    """Settle the retirement question from the age, unless the person answered it themself."""
    if RETIRED in store.asked and RETIRED not in store.derived:
        return False
    span = births(store)
    groups = store.answers.get("groups") or store.pending
    if span is not None:
        value = reached(span, as_of, store.person.get("sex"))
    elif set(groups) & set(get_retirement_rules().not_of_retirement_age.groups):
        value = False  # "两后生" are this year's school leavers (第十二条): far from retirement
    else:
        return False
    if value is None or store.answers.get(RETIRED) == value:
        return False
    store.derive(RETIRED, value)
    return True


def retirement_needs(store: Store, as_of: date) -> str | None:
    """With an age known but not settling it: "sex" (ask it) or "ask" (the question itself)."""
    span = births(store)
    if span is None:
        return None
    need = deciding(span, as_of, store.person.get("sex"))
    if need == "sex" and store.sex_asked:
        return "ask"
    return need


async def sex_from_record(ctx: Context, store: Store) -> bool:
    """A bound trainee's sex from the masked ID number (the 17th digit survives masking)."""
    if ctx.user.trainee_id is None or store.person.get("sex"):
        return False
    masked = (
        await ctx.db.execute(select(Trainee.id_card_masked).where(Trainee.id == ctx.user.trainee_id))
    ).scalar_one_or_none()
    if not masked or len(masked) != 18 or not masked[_SEX_DIGIT].isdigit():
        return False
    store.person["sex"] = "male" if int(masked[_SEX_DIGIT]) % 2 else "female"
    return True


def note(ctx: Context, store: Store, taken: Taken, *, with_groups: bool) -> str:
    """ "记下了：62岁，农民工，没领养老金。" — empty when nothing was taken."""
    cfg: dict[str, Any] = ctx.services.texts.raw("eligibility.facts")
    parts: list[str] = []
    person = store.person
    if "age" in taken.person:
        lo, hi = person["age"]
        parts.append(cfg["age"].format(age=lo) if lo == hi else cfg["age_range"].format(lo=lo, hi=hi))
    if "birth_year" in taken.person:
        parts.append(cfg["birth_year"].format(year=person["birth_year"]))
    if "sex" in taken.person:
        parts.append(cfg["sex"][person["sex"]])
    profile = store.answers
    for name in taken.fields:
        if name not in profile:
            continue
        value = profile[name]
        if name == "graduation_year":
            parts.append(cfg["graduation_year"].format(year=value))
        else:
            parts.append(cfg[name][value if isinstance(value, str) else str(value).lower()])
    if with_groups:
        short: dict[str, str] = ctx.services.texts.raw("eligibility.questions.groups.short")
        parts.extend(short[g] for g in taken.groups)
    if not parts:
        return ""
    return str(cfg["noted"]).format(facts=cfg["joiner"].join(dict.fromkeys(parts)))


# Intents that say nothing against a screening: a message of facts read as one of these is an opening.
_WEAK_INTENTS = ("out_of_scope", "affirm", "deny", "greet", "thanks", "check_eligibility")


def _states_a_situation(ctx: Context) -> bool:
    """ "家里没人上班，是零就业家庭" / "我有残疾证": who one is, not a grievance.

    The intent model hears 没人 … as "没人讲课" and takes such a message for a
    complaint; a key group named without a word of grievance (投诉, 骗,
    乱收费 … in config/nlu/concepts.yaml) is a fact for the screening.
    """
    return bool(ctx.facts and ctx.facts.groups) and "complain" not in ctx.services.nlu.concepts(ctx.text)


def opens_screening(ctx: Context, threshold: float) -> bool:
    """ "俺闺女十六，中考完没再上学，家是农村的": facts enough to start the screening with.

    Only outside a flow, and only when the NLU has no clear other request.
    """
    facts = ctx.facts
    if not facts:
        return False
    intent = ctx.parse.intent
    weak = intent in _WEAK_INTENTS or (intent == "complaint" and _states_a_situation(ctx))
    if ctx.parse.confidence >= threshold and not weak:
        return False
    said = len(facts.profile()) + len(facts.groups) + (facts.age is not None) + (facts.birth_year is not None)
    return bool(facts.groups) or said >= 2
