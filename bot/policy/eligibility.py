"""Who may join subsidised training, and which subsidies they may claim (第十二条, 第十五条, 第十六条).

`assess(profile, as_of)` is a pure function of the answers so far and the
day the class ends (identity is judged then, 第十二条). It never treats an
unanswered question as "no": what cannot be decided stays `None`, and the
fields that could still decide it are listed in `missing`, so the
conversation can ask exactly those, one at a time (`next_question`).

Every rule and sentence comes from `config/policy/`; this module only wires
them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from string import Formatter
from types import MappingProxyType
from typing import Any

from bot.policy.params import PROFILE_FIELDS, Policy, SubsidyParam, get_policy
from bot.policy.tri import FALSE, TRUE, Tri, all_of, answer, any_of, not_, of, unknown

# How many recent (profile, as_of) results to remember per policy.
ASSESS_CACHE_SIZE = 4096

# Sanity bounds for a graduation year typed by a person (input validation, not policy).
MIN_GRADUATION_YEAR = 1900
MAX_GRADUATION_YEAR = 2200

_BOOL_FIELDS = (
    "employed_since_graduation",
    "reached_retirement_age",
    "receives_pension",
    "ability_assessed",
    "first_evaluation_this_year",
)


class ProfileError(ValueError):
    """A profile answer of the wrong kind; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Profile:
    """The answers given so far; `None` is "not answered yet", never "no"."""

    employment: str | None = None
    groups: frozenset[str] | None = None
    graduation_year: int | None = None
    employed_since_graduation: bool | None = None
    household: str | None = None
    reached_retirement_age: bool | None = None
    receives_pension: bool | None = None
    ability_assessed: bool | None = None
    first_evaluation_this_year: bool | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], policy: Policy | None = None) -> Profile:
        """Build from a stored or posted profile; unknown keys are ignored, bad values raise ProfileError.

        Unknown keys are ignored because a stored user profile holds more than
        the screening needs; the HTTP API rejects them itself before calling.
        """
        pol = policy or get_policy()
        elig = pol.eligibility
        employment = data.get("employment")
        if employment is not None and employment not in elig.employment_values:
            raise ProfileError("employment", f"employment must be one of {sorted(elig.employment_values)}")
        household = data.get("household")
        if household is not None and household not in elig.household_values:
            raise ProfileError("household", f"household must be one of {sorted(elig.household_values)}")
        raw_groups = data.get("groups")
        groups: frozenset[str] | None = None
        if raw_groups is not None:
            if isinstance(raw_groups, str) or not isinstance(raw_groups, list | tuple | set | frozenset):
                raise ProfileError("groups", "groups must be a list of group ids")
            unknown_ids = [g for g in raw_groups if g not in pol.group_by_id]
            if unknown_ids:
                raise ProfileError("groups", f"unknown group ids {unknown_ids}; known: {list(pol.group_ids)}")
            groups = frozenset(raw_groups)
        year = data.get("graduation_year")
        if year is not None and (
            isinstance(year, bool)
            or not isinstance(year, int)
            or not MIN_GRADUATION_YEAR <= year <= MAX_GRADUATION_YEAR
        ):
            raise ProfileError(
                "graduation_year",
                f"graduation_year must be a year between {MIN_GRADUATION_YEAR} and {MAX_GRADUATION_YEAR}",
            )
        flags: dict[str, bool | None] = {}
        for name in _BOOL_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, bool):
                raise ProfileError(name, f"{name} must be true or false")
            flags[name] = value
        return cls(employment=employment, groups=groups, graduation_year=year, household=household, **flags)

    def to_dict(self) -> dict[str, Any]:
        """Only the answered fields, groups sorted: the shape the API and stored profiles use."""
        out: dict[str, Any] = {}
        for name in PROFILE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = sorted(value) if name == "groups" else value
        return out


@dataclass(frozen=True, slots=True)
class Reason:
    """One cited sentence: why something was decided, or a note about it."""

    id: str
    text: str
    article: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "article": self.article, "id": self.id}


@dataclass(frozen=True, slots=True)
class SubsidyResult:
    eligible: bool | None
    conditions: tuple[str, ...]
    article: str

    def to_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "conditions": list(self.conditions), "article": self.article}


