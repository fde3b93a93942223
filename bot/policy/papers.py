"""The papers a claim needs (第十六条) and the notes that close every screening.

Only the claims the person can make are listed, each paper once, and papers
meant for particular groups only when the person is in one of them.
"""

from __future__ import annotations

from bot.policy.assessment import DocumentNeed, Reason, SubsidyResult
from bot.policy.screening import Screening
from bot.policy.tri import Tri


def documents(
    s: Screening, enterprise: Tri, key_group: Tri, designated: Tri, subsidies: dict[str, SubsidyResult]
) -> tuple[DocumentNeed, ...]:
    claims: list[str] = []
    if enterprise.value is True:
        claims.append("enterprise_employee")
    elif key_group.value is True or designated.value is True:
        claims.append("key_group")
    claims += [sid for sid in ("evaluation", "living") if subsidies[sid].eligible is True]
    groups = s.groups or frozenset()
    seen: set[str] = set()
    out: list[DocumentNeed] = []
    for cid in claims:
        for need, only_for in s.prep.claim_needs[cid]:
            if need.key in seen or (only_for and groups.isdisjoint(only_for)):
                continue
            seen.add(need.key)
            out.append(need)
    return tuple(out)


def notes(s: Screening, eligible: Tri, needs: tuple[DocumentNeed, ...]) -> tuple[Reason, ...]:
    notes = s.prep.notes
    out = []
    if eligible.value is not False:
        out.append(notes["where_to_apply"])
    if needs:
        out.append(notes["documents"])
    out.append(notes["screening"])
    return tuple(out)
