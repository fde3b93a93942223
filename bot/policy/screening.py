"""One screening in progress, and what every screening of a policy shares (derived once).

The rule modules (`identity` 第十二条, `coverage` 第十五条, `papers` 第十六条)
read the profile through a `Screening` and append their cited sentences to
it in the order they decide things; `eligibility.assess` drives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from string import Formatter
from typing import Any

from bot.policy.assessment import DocumentNeed, Reason
from bot.policy.params import Policy
from bot.policy.profile import Profile
from bot.policy.tri import FALSE, TRUE, Tri, unknown


@dataclass(frozen=True, slots=True)
class Prepared:
    """What `assess` derives from a policy once: ready-made sentences and document lists."""

    static_reasons: dict[str, Reason]
    claim_needs: dict[str, tuple[tuple[DocumentNeed, frozenset[str]], ...]]
    conditions: dict[str, tuple[str, ...]]
    notes: dict[str, Reason]


def prepared(pol: Policy) -> Prepared:
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
    prepared = Prepared(static, claim_needs, conditions, notes)
    pol.memo["eligibility"] = prepared
    return prepared


class Screening:
    """One evaluation: the three-valued rule results and the reasons collected on the way."""

    __slots__ = ("as_of", "groups", "pol", "prep", "prof", "reasons")

    def __init__(self, prof: Profile, as_of: date, pol: Policy) -> None:
        self.prof = prof
        self.as_of = as_of
        self.pol = pol
        self.prep = prepared(pol)
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
