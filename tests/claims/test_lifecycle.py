"""Claims walk the state machine through the staff API, across 国庆 2026 and into 2027.

The expected dates are counted by hand from the State Council's 2026
arrangement: 中秋 9/25–9/27, 国庆 10/1–10/7, make-up working day Saturday
10/10. A class ending on Thursday 9/24 has until 10/15 to claim (第十六条).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import func, select

from bot.clock import FrozenClock
from models import Claim, ClaimEvent
from tests.claims.conftest import World, at


def by_trainee(world: World, claims: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(c for c in claims if c["trainee_id"] == world.trainees[key].id)


async def move(world: World, who: str, claim_id: int, to: str, **extra: Any) -> tuple[int, Any]:
    return await world.post(who, f"/api/v1/admin/claims/{claim_id}/transitions", {"to": to, **extra})


async def test_claim_walks_every_step_with_statutory_dates_across_national_day(
    world: World, clock: FrozenClock
) -> None:
    class_id = await world.add_class("C1", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang", "liu"))
    zhang_chat = await world.bind_directly("zhang-web", "zhang")

    clock.set(at(date(2026, 9, 28)))
    status, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201, body
    assert len(body["claims"]) == 2
    claim = by_trainee(world, body["claims"], "zhang")
    cid = claim["id"]
    assert claim["state"] == "submitted"
    assert claim["submission_deadline"] == "2026-10-15" and claim["late"] is False
    # Review: 10 working days after 9/28, the National Day week skipped.
    assert claim["due_on"] == "2026-10-16" and claim["due_article"] == "第十七条"
    # Review 10/16 → publicity starts by 10/21 → ends 10/27 → paid by 11/12.
    assert claim["payment_due_by"] == "2026-11-12"
    assert claim["id_card_masked"].count("*") == 8

    # The institution may not review its own claim.
    status, body = await move(world, "cc_operator", cid, "under_review")
    assert status == 403 and body["error"]["code"] == "forbidden_transition"

    clock.set(at(date(2026, 9, 30)))
    status, body = await move(world, "nanguan", cid, "under_review", note="材料齐全，开始审核")
    assert status == 200, body
    assert body["state"] == "under_review" and body["due_on"] == "2026-10-16"

    status, body = await move(world, "nanguan", cid, "paid")
    assert status == 409 and body["error"]["code"] == "illegal_transition"

    clock.set(at(date(2026, 10, 9)))
    status, body = await move(world, "nanguan", cid, "approved", amount="1200.00")
    assert status == 200, body
    # 3 working days after Friday 10/9: Saturday 10/10 is a make-up working day.
    assert body["due_on"] == "2026-10-13" and body["amount"] == "1200.00"

    clock.set(at(date(2026, 10, 12)))
    status, body = await move(world, "nanguan", cid, "in_publicity")
    assert status == 200, body
    assert body["publicity_end"] == "2026-10-16" and body["due_on"] == "2026-10-16"
    assert body["payment_due_by"] == "2026-11-03"

    clock.set(at(date(2026, 10, 15)))
    status, body = await move(world, "nanguan", cid, "payment_pending")
    assert status == 409 and body["error"]["code"] == "publicity_not_over"

    clock.set(
        at(
            date(
                2026,
                10,
                16,
            ),
            17,
        )
    )
    status, body = await move(world, "nanguan", cid, "payment_pending")
    assert status == 200, body
    assert body["due_on"] == "2026-11-03" and body["overdue"] is False

    clock.set(at(date(2026, 11, 2)))
    status, body = await move(world, "nanguan", cid, "paid")
    assert status == 200, body
    assert body["state"] == "paid" and body["paid_on"] == "2026-11-02" and body["due_on"] is None
    assert body["allowed_transitions"] == []
    steps = [(e["from"], e["to"], e["on"]) for e in body["events"]]
    assert steps == [
        (None, "submitted", "2026-09-28"),
        ("submitted", "under_review", "2026-09-30"),
        ("under_review", "approved", "2026-10-09"),
        ("approved", "in_publicity", "2026-10-12"),
        ("in_publicity", "payment_pending", "2026-10-16"),
        ("payment_pending", "paid", "2026-11-02"),
    ]
    actors = {e["actor"] for e in body["events"]}
    assert actors == {f"staff:{world.staff_ids['cc_operator']}", f"staff:{world.staff_ids['nanguan']}"}
    assert body["events"][1]["note"] == "材料齐全，开始审核"

    # The bound trainee heard of every step, once; the unbound one could not be told.
    updates = await world.outbox("claim_update")
    assert [u.chat_user_id for u in updates] == [zhang_chat] * 6
    assert all(u.template and u.template["template"] == "claim_update" for u in updates)
    assert "11月3日" in updates[3].text  # publicity started: paid by 11/3 at the latest
    assert "1200.00元" in updates[-1].text


async def test_objection_is_investigated_then_paid_or_rejected(world: World, clock: FrozenClock) -> None:
    class_id = await world.add_class("C2", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang", "liu"))
    clock.set(at(date(2026, 9, 28)))
    status, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201
    ids = [c["id"] for c in body["claims"]]
    for day, to, extra in (
        (date(2026, 9, 29), "under_review", {}),
        (date(2026, 10, 9), "approved", {"amount": 936}),
        (date(2026, 10, 12), "in_publicity", {}),
    ):
        clock.set(at(day))
        status, body = await world.post(
            "changchun", "/api/v1/admin/claims/transitions", {"claim_ids": ids, "to": to, **extra}
        )
        assert status == 200, body

    clock.set(at(date(2026, 10, 14)))
    status, body = await move(world, "changchun", ids[0], "objection")
    assert status == 400 and body["error"]["code"] == "reason_required"
    for cid in ids:
        status, body = await move(world, "changchun", cid, "objection", reason="有人反映未实际参训")
        assert status == 200, body
        assert body["state"] == "objection" and body["due_on"] is None and body["payment_due_by"] is None

    # Groundless for the first: payment counts from the end of the investigation (10/20),
    # which is after the end of publicity (10/16): 12 working days → 11/5.
    clock.set(at(date(2026, 10, 20)))
    status, body = await move(world, "changchun", ids[0], "payment_pending", note="经核实异议不成立")
    assert status == 200, body
    assert body["payment_from"] == "2026-10-20" and body["due_on"] == "2026-11-05"
    # Founded for the second: rejected with the reason.
    status, body = await move(world, "changchun", ids[1], "rejected", reason="经调查未实际参加培训")
    assert status == 200, body
    assert body["state"] == "rejected" and body["reason"] == "经调查未实际参加培训"
    status, body = await move(world, "changchun", ids[1], "payment_pending")
    assert status == 409 and body["error"]["code"] == "illegal_transition"


async def test_objection_only_during_publicity(world: World, clock: FrozenClock) -> None:
    class_id = await world.add_class("C2b", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    clock.set(at(date(2026, 9, 28)))
    _, body = await world.post(
        "changchun",
        f"/api/v1/admin/classes/{class_id}/claims",
        {"subsidy_type": "living", "amounts": {str(world.trainees["zhang"].id): "450"}},
    )
    cid = body["claims"][0]["id"]
    for day, to in (
        (date(2026, 9, 29), "under_review"),
        (date(2026, 10, 9), "approved"),
        (date(2026, 10, 12), "in_publicity"),
    ):
        clock.set(at(day))
        assert (await move(world, "changchun", cid, to))[0] == 200
    clock.set(at(date(2026, 10, 19)))
    status, body = await move(world, "changchun", cid, "objection", reason="迟到的异议")
    assert status == 409 and body["error"]["code"] == "publicity_over"


async def test_returned_claim_is_resubmitted_by_the_institution_and_review_restarts(
    world: World, clock: FrozenClock
) -> None:
    class_id = await world.add_class("C3", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    clock.set(at(date(2026, 9, 28)))
    status, body = await world.post(
        "cc_operator",
        "/api/v1/admin/claims",
        {
            "claims": [
                {"trainee_id": world.trainees["zhang"].id, "class_id": class_id, "subsidy_type": "training"}
            ]
        },
    )
    assert status == 201, body
    cid = body["claims"][0]["id"]

    clock.set(at(date(2026, 10, 12)))
    status, body = await move(world, "nanguan", cid, "returned")
    assert status == 400 and body["error"]["code"] == "reason_required"
    status, body = await move(world, "nanguan", cid, "returned", reason="缺少培训合格证书复印件")
    assert status == 200 and body["state"] == "returned" and body["due_on"] is None
    assert body["reason"] == "缺少培训合格证书复印件"

    clock.set(at(date(2026, 10, 19)))
    status, body = await move(world, "cc_operator", cid, "submitted", note="已补交证书复印件")
    assert status == 200, body
    # The review clock restarts at the resubmission: 10 working days after 10/19.
    assert body["submitted_on"] == "2026-10-19" and body["due_on"] == "2026-11-02"
    assert body["reason"] is None


async def test_batches_are_all_or_nothing_with_a_report(world: World, clock: FrozenClock) -> None:
    class_id = await world.add_class("C4", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang", "liu"))
    clock.set(at(date(2026, 9, 28)))
    ids = [world.trainees[k].id for k in ("zhang", "liu", "jin")]
    status, body = await world.post(
        "changchun",
        f"/api/v1/admin/classes/{class_id}/claims",
        {"subsidy_type": "training", "trainee_ids": ids},
    )
    assert status == 409 and body["error"]["code"] == "batch_failed"
    results = body["error"]["results"]
    assert [r["ok"] for r in results] == [True, True, False]
    assert results[2]["error"]["code"] == "not_enrolled"
    async with world.services.db.session() as db:
        assert (await db.execute(select(func.count(Claim.id)))).scalar_one() == 0

    status, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201
    ids = [c["id"] for c in body["claims"]]
    status, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 409 and {r["error"]["code"] for r in body["error"]["results"]} == {"claim_exists"}

    # Move one ahead; then a class-wide approval cannot apply to both, so applies to neither.
    assert (await move(world, "changchun", ids[0], "under_review"))[0] == 200
    status, body = await world.post(
        "changchun",
        "/api/v1/admin/claims/transitions",
        {"class_id": class_id, "to": "approved", "amount": "800"},
    )
    assert status == 409 and body["error"]["code"] == "batch_failed"
    assert [r["ok"] for r in body["error"]["results"]] == [True, False]
    async with world.services.db.session() as db:
        states = sorted((await db.execute(select(Claim.state))).scalars())
        events = (await db.execute(select(func.count(ClaimEvent.id)))).scalar_one()
    assert states == ["submitted", "under_review"] and events == 3


async def test_submission_rules(world: World, clock: FrozenClock) -> None:
    running = await world.add_class(
        "C5", date(2026, 9, 1), date(2026, 10, 30), trainees=("zhang",), status="running"
    )
    ended = await world.add_class("C6", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    clock.set(at(date(2026, 10, 19)))
    status, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{running}/claims", {"subsidy_type": "training"}
    )
    assert status == 409 and body["error"]["results"][0]["error"]["code"] == "class_not_finished"
    # Late (after 10/15) is accepted but reported as late.
    status, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{ended}/claims", {"subsidy_type": "training"}
    )
    assert status == 201 and body["claims"][0]["late"] is True
    for bad in ("12.345", -5, "abc", True):
        status, body = await world.post(
            "cc_operator",
            f"/api/v1/admin/classes/{ended}/claims",
            {"subsidy_type": "evaluation", "amounts": {str(world.trainees["zhang"].id): bad}},
        )
        assert status == 400 and body["error"]["code"] == "invalid_field", bad
    status, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{ended}/claims", {"subsidy_type": "bonus"}
    )
    assert status == 400


async def test_scope_keeps_other_regions_and_institutions_out(world: World, clock: FrozenClock) -> None:
    class_id = await world.add_class("C7", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    clock.set(at(date(2026, 9, 28)))
    status, body = await world.post(
        "yb_operator", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 404
    _, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    cid = body["claims"][0]["id"]
    for who in ("yb_operator", "yanbian"):
        status, _ = await world.get(who, f"/api/v1/admin/claims/{cid}")
        assert status == 404
        status, body = await world.get(who, "/api/v1/admin/claims")
        assert status == 200 and body["claims"] == []
        status, _ = await move(world, who, cid, "under_review")
        assert status == 404
    for who in ("cc_operator", "changchun", "nanguan", "admin"):
        status, body = await world.get(who, "/api/v1/admin/claims")
        assert [c["id"] for c in body["claims"]] == [cid], who
    assert (await world.client.get("/api/v1/admin/claims")).status == 401


async def test_december_class_deadlines_fall_in_an_unpublished_january(
    world: World, clock: FrozenClock
) -> None:
    class_id = await world.add_class("C8", date(2026, 12, 1), date(2026, 12, 28), trainees=("zhang",))
    clock.set(at(date(2026, 12, 29)))
    status, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201
    claim = body["claims"][0]
    # 2027's holidays are not published: weekends only, and the dates say so.
    assert claim["submission_deadline"] == "2027-01-11" and claim["submission_deadline_certain"] is False
    assert claim["due_on"] == "2027-01-12" and claim["calendar_certain"] is False
    assert claim["payment_due_certain"] is False


async def test_overdue_steps_come_first_on_the_board(world: World, clock: FrozenClock) -> None:
    old = await world.add_class("C9", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    new = await world.add_class("C10", date(2026, 10, 1), date(2026, 10, 23), trainees=("liu",))
    clock.set(at(date(2026, 10, 26)))
    _, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{new}/claims", {"subsidy_type": "training"}
    )
    fresh = body["claims"][0]["id"]
    clock.set(at(date(2026, 9, 28)))
    _, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{old}/claims", {"subsidy_type": "training"}
    )
    late = body["claims"][0]["id"]
    clock.set(at(date(2026, 10, 27)))
    _, body = await world.get("changchun", "/api/v1/admin/claims")
    assert [c["id"] for c in body["claims"]] == [late, fresh]
    assert body["claims"][0]["overdue"] is True and body["claims"][1]["overdue"] is False
    _, body = await world.get("changchun", "/api/v1/admin/claims?overdue=true")
    assert [c["id"] for c in body["claims"]] == [late]
    status, _ = await world.get("changchun", "/api/v1/admin/claims?state=nonsense")
    assert status == 400


async def test_publicity_list_csv_masks_id_numbers(world: World, clock: FrozenClock) -> None:
    class_id = await world.add_class("C11", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang", "liu"))
    clock.set(at(date(2026, 9, 28)))
    _, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    zhang = by_trainee(world, body["claims"], "zhang")["id"]
    clock.set(at(date(2026, 10, 9)))
    await move(world, "changchun", zhang, "under_review")
    await move(world, "changchun", zhang, "approved", amount="1200")
    resp = await world.client.get(
        f"/api/v1/admin/claims/publicity.csv?class_id={class_id}", headers=world.headers("changchun")
    )
    assert resp.status == 200 and resp.content_type == "text/csv"
    raw = await resp.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["序号", "单位名称", "姓名", "公民身份证号码"]
    assert len(rows) == 2  # liu's claim is not approved yet
    person = world.trainees["zhang"]
    assert rows[1][2] == person.name and person.id_card not in raw.decode("utf-8-sig")
    assert rows[1][3] == person.id_card[:6] + "********" + person.id_card[-4:]
    assert rows[1][6] == "1200.00" and rows[1][7] == "12333"
    assert rows[0][-1] == "补贴标准" and len(rows[1]) == len(rows[0])
