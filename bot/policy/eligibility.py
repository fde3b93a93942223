"""Who may join subsidised training, and which subsidies they may claim (第十二条, 第十五条, 第十六条).

`assess(profile, as_of)` is a pure function of the answers so far and the
day the class ends (identity is judged then, 第十二条). It never treats an
unanswered question as "no": what cannot be decided stays `None`, and the
fields that could still decide it are listed in `missing`, so the
conversation can ask exactly those, one at a time (`next_question`).

Every rule and sentence comes from `config/policy/`. The rules live in one
module per article: `identity` (第十二条), `coverage` (第十五条), `papers`
(第十六条); this module runs them in order, caches the results, and puts
the fields still missing in the order of asking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache, partial
from types import MappingProxyType
from typing import Any

from bot.policy.assessment import Assessment
from bot.policy.coverage import subsidies
from bot.policy.identity import categories
from bot.policy.papers import documents, notes
from bot.policy.params import Policy, get_policy
from bot.policy.profile import Profile
from bot.policy.screening import Screening

# How many recent (profile, as_of) results to remember per policy.
ASSESS_CACHE_SIZE = 4096


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
    s = Screening(prof, as_of, pol)
    cats = categories(s)
    results, subsidy_deps = subsidies(s, cats)
    if cats.eligible.value is not False:
        s.say("identity_at_class_end", as_of=s.as_of.isoformat())

    needs = documents(s, cats.enterprise, cats.key_group, cats.designated, results)
    closing = notes(s, cats.eligible, needs)
    missing = ask_order(pol, cats.eligible.deps | cats.provisional | subsidy_deps)
    category_ids = tuple(
        cid
        for cid, t in (
            ("enterprise_employee", cats.enterprise),
            ("key_group", cats.key_group),
            ("designated", cats.designated),
        )
        if t.value is True and cid in pol.eligibility.categories
    )
    return Assessment(
        as_of=s.as_of,
        eligible=cats.eligible.value,
        categories=category_ids,
        subsidies=MappingProxyType(results),
        missing=missing,
        reasons=tuple(s.reasons),
        document_needs=needs,
        notes=closing,
    )


def ask_order(pol: Policy, fields: Iterable[str]) -> tuple[str, ...]:
    """The fields that can still change the result, in the configured order of asking.

    The first is `Assessment.next_question`: the conversation asks exactly
    that one, so a person is never asked what cannot matter.
    """
    return tuple(sorted(fields, key=pol.question_order.__getitem__))
