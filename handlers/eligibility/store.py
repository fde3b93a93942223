"""The saved screening answers: contract fields on `ChatUser.profile`, plus the flow's bookkeeping."""

from __future__ import annotations

import copy
from typing import Any

from bot.policy.schema.questions import PROFILE_FIELDS
from handlers.base import Context

# Bookkeeping of the conversation, kept in the profile next to the answers.
META = "eligibility"
# Facts about the person that are no contract field (age, birth year, sex):
# the screening derives answers from them (the retirement question).
PERSON = "person"


class Store:
    """The profile of this chat user: answers (contract fields) plus the flow's bookkeeping.

    Deep-copied on read and reassigned on save: the JSON column only notices a new object.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.profile: dict[str, Any] = copy.deepcopy(ctx.user.profile or {})
        meta = self.profile.get(META)
        self.meta: dict[str, Any] = meta if isinstance(meta, dict) else {}
        self.asked: list[str] = list(self.meta.get("asked", []))
        self.skipped: list[str] = list(self.meta.get("skipped", []))
        self.pending: list[str] = list(self.meta.get("pending_groups", []))
        self.derived: list[str] = list(self.meta.get("derived", []))
        self.sex_asked: bool = bool(self.meta.get("sex_asked", False))
        person = self.profile.get(PERSON)
        self.person: dict[str, Any] = dict(person) if isinstance(person, dict) else {}

    @property
    def answers(self) -> dict[str, Any]:
        return {f: self.profile[f] for f in PROFILE_FIELDS if self.profile.get(f) is not None}

    @property
    def status(self) -> str | None:
        return self.meta.get("status")

    def answer(self, field: str, value: Any) -> None:
        """Record an answer; None is "不清楚" (known to be unknown)."""
        self.profile.pop(field, None)
        if field in self.skipped:
            self.skipped.remove(field)
        if value is None:
            self.skipped.append(field)
        else:
            self.profile[field] = value
        if field in self.asked:
            self.asked.remove(field)
        self.asked.append(field)
        if field in self.derived:
            self.derived.remove(field)

    def derive(self, field: str, value: Any) -> None:
        """An answer worked out from other facts (an age): not asked, so 上一步 passes it by."""
        self.profile[field] = value
        if field in self.skipped:
            self.skipped.remove(field)
        if field not in self.derived:
            self.derived.append(field)

    def forget(self, field: str) -> None:
        self.profile.pop(field, None)
        if field in self.skipped:
            self.skipped.remove(field)
        if field in self.asked:
            self.asked.remove(field)
        if field in self.derived:
            self.derived.remove(field)

    def clear(self) -> None:
        for field in PROFILE_FIELDS:
            self.profile.pop(field, None)
        self.asked, self.skipped, self.pending, self.derived = [], [], [], []
        self.sex_asked = False
        self.person = {}
        self.profile.pop(PERSON, None)
        self.meta = {}

    def save(self, status: str, **result: Any) -> None:
        meta: dict[str, Any] = {
            "status": status,
            "asked": list(self.asked),
            "skipped": list(self.skipped),
            "pending_groups": list(self.pending),
            "derived": list(self.derived),
            "sex_asked": self.sex_asked,
            "updated_on": self.ctx.today.isoformat(),
        }
        meta.update(result)
        self.meta = meta
        profile = copy.deepcopy(self.profile)
        profile[META] = meta
        if self.person:
            profile[PERSON] = dict(self.person)
        else:
            profile.pop(PERSON, None)
        self.ctx.user.profile = profile
