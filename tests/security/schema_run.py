"""The one schemathesis setup both fuzz runs share (SQLite in tests/staff, PostgreSQL here).

Issue 12 asks for more than "no 500": a request the document calls valid must be
accepted (a 4xx only where the document says the server may refuse valid data for
a reason the schema cannot express: 404 for an unknown id, 409 for a state
conflict), every status and content type must be documented, and every body must
match its documented schema. One place keeps the two runs identical.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from bot.api.openapi import build_document
from tests.conftest import ADMIN_TOKEN, DEFAULT_NOW

# A valid request may still be refused for what no schema can know: the id does
# not exist (404), the record is in another state (409), or the caller is not
# who a webhook signature says (403). 400, 413, 415 and 422 mean "malformed",
# which a schema-valid request is not.
ACCEPTED_FOR_VALID_DATA = ["2xx", "403", "404", "409"]

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_DATA}},
        # The document's preamble: no NUL in any text (PostgreSQL cannot store it), a 400 otherwise.
        "generation": {"allow-x00": False},
    }
)
schema = schemathesis.openapi.from_dict(build_document(), config=CONFIG)
# Workbook uploads are bytes like any other: sent, so their refusal is checked too.
schemathesis.serializer.alias(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream"
)

CHECKS = [
    not_a_server_error,
    positive_data_acceptance,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# As many examples per operation as the no-500 runs had: the checks cost no requests.
fuzz_settings = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


TODAY = DEFAULT_NOW.date().isoformat()  # the served app's frozen clock


def _body(case: Any) -> dict[str, Any]:
    return case.body if isinstance(case.body, dict) else {}


def _after_today(*fields: str) -> Callable[[Any], bool]:
    def applies(case: Any) -> bool:
        return any(isinstance(_body(case).get(f), str) and _body(case)[f] > TODAY for f in fields)

    return applies


def _attended_over_planned(case: Any) -> bool:
    body = _body(case)
    return body.get("attended_hours", 0) > body.get("planned_hours", 0)


def _amount_not_known(case: Any) -> bool:
    """Publicity and payment need an amount: given now, or stored on the claim earlier."""
    body = _body(case)
    return body.get("to") in {"in_publicity", "paid"} and body.get("amount") is None


def _send_at_out_of_range(case: Any) -> bool:
    raw = _body(case).get("send_at")
    if not isinstance(raw, str):
        return False
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return True  # RFC 3339 spellings Python does not read are refused as a format error
    if when.tzinfo is None:
        when = when.replace(tzinfo=DEFAULT_NOW.tzinfo)
    return not DEFAULT_NOW - timedelta(minutes=5) <= when <= DEFAULT_NOW + timedelta(days=90)


def _integer_beyond_2_53(case: Any) -> bool:
    """The document's preamble: integers in a body lie within ±2^53 (JSON's safe range)."""
    stack = [case.body]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**53:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _own_staff_code(case: Any) -> bool:
    """The bootstrap ADMIN_TOKEN is no staff account: a staff code for it must name staff_id."""
    return _body(case).get("kind") == "staff" and _body(case).get("staff_id") is None


def _not_json(case: Any) -> bool:
    return case.media_type != "application/json"


# Refusals of schema-valid data that depend on two fields at once, on today's
# date or on what the database holds, which JSON Schema cannot state; each is
# written in the document (the preamble or the operation's description). A
# request a rule covers may get exactly that status and error code instead of an
# answer: (the operation's label or "*", when the rule applies, status, code).
RULES_BEYOND_THE_SCHEMA: list[tuple[str, Callable[[Any], bool], int, str]] = [
    ("*", _integer_beyond_2_53, 400, "invalid_json"),
    ("POST /api/v1/subsidy/share", _attended_over_planned, 400, "invalid_field"),
    ("POST /api/v1/admin/claims", _after_today("on"), 400, "date_in_future"),
    ("POST /api/v1/admin/classes/{id}/claims", _after_today("on"), 400, "date_in_future"),
    ("POST /api/v1/admin/claims/{id}/transitions", _after_today("on"), 400, "date_in_future"),
    ("POST /api/v1/admin/claims/transitions", _after_today("on"), 400, "date_in_future"),
    ("POST /api/v1/admin/claims/{id}/transitions", _amount_not_known, 400, "amount_required"),
    ("POST /api/v1/admin/claims/transitions", _amount_not_known, 400, "amount_required"),
    ("POST /api/v1/admin/rectifications", _after_today("received_on"), 400, "date_in_future"),
    ("POST /api/v1/admin/broadcasts", _send_at_out_of_range, 400, "invalid_send_at"),
    ("POST /api/v1/admin/broadcasts", lambda case: True, 400, "empty_audience"),  # nobody matches
    ("POST /api/v1/admin/bind-codes", _own_staff_code, 400, "no_staff_account"),
    # Rows name classes and institutions by code and carry GB 11643 check digits: the
    # import answers a per-row report; a workbook's or CSV's bytes are no JSON Schema's.
    ("POST /api/v1/admin/imports", lambda case: True, 422, "invalid_rows"),
    ("POST /api/v1/admin/imports/{kind}", lambda case: True, 422, "invalid_rows"),
    ("POST /api/v1/admin/imports", _not_json, 400, "unreadable_file"),
    ("POST /api/v1/admin/imports/{kind}", _not_json, 400, "unreadable_file"),
    ("POST /api/v1/admin/rectifications/{id}/complete", _after_today("on"), 400, "date_in_future"),
]


def _error_codes(response: Any) -> set[str]:
    """The error code, and those of a batch's refused items."""
    try:
        body = response.json()
    except ValueError:
        return set()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    codes = {error.get("code")}
    for item in error.get("results") or []:
        codes.add((item.get("error") or {}).get("code"))
    return codes


def _refused_by_a_rule(case: Any, response: Any) -> bool:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return False
    return any(
        label in ("*", case.operation.label)
        and applies(case)
        and response.status_code == status
        and code in _error_codes(response)
        for label, applies, status, code in RULES_BEYOND_THE_SCHEMA
    )


def call_and_check(case: Any, base_url: str) -> None:
    """Send one generated request as the province administrator and apply every check."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = case.call(base_url=base_url, headers=headers, timeout=30)
    if _refused_by_a_rule(case, response):
        return
    case.validate_response(response, checks=CHECKS, headers=headers)