@dataclass(frozen=True, slots=True)
class DocumentNeed:
    """A paper the claim needs (第十六条), with who provides it and under which claim."""

    key: str
    text: str
    provided_by: str
    claim: str
    citation: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The screening result. `to_dict()` is the contract's response body (plus a few extra fields)."""

    as_of: date
    eligible: bool | None
    categories: tuple[str, ...]
    subsidies: Mapping[str, SubsidyResult]
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]
    document_needs: tuple[DocumentNeed, ...]
    notes: tuple[Reason, ...]

    @property
    def next_question(self) -> str | None:
        """The field to ask next: the first, in the configured order, that can still change the result."""
        return self.missing[0] if self.missing else None

    @property
    def documents(self) -> tuple[str, ...]:
        return tuple(d.text for d in self.document_needs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "categories": list(self.categories),
            "subsidies": {name: s.to_dict() for name, s in self.subsidies.items()},
            "missing": list(self.missing),
            "reasons": [r.to_dict() for r in self.reasons],
            "documents": list(self.documents),
            "next_question": self.next_question,
            "notes": [n.to_dict() for n in self.notes],
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What `assess` derives from a policy once: ready-made sentences and document lists."""

    static_reasons: dict[str, Reason]
    claim_needs: dict[str, tuple[tuple[DocumentNeed, frozenset[str]], ...]]
    conditions: dict[str, tuple[str, ...]]
    notes: dict[str, Reason]


def _prepared(pol: Policy) -> _Prepared:
    cached = pol.memo.get("eligibility")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    fixed = {**pol.rate_texts, "covered": pol.texts.living_covered_description.text}
    static: dict[str, Reason] = {}
    for key, param in pol.texts.reasons.items():
        names = {name for _, name, _, _ in Formatter().parse(param.text) if name}
        if names <= set(fixed):
            static[key] = Reason(key, param.text.format(**fixed), param.article)
    claim_needs = {
        cid: tuple(
            (
                DocumentNeed(item.key, item.text, item.provided_by, cid, claim.citation),
                frozenset(item.only_for_groups),
            )
            for item in claim.items
        )
        for cid, claim in pol.documents.claims.items()
    }
    conditions = {
        sid: tuple(pol.rendered_conditions[c] for c in sub.conditions)
        for sid, sub in pol.subsidies.subsidies.items()
    }
    where = pol.eligibility.apply_at.where
    notes = {key: Reason(key, p.text.format(where=where), p.article) for key, p in pol.texts.notes.items()}
    prepared = _Prepared(static, claim_needs, conditions, notes)
    pol.memo["eligibility"] = prepared
    return prepared


def assess(
    profile: Mapping[str, Any] | Profile | None, as_of: date, policy: Policy | None = None
) -> Assessment:
    """Screen a profile against 第十二条/第十五条 as of the day the class ends.

    `profile` is a mapping of the contract's profile fields (missing or None =
    unknown) or a `Profile`. Raises ProfileError for a value of the wrong kind.
    """
    pol = policy or get_policy()
    prof = profile if isinstance(profile, Profile) else Profile.from_mapping(profile or {}, pol)
    cached = pol.memo.get("assess")
    if cached is None:
        # Results are immutable and depend only on (profile, as_of): a conversation
        # re-assesses the same answers after every turn, so remember recent ones.
        cached = pol.memo["assess"] = lru_cache(maxsize=ASSESS_CACHE_SIZE)(partial(_evaluate, pol))
    return cached(prof, as_of)  # type: ignore[no-any-return]


def _evaluate(pol: Policy, prof: Profile, as_of: date) -> Assessment:
    return _Screening(prof, as_of, pol).run()


class _Screening:
    """One evaluation: the three-valued rule results and the reasons collected on the way."""

    __slots__ = ("as_of", "groups", "pol", "prep", "prof", "reasons")

    def __init__(self, prof: Profile, as_of: date, pol: Policy) -> None:
        self.prof = prof
        self.as_of = as_of
        self.pol = pol
        self.prep = _prepared(pol)
        self.groups = prof.groups
        self.reasons: list[Reason] = []

    def say(self, key: str, **fmt: Any) -> None:
        if not fmt:
            self.reasons.append(self.prep.static_reasons[key])
            return
        param = self.pol.texts.reasons[key]
        self.reasons.append(Reason(key, param.text.format(**fmt), param.article))

    def in_group(self, group_id: str) -> Tri:
        if self.groups is None:
            return unknown("groups")
        return TRUE if group_id in self.groups else FALSE

    def group_name(self, group_id: str) -> str:
        return self.pol.group_by_id[group_id].name

    # --- 第十二条 ---------------------------------------------------------

    def in_work(self) -> Tri:
        employment = self.prof.employment
        if employment is None:
            return unknown("employment")
        return of(employment in self.pol.eligibility.categories["enterprise_employee"].employment)

    def graduate(self) -> Tri:
        """College graduate inside the window of 第十二条（二）, judged by calendar year at class end."""
        gw = self.pol.eligibility.graduate_window
        member = self.in_group(gw.group)
        if member.value is False:
            return FALSE
        not_employed = not_(
            any_of(
                self.in_work(),
                answer(self.prof.employed_since_graduation, "employed_since_graduation", True),
            )
        )
        year = self.prof.graduation_year
        if year is None:
            year_unknown = unknown("graduation_year")
            return all_of(member, any_of(year_unknown, all_of(year_unknown, not_employed)))
        offset = self.as_of.year - year
        last_graduation_offset = max(gw.graduation_year_offsets)
        speak = member.value is True
        fmt = {"year": year, "as_of_year": self.as_of.year}
        if offset in gw.graduation_year_offsets:
            window = TRUE
            if speak:
                self.say("graduate_in_year", **fmt)
        elif last_graduation_offset < offset <= last_graduation_offset + gw.unemployed_years_after:
            window = not_employed
            if speak and window.value is not None:
                self.say("graduate_unemployed_window" if window.value else "graduate_employed", **fmt)
        else:
            window = FALSE
            if speak:
                self.say(
                    "graduate_not_yet"
                    if offset < min(gw.graduation_year_offsets)
                    else "graduate_window_passed",
                    **fmt,
                )
        return all_of(member, window)

    def retirement_ok(self, member: Tri) -> Tri:
        """The retirement clause of 第十二条（二）: past the age, only without pension and once assessed."""
        rule = self.pol.eligibility.retirement
        prof = self.prof
        retired = answer(prof.reached_retirement_age, "reached_retirement_age", True)
        pension_ok = answer(prof.receives_pension, "receives_pension", rule.requires_receives_pension)
        assessed_ok = answer(prof.ability_assessed, "ability_assessed", rule.requires_ability_assessed)
        if member.value is True and retired.value is True:
            if pension_ok.value is False:
                self.say("retired_pension")
            elif pension_ok.value is True and assessed_ok.value is False:
                self.say("retired_not_assessed", assessed_by=rule.assessed_by, filed_with=rule.filed_with)
            elif pension_ok.value is True and assessed_ok.value is True:
                self.say("retired_assessed")
        return any_of(not_(retired), all_of(pension_ok, assessed_ok))

    # --- 第十五条 ---------------------------------------------------------

    def living_cover(self, sub: SubsidyParam) -> tuple[Tri, list[str]]:
        """Whether the person is among those the living allowance covers, and under which names."""
        parts: list[Tri] = []
        names: list[str] = []
        for gid in sub.groups:
            t = self.in_group(gid)
            parts.append(t)
            if t.value is True:
                names.append(self.group_name(gid))
        labels = self.pol.eligibility.household_values
        for qg in sub.qualified_groups:
            reqs: list[Tri] = []
            met: list[str] = []
            for req in qg.if_any:
                if req.household is not None:
                    t = answer(self.prof.household, "household", req.household)
                    label = labels[req.household]
                else:
                    assert req.group is not None
                    t = self.in_group(req.group)
                    label = self.group_name(req.group)
                reqs.append(t)
                if t.value is True:
                    met.append(label)
            t = all_of(self.in_group(qg.group), any_of(*reqs))
            parts.append(t)
            if t.value is True:
                names.append(f"{self.group_name(qg.group)}（{'、'.join(met)}）")
        return any_of(*parts), names

    def run(self) -> Assessment:
        pol, prof, groups = self.pol, self.prof, self.groups
        cats = pol.eligibility.categories

        enterprise = self.in_work()
        # Provisional answers: decided, but a still-missing field can overturn them.
        provisional: set[str] = set()
        if cats["enterprise_employee"].excluded_when_retired:
            if prof.reached_retirement_age is True:
                if enterprise.value is True:
                    self.say("employee_retired")
                enterprise = FALSE
            elif prof.reached_retirement_age is None:
                if enterprise.value is True:
                    # 在岗职工 presumes working age; the retirement answer may still end it.
                    provisional.add("reached_retirement_age")
                else:
                    enterprise = all_of(enterprise, unknown("reached_retirement_age"))
        if enterprise.value is True:
            self.say("enterprise_employee")

        graduate = self.graduate()
        gw_group = pol.eligibility.graduate_window.group
        if groups is None:
            member = any_of(unknown("groups"), graduate)
            member_ids: list[str] = []
        else:
            member_ids = [
                gid
                for gid in pol.key_group_ids
                if gid in groups and (gid != gw_group or graduate.value is True)
            ]
            member = TRUE if member_ids else graduate if gw_group in groups else FALSE
        key_group = all_of(member, self.retirement_ok(member))
        if key_group.value is True:
            self.say("key_group", groups="、".join(self.group_name(gid) for gid in member_ids))

        if groups is None:
            designated = unknown("groups") if pol.designated_group_ids else FALSE
        else:
            designated = of(any(gid in groups for gid in pol.designated_group_ids))
        if designated.value is True:
            self.say("designated")

        eligible = any_of(enterprise, key_group, designated)
        if eligible.value is False:
            if member.value is not True:
                self.say("no_category")
            for gid in sorted(groups or ()):
                if pol.group_by_id[gid].category is None and f"{gid}_alone" in pol.texts.reasons:
                    self.say(f"{gid}_alone")

        # The three subsidies of 第十五条.
        covered_by = {"eligible": eligible, "key_group": key_group}
        first_eval = answer(prof.first_evaluation_this_year, "first_evaluation_this_year", True)
        subsidies: dict[str, SubsidyResult] = {}
        deps: set[str] = set(eligible.deps) | provisional
        for sid, sub in pol.subsidies.subsidies.items():
            cover_names: list[str] = []
            if sub.covers == "groups":
                cover, cover_names = self.living_cover(sub)
                covered = all_of(key_group, cover)
            else:
                cover = covered = covered_by[sub.covers]
            decided = all_of(covered, first_eval) if sub.first_in_year_only else covered
            deps |= decided.deps
            shown: bool | None = False if decided.value is False else covered.value
            conditions: tuple[str, ...] = ()
            if shown is not False:
                conditions = self.prep.conditions[sid]
                if sub.first_in_year_only and prof.first_evaluation_this_year is None:
                    conditions = (*conditions, pol.rendered_conditions["evaluation_first"])
            subsidies[sid] = SubsidyResult(shown, conditions, sub.article)
            self._explain_subsidy(sid, sub, shown, eligible, covered, cover, cover_names)

        if eligible.value is not False:
            self.say("identity_at_class_end", as_of=self.as_of.isoformat())

        needs = self._documents(enterprise, key_group, designated, subsidies)
        notes = self._notes(eligible, needs)
        order = pol.question_order
        missing = tuple(sorted(deps, key=order.__getitem__))
        categories = tuple(
            cid
            for cid, t in (
                ("enterprise_employee", enterprise),
                ("key_group", key_group),
                ("designated", designated),
            )
            if t.value is True and cid in cats
        )
        return Assessment(
            as_of=self.as_of,
            eligible=eligible.value,
            categories=categories,
            subsidies=MappingProxyType(subsidies),
            missing=missing,
            reasons=tuple(self.reasons),
            document_needs=needs,
            notes=notes,
        )

    def _explain_subsidy(
        self,
        sid: str,
        sub: SubsidyParam,
        shown: bool | None,
        eligible: Tri,
        covered: Tri,
        cover: Tri,
        cover_names: list[str],
    ) -> None:
        if shown is True:
            if sub.covers == "groups":
                self.say(f"{sid}_covered", groups="、".join(cover_names))
            else:
                self.say(f"{sid}_covered")
            return
        if shown is None or eligible.value is not True:
            return
        # Eligible for training, but this subsidy is ruled out: say which answer did it.
        if sub.covers == "key_group" and covered.value is False:
            self.say(f"{sid}_not_key_group")
        elif sub.covers == "groups" and cover.value is False:
            self.say(f"{sid}_not_covered")
        elif sub.first_in_year_only and self.prof.first_evaluation_this_year is False:
            self.say(f"{sid}_not_first")

    # --- 第十六条 and notes ---------------------------------------------

    def _documents(
        self, enterprise: Tri, key_group: Tri, designated: Tri, subsidies: dict[str, SubsidyResult]
    ) -> tuple[DocumentNeed, ...]:
        claims: list[str] = []
        if enterprise.value is True:
            claims.append("enterprise_employee")
        elif key_group.value is True or designated.value is True:
            claims.append("key_group")
        claims += [sid for sid in ("evaluation", "living") if subsidies[sid].eligible is True]
        groups = self.groups or frozenset()
        seen: set[str] = set()
        out: list[DocumentNeed] = []
        for cid in claims:
            for need, only_for in self.prep.claim_needs[cid]:
                if need.key in seen or (only_for and groups.isdisjoint(only_for)):
                    continue
                seen.add(need.key)
                out.append(need)
        return tuple(out)

    def _notes(self, eligible: Tri, needs: tuple[DocumentNeed, ...]) -> tuple[Reason, ...]:
        notes = self.prep.notes
        out = []
        if eligible.value is not False:
            out.append(notes["where_to_apply"])
        if needs:
            out.append(notes["documents"])
        out.append(notes["screening"])
        return tuple(out)
