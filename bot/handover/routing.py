"""Which office answers a request: the trainee's region, else the one they named, else ask.

A bound trainee's registered region (or an institution contact's institution)
is the surest; a place the user wrote in the conversation comes next. When
neither is known the bot asks once ("您在哪个市县？"); an answer it cannot
read sends the request to the province queue, where city staff can take it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import places
from models import ChatUser, Institution, Message, Trainee


class RegionNames:
    """Finds the office's region in a text, by the places of bot.places (二道江区 over 二道区).

    The province itself (吉林, 吉林省) and areas that are not divisions (长白山)
    name no office: such a request stays in the province queue.
    """

    def find(self, text: str) -> str | None:
        """The most specific code named in `text` (a county over its city), or None."""
        codes = [
            hit.code for hit in places.find_places(text) if hit.code and hit.code != places.PROVINCE_CODE
        ]
        if not codes:
            return None
        # "长春市南关区" names both: the county is the office that answers.
        counties = [c for c in codes if not c.endswith("00")]
        return (counties or codes)[0]


async def bound_region(db: AsyncSession, user: ChatUser) -> str | None:
    """The region of the record this account is bound to (a trainee, an institution contact)."""
    if user.trainee_id is not None:
        region = (
            await db.execute(select(Trainee.region_code).where(Trainee.id == user.trainee_id))
        ).scalar_one_or_none()
        if region:
            return str(region)
    if user.institution_id is not None:
        region = (
            await db.execute(select(Institution.region_code).where(Institution.id == user.institution_id))
        ).scalar_one_or_none()
        if region:
            return str(region)
    return None


async def named_region(
    db: AsyncSession, names: RegionNames, user: ChatUser, text: str, lookback: int
) -> str | None:
    """A place the user wrote: in this message first, then in their recent messages."""
    found = names.find(text)
    if found or lookback <= 0:
        return found
    rows = (
        await db.execute(
            select(Message.text)
            .where(Message.chat_user_id == user.id, Message.direction == "in")
            .order_by(Message.id.desc())
            .limit(lookback)
        )
    ).scalars()
    for previous in rows:
        found = names.find(previous)
        if found:
            return found
    return None
