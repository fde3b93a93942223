"""`config/policy/deadlines.yaml`: the periods counted from each event of a class and its claims."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from bot.policy.schema.cited import Cited, Strict

DEADLINE_RULES = ("working_days_after", "working_days_before", "working_days_including", "calendar_months")


class DeadlineParam(Cited):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    from_: str = Field(alias="from")
    rule: Literal["working_days_after", "working_days_before", "working_days_including", "calendar_months"]
    count: int = Field(gt=0, le=366)


class DeadlinesFile(Strict):
    law: dict[str, Any]
    events: dict[str, DeadlineParam] = Field(min_length=1)
