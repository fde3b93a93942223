"""The console over HTTP (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.staff.accounts import revoke_account
from models import AttendanceRecord, AuditEntry, Claim, ClassSession, OutboxMessage
from tests.staff.console_client import NONCE, sign_in
from tests.staff.world import World


async def test_pages_need_a_signed_in_staff_member(client: TestClient, world: World) -> None:
    resp = await client.get("/console/claims", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/login?next=")

    page = await (await client.get("/console/login")).text()
    nonce = NONCE.search(page)
    assert nonce
    resp = await client.post("/console/login", data={"token": "wrong", "nonce": nonce.group(1)})
    assert resp.status == 401 and "令牌不对" in await resp.text()
    # Without the pre-session nonce (a form posted from another site) nothing happens.
    resp = await client.post("/console/login", data={"token": world.tokens["changchun"], "nonce": "x"})
    assert resp.status == 400


async def test_sign_in_shows_the_role_and_signing_out_ends_it(
    client: TestClient, world: World, services: Any
) -> None:
    csrf = await sign_in(client, world.tokens["changchun"])
    home = await (await client.get("/console/")).text()
    assert "市级工作人员" in home and "补贴审核" in home
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/console/"))
    assert world.tokens["changchun"] not in str(cookie)  # only a signed hash is kept

    resp = await client.post("/console/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    resp = await client.get("/console/", allow_redirects=False)
    assert resp.status == 303

    async with services.db.session() as db:
        actions = list((await db.execute(select(AuditEntry.action))).scalars())
    assert "console_login" in actions and "console_logout" in actions


async def test_revoking_the_token_ends_the_session(client: TestClient, world: World, services: Any) -> None:
    await sign_in(client, world.tokens["op_nanguan"])
    async with services.db.session() as db:
        await revoke_account(db, world.staff_ids["op_nanguan"], actor="test")
    resp = await client.get("/console/", allow_redirects=False)
    assert resp.status == 303


async def test_posts_without_the_csrf_token_are_refused(client: TestClient, world: World) -> None:
    await sign_in(client, world.tokens["changchun"])
    resp = await client.post(
        "/console/broadcasts", data={"title": "t", "text": "x", "class_id": str(world.classes["nanguan"])}
    )
    assert resp.status == 403 and "页面已过期" in await resp.text()
    resp = await client.post("/console/broadcasts/preview", json={})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf"


async def test_send_from_the_form_and_follow_progress(
    client: TestClient, world: World, services: Any
) -> None:
    csrf = await sign_in(client, world.tokens["changchun"])
    form = await (await client.get("/console/broadcasts/new")).text()
    assert "长春市南关职业培训学校" in form and "吉林市船营职业培训中心" not in form

    resp = await client.post(
        "/console/broadcasts/preview",
        json={"target": "trainees", "class_id": str(world.classes["nanguan"]), "wechat_fallback": "skip"},
        headers={"X-CSRF-Token": csrf},
    )
    body = await resp.json()
    assert resp.status == 200 and body["recipients"] == 5
    assert body["summary"][0] == "预计发送 5 人"
    assert "超过 48 小时" in body["summary"][1] and "将跳过" in body["summary"][1]

    resp = await client.post(
        "/console/broadcasts",
        data={
            "_csrf": csrf,
            "title": "停课通知",
            "text": "明天停课。",
            "target": "trainees",
            "class_id": str(world.classes["nanguan"]),
            "wechat_fallback": "template",
            "when": "now",
        },
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    detail_url = resp.headers["Location"]
    page = await (await client.get(detail_url)).text()
    assert "发送中" in page and "南关电工培训班" in page
    assert page.count('<tr data-result="unreachable">') == 1
    assert page.count('<tr data-result="queued">') == 4

    resp = await client.post(
        "/console/broadcasts",
        data={"_csrf": csrf, "title": "", "text": "x", "when": "now"},
    )
    assert resp.status == 400 and "请填写通知标题" in await resp.text()

    resp = await client.post(f"{detail_url}/cancel", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    fragment = await (await client.get(f"{detail_url}/progress")).text()
    assert 'data-final="1"' in fragment and "已取消" in fragment


async def test_operator_sees_only_own_institution(client: TestClient, world: World, services: Any) -> None:
    async with services.db.session() as db:
        session = (
            await db.execute(select(ClassSession).where(ClassSession.class_id == world.classes["nanguan"]))
        ).scalar_one()
        db.add(
            AttendanceRecord(
                session_id=session.id,
                trainee_id=world.trainees["张伟"],
                source="institution",
                status="present",
            )
        )
    await sign_in(client, world.tokens["op_nanguan"])
    page = await (await client.get("/console/classes")).text()
    assert "长春市南关" in page and "长春市朝阳" not in page
    resp = await client.get(f"/console/classes/{world.classes['chaoyang']}")
    assert resp.status == 403 and "管辖范围" in await resp.text()
    resp = await client.get(f"/console/classes/{world.classes['nanguan']}")
    roster = await resp.text()
    assert resp.status == 200 and "张伟" in roster and "黄丽" not in roster
    row = roster[roster.index(f'data-trainee="{world.trainees["张伟"]}"') :]
    assert "3.0 / 30.0" in row[:400] and "10%" in row[:400]  # one 3-hour session of 30 planned hours
    resp = await client.get("/console/classes/99999")
    assert resp.status == 404


async def test_claims_board_puts_overdue_first(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    today = clock.today()
    async with services.db.session() as db:
        db.add_all(
            [
                Claim(
                    trainee_id=world.trainees["张伟"],
                    class_id=world.classes["nanguan"],
                    subsidy_type="training",
                    state="under_review",
                    submitted_on=today,
                    state_since=today,
                    due_on=today + timedelta(days=9),
                ),
                Claim(
                    trainee_id=world.trainees["陈静"],
                    class_id=world.classes["nanguan"],
                    subsidy_type="living",
                    state="submitted",
                    submitted_on=today - timedelta(days=20),
                    state_since=today - timedelta(days=20),
                    due_on=today - timedelta(days=6),
                ),
                Claim(
                    trainee_id=world.trainees["吴刚"],
                    class_id=world.classes["chuanying"],
                    subsidy_type="training",
                    state="submitted",
                    submitted_on=today,
                    state_since=today,
                    due_on=today - timedelta(days=30),
                ),
            ]
        )
    await sign_in(client, world.tokens["changchun"])
    page = await (await client.get("/console/claims")).text()
    assert "在办 3 件，其中 2 件已超过法定期限" in page
    assert page.index("陈静") < page.index("刘洋") < page.index("张伟")
    assert "超期 6 天" in page and "吴刚" not in page  # another city's claim


async def test_dead_letters_can_be_requeued_within_scope(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    async with services.db.session() as db:
        for key, user in (("d1", "张伟-telegram"), ("d2", "吴刚-telegram")):
            db.add(
                OutboxMessage(
                    idempotency_key=key,
                    chat_user_id=world.chat_users[user],
                    kind="reminder",
                    text="签到提醒",
                    due_at=clock.now(),
                    status="dead",
                    attempts=8,
                    last_error="timeout",
                )
            )
    csrf = await sign_in(client, world.tokens["nanguan_county"])
    page = await (await client.get("/console/outbox/dead")).text()
    assert "张伟" in page and "吴刚" not in page
    async with services.db.session() as db:
        ids = {m.idempotency_key: m.id for m in (await db.execute(select(OutboxMessage))).scalars()}
    resp = await client.post("/console/outbox/requeue", data={"_csrf": csrf, "ids": str(ids["d2"])})
    assert resp.status == 403
    resp = await client.post(
        "/console/outbox/requeue", data={"_csrf": csrf, "ids": str(ids["d1"])}, allow_redirects=False
    )
    assert resp.status == 303 and "requeued=1" in resp.headers["Location"]
    async with services.db.session() as db:
        row = await db.get(OutboxMessage, ids["d1"])
    assert row is not None and row.status == "pending" and row.attempts == 0
