"""The console's reminder plan page: alerts before the wave and drops after it, per class, in scope."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from models import ClassSession, OutboxMessage, ReminderPlan
from tests.staff.console_client import sign_in
from tests.staff.world import World


async def test_staff_see_the_plans_alert_and_the_dropped_reminders_of_their_own_classes(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    today = clock.now().date()
    nanguan, chuanying = world.classes["nanguan"], world.classes["chuanying"]
    async with services.db.session() as db:
        db.add(
            ReminderPlan(
                day=today,
                channel="wechat",
                reminders=120,
                moved=30,
                capacity_per_minute=960,
                templates_needed=120,
                templates_left=100,
                alerts=[
                    {
                        "kind": "template_quota",
                        "needed": 120,
                        "available": 100,
                        "classes": [
                            {"id": chuanying, "name": "船营养老护理员培训班", "reminders": 15},
                            {"id": nanguan, "name": "南关电工培训班", "reminders": 5},
                        ],
                    }
                ],
                planned_at=clock.now(),
            )
        )
        session = (
            (await db.execute(select(ClassSession).where(ClassSession.class_id == nanguan))).scalars().first()
        )
        assert session is not None
        for n, user in enumerate(("张伟-telegram",)):
            db.add(
                OutboxMessage(
                    idempotency_key=f"reminder:{session.id}:{world.chat_users[user]}",
                    chat_user_id=world.chat_users[user],
                    kind="reminder",
                    text="签到提醒",
                    due_at=session.starts_at,
                    deadline_at=session.starts_at,
                    status="skipped",
                    delivery="too_late",
                    attempts=n,
                )
            )
    await sign_in(client, world.tokens["nanguan_county"])
    page = await (await client.get("/console/outbox/reminders")).text()
    assert 'id="plan-alert"' in page and "微信模板消息额度不够：需 120 条，剩余 100 条" in page
    assert "南关电工培训班（5）" in page
    assert "船营养老护理员培训班" not in page  # another county's class is not shown
    day = session.starts_at.astimezone(services.clock.tz).date().isoformat()
    assert f'data-day="{day}"' in page and '<td>南关电工培训班</td><td class="num">1</td>' in page
