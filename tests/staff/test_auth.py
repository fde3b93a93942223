"""Roles and scopes: each role gets 403 outside its scope, through the staff API."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.auth import Principal, region_level, region_prefix
from bot.staff.accounts import AccountError, create_account, revoke_account, rotate_token
from models import AuditEntry, StaffAccount
from tests.staff.world import World

BROADCASTS = "/api/v1/admin/broadcasts"


async def test_tokens_missing_wrong_or_revoked_are_401(
    client: TestClient, world: World, services: Any
) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        resp = await client.get("/api/v1/admin/me", headers=headers)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"
    resp = await client.get("/api/v1/admin/me", headers=world.headers("op_nanguan"))
    assert (await resp.json())["role"] == "institution_operator"

    async with services.db.session() as db:
        await revoke_account(db, world.staff_ids["op_nanguan"], actor="test")
    resp = await client.get("/api/v1/admin/me", headers=world.headers("op_nanguan"))
    assert resp.status == 401


async def test_only_hashes_of_tokens_are_stored(world: World, services: Any) -> None:
    async with services.db.session() as db:
        hashes = list((await db.execute(select(StaffAccount.token_hash))).scalars())
    assert hashes and all(len(h) == 64 for h in hashes)
    assert not set(world.tokens.values()) & set(hashes)


# role -> requests that fall outside its scope
OUTSIDE: dict[str, list[tuple[str, str, dict[str, Any] | None]]] = {
    "changchun": [
        ("POST", f"{BROADCASTS}/preview", {"audience": {"class_id": "chuanying"}}),
        ("POST", f"{BROADCASTS}/preview", {"audience": {"region": "220200"}}),
        ("POST", f"{BROADCASTS}/preview", {"audience": {"region": "220000"}}),
        ("GET", "/api/v1/admin/trainees?class_id=chuanying", None),
    ],
    "jilin_city": [
        ("POST", f"{BROADCASTS}/preview", {"audience": {"class_id": "nanguan"}}),
        ("POST", BROADCASTS, {"title": "t", "text": "x", "audience": {"institution_id": "nanguan"}}),
        ("GET", "/api/v1/admin/trainees?class_id=nanguan", None),
    ],
    "nanguan_county": [
        ("POST", f"{BROADCASTS}/preview", {"audience": {"class_id": "chaoyang"}}),
        ("POST", f"{BROADCASTS}/preview", {"audience": {"region": "220100"}}),
        ("POST", f"{BROADCASTS}/preview", {"audience": {"institution_id": "chaoyang"}}),
        ("GET", "/api/v1/admin/trainees?class_id=chaoyang", None),
    ],
    "op_nanguan": [
        ("POST", f"{BROADCASTS}/preview", {"audience": {"class_id": "chaoyang"}}),
        ("POST", f"{BROADCASTS}/preview", {"audience": {"institution_id": "chaoyang"}}),
        ("POST", f"{BROADCASTS}/preview", {"audience": {"region": "220200"}}),
        ("GET", "/api/v1/admin/trainees?class_id=chaoyang", None),
    ],
}


def _with_ids(world: World, path: str) -> str:
    for code, class_id in world.classes.items():
        path = path.replace(f"class_id={code}", f"class_id={class_id}")
    return path


@pytest.mark.parametrize("role", sorted(OUTSIDE))
async def test_each_role_gets_403_outside_its_scope(client: TestClient, world: World, role: str) -> None:
    for method, path, template in OUTSIDE[role]:
        body = copy.deepcopy(template)
        if body is not None:
            audience = body.get("audience", {})
            if "class_id" in audience:
                audience["class_id"] = world.classes[audience["class_id"]]
            if "institution_id" in audience:
                audience["institution_id"] = world.institutions[audience["institution_id"]]
        path = _with_ids(world, path)
        resp = await client.request(method, path, json=body, headers=world.headers(role))
        assert resp.status == 403, (role, method, path, body, await resp.text())
        assert (await resp.json())["error"]["code"] == "forbidden"


async def test_broadcasts_are_visible_only_within_scope(client: TestClient, world: World) -> None:
    body = {
        "title": "机构通知",
        "text": "请核对花名册。",
        "audience": {"class_id": world.classes["chaoyang"]},
    }
    resp = await client.post(BROADCASTS, json=body, headers=world.headers("op_chaoyang"))
    assert resp.status == 201
    bid = (await resp.json())["id"]
    for role, status in [
        ("op_chaoyang", 200),
        ("changchun", 200),  # the city above the institution sees it
        ("province", 200),
        ("op_nanguan", 403),
        ("nanguan_county", 403),
        ("jilin_city", 403),
    ]:
        for suffix in ("", "/deliveries"):
            resp = await client.get(f"{BROADCASTS}/{bid}{suffix}", headers=world.headers(role))
            assert resp.status == status, (role, suffix)
        listed = await (await client.get(BROADCASTS, headers=world.headers(role))).json()
        assert (bid in [b["id"] for b in listed["broadcasts"]]) == (status == 200), role
    resp = await client.post(f"{BROADCASTS}/{bid}/cancel", headers=world.headers("op_nanguan"))
    assert resp.status == 403


async def test_operator_cannot_see_another_institutions_trainees(client: TestClient, world: World) -> None:
    resp = await client.get("/api/v1/admin/trainees", headers=world.headers("op_nanguan"))
    names = {t["name"] for t in (await resp.json())["trainees"]}
    assert names == {"张伟", "刘洋", "陈静", "杨帆"}
    resp = await client.post(f"{BROADCASTS}/preview", json={}, headers=world.headers("op_chaoyang"))
    assert (await resp.json())["recipients"] == 2  # 黄丽 and 周敏 only
    body = await (await client.get("/api/v1/admin/trainees", headers=world.headers("op_chaoyang"))).json()
    assert {t["name"] for t in body["trainees"]} == {"黄丽", "周敏"}
    assert all("*" in t["id_card_masked"] for t in body["trainees"])


async def test_region_staff_see_residents_and_class_members(client: TestClient, world: World) -> None:
    body = await (await client.get("/api/v1/admin/trainees", headers=world.headers("nanguan_county"))).json()
    # 张伟 and 陈静 live in 南关区; 刘洋 and 杨帆 live elsewhere but attend a 南关区 class.
    assert {t["name"] for t in body["trainees"]} == {"张伟", "刘洋", "陈静", "杨帆"}
    body = await (await client.get("/api/v1/admin/trainees", headers=world.headers("jilin_city"))).json()
    assert {t["name"] for t in body["trainees"]} == {"吴刚", "徐芳"}


async def test_account_rules(services: Any, world: World) -> None:
    async with services.db.session() as db:
        for kwargs, message in [
            ({"role": "city_staff", "region_code": "220102"}, "city-level"),
            ({"role": "county_staff", "region_code": "220100"}, "county-level"),
            ({"role": "city_staff", "region_code": "110100"}, "not a region code of Jilin"),
            ({"role": "institution_operator", "region_code": None}, "needs --institution"),
            ({"role": "janitor", "region_code": "220100"}, "role must be"),
        ]:
            with pytest.raises(AccountError, match=message):
                await create_account(db, name="x", institution_ref=None, actor="test", **kwargs)
        with pytest.raises(AccountError, match="no institution"):
            await create_account(
                db, name="x", role="institution_operator", region_code=None, institution_ref="NOPE", actor="t"
            )
        issued = await rotate_token(db, world.staff_ids["changchun"], actor="test")
        assert issued.token != world.tokens["changchun"]
        actions = set((await db.execute(select(AuditEntry.action))).scalars())
    assert {"staff_create", "staff_rotate_token"} <= actions


def test_region_codes() -> None:
    assert region_prefix("220000") == "22" and region_prefix("220100") == "2201"
    assert region_level("220102") == "county" and region_level("222400") == "city"
    assert region_level("2201") is None and region_level("110000") is None
    county = Principal(role="county_staff", region_code="220102")
    city = Principal(role="city_staff", region_code="220100")
    assert city.covers_scope(county.scope()) and not county.covers_scope(city.scope())
    assert county.covers(region_code="220102", institution_id=None)
    assert not county.covers(region_code="220104", institution_id=None)
