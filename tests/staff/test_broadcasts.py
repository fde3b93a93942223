"""Broadcast notices through the staff API: audience, preview, send, schedule, cancel, results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.broadcasts.job import run_due
from bot.clock import FrozenClock
from models import AuditEntry, Broadcast, OutboxMessage
from tests.staff.world import World

API = "/api/v1/admin/broadcasts"


def notice(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "停课通知", "text": "明天因暴雪停课一天，课程顺延。"}
    body.update(extra)
    return body


async def rows_of(services: Any, broadcast_id: int) -> list[OutboxMessage]:
    async with services.db.session() as db:
        return list(
            (
                await db.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.broadcast_id == broadcast_id)
                    .order_by(OutboxMessage.chat_user_id)
                )
            ).scalars()
        )


async def test_preview_counts_by_channel_within_each_role_scope(client: TestClient, world: World) -> None:
    expected = {"province": 9, "changchun": 7, "nanguan_county": 5, "op_nanguan": 5, "jilin_city": 2}
    for role, count in expected.items():
        resp = await client.post(f"{API}/preview", json={}, headers=world.headers(role))
        assert resp.status == 200, (role, await resp.text())
        assert (await resp.json())["recipients"] == count, role

    resp = await client.post(
        f"{API}/preview",
        json={"audience": {"class_id": world.classes["nanguan"]}},
        headers=world.headers("changchun"),
    )
    body = await resp.json()
    assert body["recipients"] == 5 and body["unreachable"] == 1 and body["reachable"] == 4
    assert body["by_channel"]["wechat"] == {
        "recipients": 2,
        "reachable": 2,
        "unreachable": 0,
        "outside_window": 1,  # 刘洋 wrote 100 hours ago
    }
    assert body["by_channel"]["telegram"] == {
        "recipients": 3,
        "reachable": 2,
        "unreachable": 1,
        "outside_window": 0,
    }
    assert "web" not in body["by_channel"]  # a web user cannot be reached later


async def test_filters_narrow_the_audience(client: TestClient, world: World, admin_headers: Any) -> None:
    async def count(payload: dict[str, Any]) -> int:
        resp = await client.post(f"{API}/preview", json=payload, headers=admin_headers)
        assert resp.status == 200, await resp.text()
        return int((await resp.json())["recipients"])

    assert await count({"audience": {"group": "rural_migrant"}}) == 4  # 张伟×2, 周敏, 吴刚
    assert await count({"audience": {"group": "rural_migrant", "channel": "wechat"}}) == 2
    assert await count({"audience": {"region": "220200"}}) == 2
    assert await count({"audience": {"region": "220102"}}) == 5  # lives there or class there
    assert await count({"audience": {"institution_id": world.institutions["chaoyang"]}}) == 2
    assert await count({"audience": {"claim_state": "returned"}}) == 1
    assert await count({"audience": {"claim_state": "paid"}}) == 0
    assert await count({"target": "institutions", "audience": {}}) == 3
    assert await count({"target": "institutions", "audience": {"region": "220100"}}) == 2
    assert await count({"target": "institutions", "audience": {"class_id": world.classes["chuanying"]}}) == 1


async def test_bad_audience_is_a_clear_400(client: TestClient, world: World, admin_headers: Any) -> None:
    for payload, code in [
        ({"target": "everyone"}, "invalid_target"),
        ({"audience": []}, "invalid_audience"),
        ({"audience": {"colour": "red"}}, "invalid_audience"),
        ({"audience": {"region": "110000"}}, "invalid_audience"),
        ({"audience": {"group": "astronauts"}}, "invalid_audience"),
        ({"audience": {"channel": "console"}}, "invalid_audience"),
        ({"audience": {"channel": "web"}}, "invalid_audience"),
        ({"audience": {"class_id": "abc"}}, "invalid_audience"),
        ({"target": "institutions", "audience": {"group": "veteran"}}, "invalid_audience"),
    ]:
        resp = await client.post(f"{API}/preview", json=payload, headers=admin_headers)
        assert resp.status == 400, payload
        error = (await resp.json())["error"]
        assert error["code"] == code and error["message"], payload


async def test_audience_naming_an_unknown_class_or_institution_is_a_404(
    client: TestClient, world: World, admin_headers: Any
) -> None:
    """Unknown ids are 404s here as everywhere in the staff API (the OpenAPI document says so)."""
    for payload, code in [
        ({"audience": {"class_id": 99999}}, "unknown_class"),
        ({"audience": {"institution_id": 99999}}, "unknown_institution"),
    ]:
        for url, body in ((f"{API}/preview", payload), (API, notice(**payload))):
            resp = await client.post(url, json=body, headers=admin_headers)
            assert resp.status == 404, (url, payload)
            assert (await resp.json())["error"]["code"] == code


async def test_city_staff_sends_to_one_class_and_sees_every_delivery(
    client: TestClient, world: World, services: Any
) -> None:
    resp = await client.post(
        API,
        json=notice(link="https://hrss.jl.gov.cn/notice/1", audience={"class_id": world.classes["nanguan"]}),
        headers=world.headers("changchun"),
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["status"] == "sending" and body["recipients"] == 5
    assert body["progress"]["results"]["queued"] == 4
    assert body["progress"]["results"]["unreachable"] == 1

    rows = await rows_of(services, body["id"])
    assert {r.idempotency_key for r in rows} == {f"broadcast:{body['id']}:{r.chat_user_id}" for r in rows}
    assert len(rows) == 5 and all(r.kind == "broadcast" for r in rows)
    assert "【停课通知】" in rows[0].text and "https://hrss.jl.gov.cn/notice/1" in rows[0].text
    assert rows[0].template is not None and rows[0].template["fields"]["title"] == "停课通知"

    resp = await client.get(f"{API}/{body['id']}/deliveries", headers=world.headers("changchun"))
    listing = await resp.json()
    assert listing["total"] == 5
    assert {d["recipient"] for d in listing["deliveries"]} == {"张伟", "刘洋", "陈静", "杨帆"}
    assert [d["result"] for d in listing["deliveries"]].count("unreachable") == 1

    async with services.db.session() as db:
        actions = set((await db.execute(select(AuditEntry.action))).scalars())
    assert {"broadcast_create", "broadcast_fan_out"} <= actions


async def test_send_now_to_nobody_is_refused(client: TestClient, world: World, admin_headers: Any) -> None:
    resp = await client.post(API, json=notice(audience={"claim_state": "paid"}), headers=admin_headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "empty_audience"


async def test_invalid_notices_are_400(client: TestClient, world: World, admin_headers: Any) -> None:
    for payload, code in [
        ({"text": "内容"}, "invalid_title"),
        ({"title": "  ", "text": "内容"}, "invalid_title"),
        ({"title": "标题"}, "invalid_text"),
        ({"title": "标题", "text": "字" * 5000}, "invalid_text"),
        (notice(link="javascript:alert(1)"), "invalid_link"),
        (notice(link="https://a b"), "invalid_link"),
        (notice(send_at="tomorrow"), "invalid_send_at"),
        (notice(send_at="2020-01-01T10:00:00+08:00"), "invalid_send_at"),
        (notice(send_at="2030-01-01T10:00:00+08:00"), "invalid_send_at"),
        (notice(wechat_fallback="sms"), "invalid_wechat_fallback"),
    ]:
        resp = await client.post(API, json=payload, headers=admin_headers)
        assert resp.status == 400, payload
        assert (await resp.json())["error"]["code"] == code, payload
    resp = await client.post(API, data=b"{nope", headers=admin_headers)
    assert resp.status == 400


async def test_scheduled_broadcast_fans_out_once_when_due(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    at = (clock.now() + timedelta(hours=2)).isoformat()
    resp = await client.post(
        API,
        json=notice(send_at=at, audience={"class_id": world.classes["chaoyang"]}),
        headers=world.headers("op_chaoyang"),
    )
    assert resp.status == 201
    bid = (await resp.json())["id"]
    assert (await resp.json())["status"] == "scheduled"

    await run_due(services)
    assert await rows_of(services, bid) == []

    clock.advance(timedelta(hours=2, seconds=1))
    first = await run_due(services)
    again = await run_due(services)
    assert first["fanned_out"] == 1 and again["fanned_out"] == 0
    rows = await rows_of(services, bid)
    assert len(rows) == 2 and all(r.status == "pending" for r in rows)


async def test_fan_out_twice_adds_nothing(client: TestClient, world: World, services: Any) -> None:
    """A fan-out repeated after a crash (status back to scheduled) finds every key taken."""
    resp = await client.post(API, json=notice(), headers=world.headers("jilin_city"))
    bid = (await resp.json())["id"]
    async with services.db.session() as db:
        await db.execute(update(Broadcast).where(Broadcast.id == bid).values(status="scheduled"))
    await run_due(services)
    async with services.db.session() as db:
        count = (await db.execute(select(func.count()).where(OutboxMessage.broadcast_id == bid))).scalar_one()
        broadcast = await db.get(Broadcast, bid)
    assert count == 2 and broadcast is not None and broadcast.recipients == 2


async def test_cancel_stops_what_is_still_queued_and_nothing_more(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    headers = world.headers("changchun")
    resp = await client.post(
        API, json=notice(audience={"class_id": world.classes["nanguan"]}), headers=headers
    )
    bid = (await resp.json())["id"]
    rows = await rows_of(services, bid)
    pending = [r.id for r in rows if r.status == "pending"]
    # The dispatcher has sent one and holds another.
    async with services.db.session() as db:
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == pending[0])
            .values(status="sent", delivery="message", sent_at=clock.now())
        )
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == pending[1]).values(status="sending"))

    resp = await client.post(f"{API}/{bid}/cancel", headers=headers)
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "cancelled"
    assert body["progress"]["results"]["cancelled"] == 2
    assert body["progress"]["results"]["sent"] == 1
    assert body["progress"]["results"]["queued"] == 1  # the one in flight finishes on its own

    # A failed attempt puts the in-flight row back to pending: the job stops it there.
    async with services.db.session() as db:
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == pending[1]).values(status="pending"))
    await run_due(services)
    statuses = {r.id: r.status for r in await rows_of(services, bid)}
    assert statuses[pending[0]] == "sent" and statuses[pending[1]] == "cancelled"

    resp = await client.post(f"{API}/{bid}/cancel", headers=headers)
    assert resp.status == 200  # cancelling twice is harmless

    resp = await client.post(
        API, json=notice(send_at=(clock.now() + timedelta(days=1)).isoformat()), headers=headers
    )
    scheduled = (await resp.json())["id"]
    resp = await client.post(f"{API}/{scheduled}/cancel", headers=headers)
    assert (await resp.json())["status"] == "cancelled"
    clock.advance(timedelta(days=2))
    await run_due(services)
    assert await rows_of(services, scheduled) == []


async def test_results_per_channel_and_done(
    client: TestClient, world: World, services: Any, clock: FrozenClock, admin_headers: Any
) -> None:
    resp = await client.post(API, json=notice(), headers=admin_headers)
    bid = (await resp.json())["id"]
    rows = await rows_of(services, bid)
    by_user = {r.chat_user_id: r.id for r in rows}
    cu = world.chat_users
    outcomes = {
        cu["张伟-wechat"]: {"status": "sent", "delivery": "message"},
        cu["刘洋-wechat"]: {"status": "sent", "delivery": "template"},
        cu["周敏-wechat"]: {"status": "skipped", "delivery": "outside_window"},
        cu["张伟-telegram"]: {"status": "sent", "delivery": "message"},
        cu["黄丽-telegram"]: {"status": "failed", "delivery": "unreachable", "last_error": "403 blocked"},
        cu["吴刚-telegram"]: {"status": "dead", "last_error": "timeout\ntrace"},
        cu["杨帆-telegram"]: {"status": "sent", "delivery": "message"},
        cu["徐芳-wechat"]: {"status": "sent", "delivery": "message"},
    }
    async with services.db.session() as db:
        for user_id, values in outcomes.items():
            await db.execute(
                update(OutboxMessage).where(OutboxMessage.id == by_user[user_id]).values(**values)
            )

    resp = await client.get(f"{API}/{bid}", headers=admin_headers)
    progress = (await resp.json())["progress"]
    assert progress["status"] == "done"
    assert progress["results"] == {
        "queued": 0,
        "sent": 4,
        "sent_template": 1,
        "outside_window": 1,
        "unreachable": 2,
        "failed": 1,
        "cancelled": 0,
    }
    assert progress["by_channel"]["wechat"]["outside_window"] == 1
    assert progress["by_channel"]["telegram"]["unreachable"] == 2

    resp = await client.get(f"{API}/{bid}/deliveries?result=failed", headers=admin_headers)
    failed = await resp.json()
    assert failed["total"] == 1 and failed["deliveries"][0]["error"] == "timeout"
    resp = await client.get(f"{API}/{bid}/deliveries?result=unreachable", headers=admin_headers)
    assert (await resp.json())["total"] == 2

    await run_due(services)
    async with services.db.session() as db:
        broadcast = await db.get(Broadcast, bid)
    assert broadcast is not None and broadcast.status == "done" and broadcast.finished_at is not None
    resp = await client.post(f"{API}/{bid}/cancel", headers=admin_headers)
    assert resp.status == 409


async def test_bad_query_parameters_are_400(client: TestClient, world: World, admin_headers: Any) -> None:
    for query in ("?limit=0", "?limit=x", "?offset=-1", "?status=lost"):
        resp = await client.get(f"{API}{query}", headers=admin_headers)
        assert resp.status == 400, query
    resp = await client.get(f"{API}/12345", headers=admin_headers)
    assert resp.status == 404


async def test_notice_to_institutions_reaches_their_contacts(
    client: TestClient, world: World, services: Any
) -> None:
    resp = await client.post(
        API,
        json=notice(title="材料报送提醒", target="institutions", audience={"region": "220100"}),
        headers=world.headers("changchun"),
    )
    assert resp.status == 201
    rows = await rows_of(services, (await resp.json())["id"])
    assert {r.chat_user_id for r in rows} == {
        world.chat_users["inst-nanguan"],
        world.chat_users["inst-chaoyang"],
    }
    resp = await client.post(
        f"{API}/preview", json={"target": "institutions"}, headers=world.headers("op_nanguan")
    )
    assert (await resp.json())["recipients"] == 1  # an operator reaches only their own institution


async def test_the_broadcast_job_is_scheduled(services: Any) -> None:
    from bot.app import JOB_MODULES
    from bot.scheduler import Scheduler

    assert "bot.broadcasts.job" in JOB_MODULES
    assert "broadcasts" in Scheduler(services, ("bot.broadcasts.job",)).job_ids()
