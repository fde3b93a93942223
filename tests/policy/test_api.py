"""The three policy endpoints of the contract, including their 4xx answers to bad input."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

ASSESS = "/api/v1/eligibility/assess"
SHARE = "/api/v1/subsidy/share"


async def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]
    return body["error"]


# --- eligibility -----------------------------------------------------------


async def test_assess_returns_the_contract_body(policy_client: TestClient) -> None:
    profile = {
        "employment": "unemployed",
        "groups": ["two_after"],
        "household": "rural",
        "reached_retirement_age": False,
    }
    resp = await policy_client.post(ASSESS, json={"profile": profile, "as_of": "2025-06-30"})
    assert resp.status == 200
    body = await resp.json()
    assert {"eligible", "categories", "subsidies", "missing", "reasons", "documents"} <= set(body)
    assert body["eligible"] is True and body["categories"] == ["key_group"]
    assert body["subsidies"]["living"] == {
        "eligible": True,
        "conditions": body["subsidies"]["living"]["conditions"],
        "article": "第十五条",
    }
    assert body["subsidies"]["evaluation"]["eligible"] is True
    assert body["missing"] == ["first_evaluation_this_year"]
    assert all(r["article"].startswith("第") and r["text"] for r in body["reasons"])
    assert any("初、高中毕业证书" in d for d in body["documents"])


async def test_assess_without_answers_is_undecided_not_false(policy_client: TestClient) -> None:
    resp = await policy_client.post(ASSESS, json={"profile": {}})
    body = await resp.json()
    assert resp.status == 200 and body["eligible"] is None and body["next_question"] == "employment"
    resp = await policy_client.post(ASSESS, json={})
    assert (await resp.json())["eligible"] is None


async def test_assess_retired_and_not_assessed_says_how_to_get_assessed(policy_client: TestClient) -> None:
    profile = {
        "groups": ["veteran"],
        "reached_retirement_age": True,
        "receives_pension": False,
        "ability_assessed": False,
    }
    body = await (await policy_client.post(ASSESS, json={"profile": profile, "as_of": "2025-06-30"})).json()
    assert body["eligible"] is False
    assert any("就业能力评估" in r["text"] and "备案" in r["text"] for r in body["reasons"])
    profile.pop("ability_assessed")
    body = await (await policy_client.post(ASSESS, json={"profile": profile, "as_of": "2025-06-30"})).json()
    assert body["eligible"] is None and "ability_assessed" in body["missing"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"profile": {"groups": ["martian"]}}, "invalid_field"),
        ({"profile": {"groups": "veteran"}}, "invalid_field"),
        ({"profile": {"employment": "boss"}}, "invalid_field"),
        ({"profile": {"household": 1}}, "invalid_field"),
        ({"profile": {"graduation_year": "2024"}}, "invalid_field"),
        ({"profile": {"graduation_year": 2024.5}}, "invalid_field"),
        ({"profile": {"graduation_year": True}}, "invalid_field"),
        ({"profile": {"receives_pension": "false"}}, "invalid_field"),
        ({"profile": {"ability_assessed": 0}}, "invalid_field"),
        ({"profile": {"nickname": "小王"}}, "unknown_field"),
        ({"profile": ["veteran"]}, "invalid_field"),
        ({"profile": {}, "as_of": "2025/06/30"}, "invalid_field"),
        ({"profile": {}, "as_of": "2025-02-30"}, "invalid_field"),
        ({"profile": {}, "as_of": 20250630}, "invalid_field"),
        ({"profile": {}, "extra": 1}, "unknown_field"),
    ],
)
async def test_assess_bad_input_is_400(policy_client: TestClient, payload: Any, code: str) -> None:
    error = await _error(await policy_client.post(ASSESS, json=payload), 400)
    assert error["code"] == code


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", "中文".encode()])
async def test_assess_malformed_body_is_400(policy_client: TestClient, raw: bytes) -> None:
    resp = await policy_client.post(ASSESS, data=raw, headers={"Content-Type": "application/json"})
    assert (await _error(resp, 400))["code"] == "invalid_json"


# --- subsidy share ----------------------------------------------------------


@pytest.mark.parametrize(
    ("attended", "planned", "certificate", "rate", "exam", "share"),
    [
        (69.99, 100, True, 0.6999, False, 0.0),
        (70, 100, True, 0.7, True, 0.7),
        (89.99, 100, True, 0.8999, True, 0.8999),
        (90, 100, True, 0.9, True, 1.0),
        (63, 90, True, 0.7, True, 0.7),
        (72.0, 80.0, True, 0.9, True, 1.0),
        (95, 100, False, 0.95, True, 0.0),
    ],
)
async def test_share(
    policy_client: TestClient,
    attended: Any,
    planned: Any,
    certificate: bool,
    rate: float,
    exam: bool,
    share: float,
) -> None:
    payload = {"attended_hours": attended, "planned_hours": planned, "certificate": certificate}
    resp = await policy_client.post(SHARE, json=payload)
    assert resp.status == 200
    body = await resp.json()
    assert body["attendance_rate"] == pytest.approx(rate, abs=1e-12)
    assert body["exam_allowed"] is exam
    assert body["share"] == pytest.approx(share, abs=1e-12)
    assert body["article"] == "第十五条"


@pytest.mark.parametrize(
    "payload",
    [
        {"attended_hours": 10, "planned_hours": 0, "certificate": True},
        {"attended_hours": 10, "planned_hours": -8, "certificate": True},
        {"attended_hours": -1, "planned_hours": 8, "certificate": True},
        {"attended_hours": 9, "planned_hours": 8, "certificate": True},
        {"attended_hours": "7", "planned_hours": 8, "certificate": True},
        {"attended_hours": True, "planned_hours": 8, "certificate": True},
        {"attended_hours": None, "planned_hours": 8, "certificate": True},
        {"attended_hours": 7, "planned_hours": [8], "certificate": True},
        {"attended_hours": 7, "planned_hours": 8, "certificate": "true"},
        {"attended_hours": 7, "planned_hours": 8, "certificate": 1},
        {"attended_hours": 7, "planned_hours": 8},
        {"planned_hours": 8, "certificate": True},
    ],
)
async def test_share_bad_input_is_400(policy_client: TestClient, payload: dict[str, Any]) -> None:
    await _error(await policy_client.post(SHARE, json=payload), 400)


async def test_share_nan_is_400(policy_client: TestClient) -> None:
    raw = b'{"attended_hours": NaN, "planned_hours": 8, "certificate": true}'
    resp = await policy_client.post(SHARE, data=raw, headers={"Content-Type": "application/json"})
    await _error(resp, 400)


# --- deadlines ----------------------------------------------------------------


async def test_deadline_across_spring_festival(policy_client: TestClient) -> None:
    resp = await policy_client.get("/api/v1/deadlines/claim_submission", params={"from": "2026-02-10"})
    assert resp.status == 200
    body = await resp.json()
    assert body == {
        "event": "claim_submission",
        "from": "2026-02-10",
        "deadline": "2026-03-02",
        "working_days": 10,
        "article": "第十六条",
        "calendar_certain": True,
        "name": body["name"],
    }


async def test_deadline_into_an_unknown_year_is_uncertain(policy_client: TestClient) -> None:
    body = await (await policy_client.get("/api/v1/deadlines/claim_submission?from=2026-12-25")).json()
    assert body["deadline"] == "2027-01-08" and body["calendar_certain"] is False


async def test_rectification_is_one_calendar_month(policy_client: TestClient) -> None:
    body = await (await policy_client.get("/api/v1/deadlines/rectification?from=2025-01-31")).json()
    assert (
        body["deadline"] == "2025-02-28" and body["working_days"] is None and body["article"] == "第二十七条"
    )


async def test_unknown_event_is_404(policy_client: TestClient) -> None:
    error = await _error(await policy_client.get("/api/v1/deadlines/tax_return?from=2026-01-05"), 404)
    assert error["code"] == "unknown_event"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "missing_parameter"),
        ("?from=", "missing_parameter"),
        ("?from=2026-02-30", "invalid_date"),
        ("?from=2026-2-3", "invalid_date"),
        ("?from=yesterday", "invalid_date"),
        ("?from=2026-02-03T10:00:00", "invalid_date"),
        ("?from=0001-01-01", "date_out_of_range"),
    ],
)
async def test_deadline_bad_from_is_400(policy_client: TestClient, query: str, code: str) -> None:
    path = "/api/v1/deadlines/class_application" + query
    assert (await _error(await policy_client.get(path), 400))["code"] == code


async def test_last_day_of_the_calendar_is_400(policy_client: TestClient) -> None:
    resp = await policy_client.get("/api/v1/deadlines/payment?from=9999-12-31")
    assert (await _error(resp, 400))["code"] == "date_out_of_range"


# --- through the full application -------------------------------------------


async def test_full_app_serves_the_policy_endpoints(client: TestClient) -> None:
    resp = await client.post(ASSESS, json={"profile": {"employment": "employed"}})
    assert resp.status == 200 and (await resp.json())["eligible"] is True
    resp = await client.get("/api/v1/deadlines/publicity_end?from=2026-02-15")
    assert (await resp.json())["deadline"] == "2026-02-28"
    resp = await client.post(SHARE, json={"attended_hours": "x", "planned_hours": 8, "certificate": True})
    assert resp.status == 400
