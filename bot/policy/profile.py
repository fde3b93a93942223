"""A screening profile: the answers given so far, checked for their kind before any rule sees them.

`None` is "not answered yet", never "no" (the engine's rules rely on it).
Values of the wrong kind raise `ProfileError` naming the field, so the API
answers 400 and the conversation re-asks just that question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy.params import Policy, get_policy
from bot.policy.schema.questions import PROFILE_FIELDS

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
