"""Body and query fields of the claims-side staff API (claims, publicity, bind codes,
rectifications), each refusal worded from `claims.api.*` and naming the field."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web
from sqlalchemy import Select

from bot.claims.states import parse_amount
from bot.errors import ApiError
from bot.services import Services
from models import Claim, TrainingClass

ID = r"{id:\d{1,9}}"
MAX_TEXT = 2000
DIGITS = re.compile(r"^[0-9]{1,10}$")


def err(services: Services, status: int, code: str, **fmt: Any) -> ApiError:
    return ApiError(status, code, services.texts.get(f"claims.api.{code}", **fmt))


def invalid(services: Services, field: str, detail: str) -> ApiError:
    return err(services, 400, "invalid_field", field=field, detail=detail)


def int_field(services: Services, value: Any, field: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise invalid(services, field, "应为正整数")
    return value


def date_field(services: Services, value: Any, field: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(services, field, "应为 YYYY-MM-DD 格式的日期")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(services, field, "应为 YYYY-MM-DD 格式的日期") from None


def text_field(services: Services, value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise invalid(services, field, f"应为不超过{MAX_TEXT}字的文字")
    return value.strip() or None


def amount_field(services: Services, value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError:
        raise invalid(services, field, "应为不小于0、最多两位小数的金额") from None


def query_int(services: Services, request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not DIGITS.match(raw) or not 1 <= int(raw) <= 2**31 - 1:
        raise invalid(services, name, "应为正整数")
    return int(raw)


def query_choice(services: Services, request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise invalid(services, name, "可选值：" + "、".join(allowed))
    return raw


def of_class(services: Services, request: web.Request, query: Select[Any]) -> Select[Any]:
    """The `class_id` and `institution_id` filters of both claim lists (the query joins the class)."""
    class_id = query_int(services, request, "class_id")
    institution_id = query_int(services, request, "institution_id")
    if class_id is not None:
        query = query.where(Claim.class_id == class_id)
    if institution_id is not None:
        query = query.where(TrainingClass.institution_id == institution_id)
    return query
