"""Which of the three subsidies of 第十五条 a person gets, and why one is ruled out.

Training follows eligibility, evaluation the key groups (first evaluation in
the year only), the living allowance the groups named in
`config/policy/subsidies.yaml`; conditions (certificate, attendance) are
listed for every subsidy that is not ruled out.
"""

from __future__ import annotations

from bot.policy.assessment import SubsidyResult
from bot.policy.identity import Categories
from bot.policy.schema.subsidies import SubsidyParam
from bot.policy.screening import Screening
from bot.policy.tri import Tri, all_of, answer, any_of


def subsidies(s: Screening, cats: Categories) -> tuple[dict[str, SubsidyResult], set[str]]:
    """Each subsidy's result, and the fields that could still change one of them."""
    pol, prof = s.pol, s.prof
    eligible, key_group = cats.eligible, cats.key_group
    covered_by = {"eligible": eligible, "key_group": key_group}
    first_eval = answer(prof.first_evaluation_this_year, "first_evaluation_this_year", True)
    results: dict[str, SubsidyResult] = {}
    deps: set[str] = set()
    for sid, sub in pol.subsidies.subsidies.items():
        cover_names: list[str] = []
        if sub.covers == "groups":
            cover, cover_names = living_cover(s, sub)
            covered = all_of(key_group, cover)
        else:
            cover = covered = covered_by[sub.covers]
        decided = all_of(covered, first_eval) if sub.first_in_year_only else covered
        deps |= decided.deps
        shown: bool | None = False if decided.value is False else covered.value
        conditions: tuple[str, ...] = ()
        if shown is not False:
            conditions = s.prep.conditions[sid]
            if sub.first_in_year_only and prof.first_evaluation_this_year is None:
                conditions = (*conditions, pol.rendered_conditions["evaluation_first"])
        results[sid] = SubsidyResult(shown, conditions, sub.article)
        explain_subsidy(s, sid, sub, shown, eligible, covered, cover, cover_names)
    return results, deps


def living_cover(s: Screening, sub: SubsidyParam) -> tuple[Tri, list[str]]:
    """Whether the person is among those the living allowance covers, and under which names."""
    parts: list[Tri] = []
    names: list[str] = []
    for gid in sub.groups:
        t = s.in_group(gid)
        parts.append(t)
        if t.value is True:
            names.append(s.group_name(gid))
    labels = s.pol.eligibility.household_values
    for qg in sub.qualified_groups:
        reqs: list[Tri] = []
        met: list[str] = []
        for req in qg.if_any:
            if req.household is not None:
                t = answer(s.prof.household, "household", req.household)
                label = labels[req.household]
            else:
                assert req.group is not None
                t = s.in_group(req.group)
                label = s.group_name(req.group)
            reqs.append(t)
            if t.value is True:
                met.append(label)
        t = all_of(s.in_group(qg.group), any_of(*reqs))
        parts.append(t)
        if t.value is True:
            names.append(f"{s.group_name(qg.group)}（{'、'.join(met)}）")
    return any_of(*parts), names


def explain_subsidy(
    s: Screening,
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
            s.say(f"{sid}_covered", groups="、".join(cover_names))
        else:
            s.say(f"{sid}_covered")
        return
    if shown is None or eligible.value is not True:
        return
    # Eligible for training, but this subsidy is ruled out: say which answer did it.
    if sub.covers == "key_group" and covered.value is False:
        s.say(f"{sid}_not_key_group")
    elif sub.covers == "groups" and cover.value is False:
        s.say(f"{sid}_not_covered")
    elif sub.first_in_year_only and s.prof.first_evaluation_this_year is False:
        s.say(f"{sid}_not_first")
