"""Who may join subsidised training (第十二条): the three categories, judged at class end.

Each rule returns a three-valued `Tri` (unknown stays unknown, with the
fields that could decide it) and says its cited sentence on the screening
only when the answer it rests on is known.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy.screening import Screening
from bot.policy.tri import FALSE, TRUE, Tri, all_of, answer, any_of, not_, of, unknown


@dataclass(frozen=True, slots=True)
class Categories:
    """The category results of 第十二条; `provisional` are fields that may still overturn a True."""

    enterprise: Tri
    key_group: Tri
    designated: Tri
    eligible: Tri
    provisional: frozenset[str]


def in_work(s: Screening) -> Tri:
    employment = s.prof.employment
    if employment is None:
        return unknown("employment")
    return of(employment in s.pol.eligibility.categories["enterprise_employee"].employment)


def graduate(s: Screening) -> Tri:
    """College graduate inside the window of 第十二条（二）, judged by calendar year at class end."""
    gw = s.pol.eligibility.graduate_window
    member = s.in_group(gw.group)
    if member.value is False:
        return FALSE
    not_employed = not_(
        any_of(
            in_work(s),
            answer(s.prof.employed_since_graduation, "employed_since_graduation", True),
        )
    )
    year = s.prof.graduation_year
    if year is None:
        year_unknown = unknown("graduation_year")
        return all_of(member, any_of(year_unknown, all_of(year_unknown, not_employed)))
    offset = s.as_of.year - year
    last_graduation_offset = max(gw.graduation_year_offsets)
    speak = member.value is True
    fmt = {"year": year, "as_of_year": s.as_of.year}
    if offset in gw.graduation_year_offsets:
        window = TRUE
        if speak:
            s.say("graduate_in_year", **fmt)
    elif last_graduation_offset < offset <= last_graduation_offset + gw.unemployed_years_after:
        window = not_employed
        if speak and window.value is not None:
            s.say("graduate_unemployed_window" if window.value else "graduate_employed", **fmt)
    else:
        window = FALSE
        if speak:
            s.say(
                "graduate_not_yet" if offset < min(gw.graduation_year_offsets) else "graduate_window_passed",
                **fmt,
            )
    return all_of(member, window)


def retirement_ok(s: Screening, member: Tri) -> Tri:
    """The retirement clause of 第十二条（二）: past the age, only without pension and once assessed."""
    rule = s.pol.eligibility.retirement
    prof = s.prof
    retired = answer(prof.reached_retirement_age, "reached_retirement_age", True)
    pension_ok = answer(prof.receives_pension, "receives_pension", rule.requires_receives_pension)
    assessed_ok = answer(prof.ability_assessed, "ability_assessed", rule.requires_ability_assessed)
    if member.value is True and retired.value is True:
        if pension_ok.value is False:
            s.say("retired_pension")
        elif pension_ok.value is True and assessed_ok.value is False:
            s.say("retired_not_assessed", assessed_by=rule.assessed_by, filed_with=rule.filed_with)
        elif pension_ok.value is True and assessed_ok.value is True:
            s.say("retired_assessed")
    return any_of(not_(retired), all_of(pension_ok, assessed_ok))


def categories(s: Screening) -> Categories:
    """Which categories the person falls in, with the sentences that explain it, in asking order."""
    pol, prof, groups = s.pol, s.prof, s.groups
    cats = pol.eligibility.categories

    enterprise = in_work(s)
    # Provisional answers: decided, but a still-missing field can overturn them.
    provisional: set[str] = set()
    if cats["enterprise_employee"].excluded_when_retired:
        if prof.reached_retirement_age is True:
            if enterprise.value is True:
                s.say("employee_retired")
            enterprise = FALSE
        elif prof.reached_retirement_age is None:
            if enterprise.value is True:
                # 在岗职工 presumes working age; the retirement answer may still end it.
                provisional.add("reached_retirement_age")
            else:
                enterprise = all_of(enterprise, unknown("reached_retirement_age"))
    if enterprise.value is True:
        s.say("enterprise_employee")

    graduated = graduate(s)
    gw_group = pol.eligibility.graduate_window.group
    if groups is None:
        member = any_of(unknown("groups"), graduated)
        member_ids: list[str] = []
    else:
        member_ids = [
            gid for gid in pol.key_group_ids if gid in groups and (gid != gw_group or graduated.value is True)
        ]
        member = TRUE if member_ids else graduated if gw_group in groups else FALSE
    key_group = all_of(member, retirement_ok(s, member))
    if key_group.value is True:
        s.say("key_group", groups="、".join(s.group_name(gid) for gid in member_ids))

    if groups is None:
        designated = unknown("groups") if pol.designated_group_ids else FALSE
    else:
        designated = of(any(gid in groups for gid in pol.designated_group_ids))
    if designated.value is True:
        s.say("designated")

    eligible = any_of(enterprise, key_group, designated)
    if eligible.value is False:
        if member.value is not True:
            s.say("no_category")
        for gid in sorted(groups or ()):
            if pol.group_by_id[gid].category is None and f"{gid}_alone" in pol.texts.reasons:
                s.say(f"{gid}_alone")
    return Categories(enterprise, key_group, designated, eligible, frozenset(provisional))
