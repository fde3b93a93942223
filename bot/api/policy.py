"""The policy endpoints of the public contract: eligibility, subsidy share, deadlines.

Bodies are validated strictly (a string where a number belongs, a number
where a bool belongs, an unknown group id or field: 400) because other
systems integrate here and a lenient guess would hide their bugs. Every
error is the contract's `{"error": {"code", "message"}}`, raised as ApiError.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError

from bot.clock import Clock
from bot.errors import ApiError
from bot.http import read_json
from bot.policy import get_calendar, get_policy
from bot.policy.deadlines import UnknownEvent, compute_deadline
from bot.policy.eligibility import assess
from bot.policy.profile import MAX_GRADUATION_YEAR, MIN_GRADUATION_YEAR, ProfileError
from bot.policy.share import ShareInputError, subsidy_share

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(value: object) -> date:
    """Only `YYYY-MM-DD` strings: no timestamps, no numbers, no other spellings."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def _number(value: object) -> Decimal:
    """A JSON number as an exact Decimal; booleans and strings are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("expected a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return Decimal(repr(value))
    return Decimal(value)


IsoDate = Annotated[date, BeforeValidator(parse_iso_date)]
Number = Annotated[Decimal, BeforeValidator(_number)]
StrictBool = Annotated[bool, Strict()]


class ProfileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employment: Annotated[str, Strict()] | None = None
    groups: list[Annotated[str, Strict()]] | None = None
    graduation_year: (
        Annotated[int, Strict(), Field(ge=MIN_GRADUATION_YEAR, le=MAX_GRADUATION_YEAR)] | None
    ) = None
    employed_since_graduation: StrictBool | None = None
    household: Annotated[str, Strict()] | None = None
    reached_retirement_age: StrictBool | None = None
    receives_pension: StrictBool | None = None
    ability_assessed: StrictBool | None = None
    first_evaluation_this_year: StrictBool | None = None


class AssessBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: ProfileBody = Field(default_factory=ProfileBody)
    as_of: IsoDate | None = None


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attended_hours: Number
    planned_hours: Number
    certificate: StrictBool


def _invalid(exc: ValidationError) -> ApiError:
    """The first problem, naming the field, in the contract's error shape."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    if err["type"] == "missing":
        return ApiError(400, "missing_field", f"缺少字段 {where}", field=where)
    if err["type"] == "extra_forbidden":
        return ApiError(400, "unknown_field", f"不认识的字段 {where}", field=where)
    return ApiError(400, "invalid_field", f"字段 {where} 无效：{err['msg']}", field=where)


def _today(request: web.Request) -> date:
    services = request.app.get("services")
    clock: Clock = services.clock if services is not None else Clock()
    return clock.today()


@routes.post("/api/v1/eligibility/assess")
async def eligibility_assess(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        parsed = AssessBody.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    profile = parsed.profile.model_dump(exclude_none=True)
    try:
        result = assess(profile, parsed.as_of or _today(request))
    except ProfileError as exc:
        where = f"profile.{exc.field}"
        raise ApiError(400, "invalid_field", f"字段 {where} 无效：{exc}", field=where) from exc
    return web.json_response(result.to_dict())


@routes.post("/api/v1/subsidy/share")
async def share(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        parsed = ShareBody.model_validate(body)
        result = subsidy_share(parsed.attended_hours, parsed.planned_hours, parsed.certificate)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except ShareInputError as exc:
        raise ApiError(400, "invalid_field", f"字段 {exc.field} 无效：{exc}", field=exc.field) from exc
    return web.json_response(result.to_dict())


@routes.get("/api/v1/deadlines/{event}")
async def deadline(request: web.Request) -> web.Response:
    event = request.match_info["event"]
    if event not in get_policy().deadlines:
        known = ", ".join(get_policy().deadlines)
        raise ApiError(404, "unknown_event", f"没有这个事项：{event}（可选：{known}）")
    raw = request.query.get("from")
    if raw is None or raw == "":
        raise ApiError(400, "missing_parameter", "缺少参数 from（格式 YYYY-MM-DD）", field="from")
    try:
        from_date = parse_iso_date(raw)
    except ValueError as exc:
        raise ApiError(
            400, "invalid_date", f"参数 from 不是合法日期（格式 YYYY-MM-DD）：{raw}", field="from"
        ) from exc
    try:
        result = compute_deadline(event, from_date)
    except UnknownEvent as exc:  # config changed under us; same answer as above
        raise ApiError(404, "unknown_event", f"没有这个事项：{event}") from exc
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, "date_out_of_range", f"日期超出可计算的范围：{raw}", field="from") from exc
    return web.json_response(result.to_dict())


def setup(app: web.Application) -> None:
    """Load the rules at start (a broken config stops the service) and warn about missing holiday years."""

    async def check_policy(app: web.Application) -> None:
        get_policy()
        services = app.get("services")
        today = services.clock.today() if services is not None else Clock().today()
        get_calendar().warn_missing(today, log)

    app.on_startup.append(check_policy)


__all__ = ["routes", "setup"]
