"""The turn's bookkeeping in SQLAlchemy Core, on one connection, in one transaction.

Every turn pays for finding and locking its chat user, the redelivery check,
the conversation state and the transcript. Through the ORM's unit of work that
was most of a greeting's CPU (issue 17); here each is one prebuilt statement
(SQLAlchemy caches their compiled form) and the ORM session exists only when a
handler asks for `ctx.db`. The user row is handed to handlers as a detached
`ChatUser`, attached to that session when one is made, so a handler's changes
are flushed by the ORM as before; without a session, the engine writes the
changed columns itself.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class

from bot.turn_sql import Statements
from models import ChatUser, ConversationState, Handover, HandoverReply, Message
from models.handover import OPEN_STATES

_M = TypeVar("_M")
USERS = ChatUser.__table__
STATES = ConversationState.__table__
MESSAGES = Message.__table__
USER_COLUMNS = tuple(c.key for c in USERS.columns)
STATE_COLUMNS = tuple(c.key for c in STATES.columns)
# Kept as copies: a handler may change them in place, and the engine compares.
MUTABLE_USER_COLUMNS = ("profile",)

# The turn's first statement marks the message's arrival and locks the user's row
# until the commit: on PostgreSQL the per-user lock across processes (an UPDATE waits
# for another turn of the same user, as FOR UPDATE would, and returns the row as that
# turn left it); on SQLite it takes the write lock (BEGIN IMMEDIATE) before anything
# of the turn is read. One statement for what was a locking read and a later UPDATE.
TOUCH_USER = (
    update(USERS)
    .where(USERS.c.channel == bindparam("b_channel"), USERS.c.external_id == bindparam("b_external_id"))
    .values(last_inbound_at=bindparam("b_now"))
    .returning(*USERS.columns)
)
_NEW_USER = {"channel": bindparam("channel"), "external_id": bindparam("external_id")}
INSERT_USER = {
    dialect: make(USERS)
    .values(**_NEW_USER, created_at=bindparam("created_at"))
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    for dialect, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
# Every column bound by name (no Python-side default left to fill), so that these run
# on the inline SQLite driver (bot.turn_sql) as well as through SQLAlchemy.
INSERT_STATE = insert(STATES).values({c.key: bindparam(c.key) for c in STATES.columns})
UPDATE_STATE = (
    update(STATES)
    .where(STATES.c.chat_user_id == bindparam("b_user_id"))
    .values(
        flow=bindparam("flow"),
        step=bindparam("step"),
        data=bindparam("data"),
        last_choices=bindparam("last_choices"),
        updated_at=bindparam("updated_at"),
    )
)
SELECT_PREVIOUS = select(MESSAGES.c.id, MESSAGES.c.intent).where(
    MESSAGES.c.chat_user_id == bindparam("user_id"), MESSAGES.c.platform_msg_id == bindparam("msg_id")
)
SELECT_REPLIES = (
    select(MESSAGES.c.text, MESSAGES.c.choices)
    .where(MESSAGES.c.in_reply_to_id == bindparam("inbound_id"))
    .order_by(MESSAGES.c.id)
)
_MESSAGE_VALUES = {c.key: bindparam(c.key) for c in MESSAGES.columns if c.key != "id"}
INSERT_INBOUND = insert(MESSAGES).values(_MESSAGE_VALUES).returning(MESSAGES.c.id)
INSERT_OUTBOUND = insert(MESSAGES).values(_MESSAGE_VALUES)
# Whether the hand-over code has anything to do this turn: an open request, or
# staff messages a web user has not seen (one cheap read instead of two ORM queries).
_OPEN_HANDOVER = (
    select(Handover.id)
    .where(
        Handover.chat_user_id == bindparam("user_id"),
        Handover.state.in_([literal(state) for state in OPEN_STATES]),
    )
    .exists()
)
_PENDING_REPLY = (
    select(HandoverReply.id)
    .where(HandoverReply.chat_user_id == bindparam("user_id"), HandoverReply.web_pending.is_(True))
    .exists()
)
# The state and the hand-over flags in one read: a one-row anchor left-joined to the
# state, so the flags come back also before the user has a state row. A separate
# statement after the lock: on PostgreSQL a state joined to the locking read would come
# from the snapshot taken before the lock was granted (stale across processes).
_ANCHOR = select(literal(1).label("one")).subquery("anchor")
SELECT_STATE = select(
    *STATES.columns, _OPEN_HANDOVER.label("open_handover"), _PENDING_REPLY.label("staff_waiting")
).select_from(_ANCHOR.outerjoin(STATES, STATES.c.chat_user_id == bindparam("user_id")))
# The user's UPDATE for each set of changed columns, built once (a turn changes
# last_inbound_at, now and then a column or two more).
_UPDATE_USER: dict[tuple[str, ...], Any] = {}


def _update_user(keys: tuple[str, ...]) -> Any:
    statement = _UPDATE_USER.get(keys)
    if statement is None:
        statement = (
            update(USERS).where(USERS.c.id == bindparam("b_id")).values({k: bindparam(k) for k in keys})
        )
        _UPDATE_USER[keys] = statement
    return statement


def _loaded(cls: type[_M], values: dict[str, Any]) -> _M:
    """An ORM instance holding `values` as a query would load them: set directly, without the
    attribute events a constructor fires per column (a tenth of a greeting's CPU, issue 17).
    Changes made to it afterwards are tracked as usual."""
    manager = manager_of_class(cls)
    if not manager.mapper.configured:  # a constructor would have configured the mappers
        configure_mappers()
    instance: _M = manager.new_instance()
    instance.__dict__.update(values)
    return instance


class TurnStore:
    """One turn's rows: read under the user's lock, written back in the same transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.sql = Statements(conn)
        self.dialect = conn.dialect.name
        self._session: AsyncSession | None = None
        self._user: ChatUser | None = None
        self._user_seen: dict[str, Any] = {}
        self.state_exists = False
        self._flags = (False, False)

    # -- the ORM, only when asked ------------------------------------------------
    @property
    def session(self) -> AsyncSession:
        """The ORM session on the turn's connection, made on first use, with the user in it."""
        if self._session is None:
            self._session = AsyncSession(bind=self.conn, expire_on_commit=False)
            if self._user is not None:
                self._session.add(self._user)
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- user ------------------------------------------------------------------------
    async def lock_user(self, channel: str, external_id: str, now: datetime) -> ChatUser:
        """The chat user, created on first contact, locked for the turn, its last inbound now."""
        params = {"b_channel": channel, "b_external_id": external_id, "b_now": now}
        try:
            rows = await self.sql.mappings(TOUCH_USER, params)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The pooled connection had died unseen (no pre-ping): nothing of the turn
            # ran yet, so roll back the dead one and run the first statement on a new one.
            await self.conn.rollback()
            rows = await self.sql.mappings(TOUCH_USER, params)
        if not rows:
            new = {"channel": channel, "external_id": external_id, "created_at": now}
            await self.sql.execute(INSERT_USER[self.dialect], new)
            rows = await self.sql.mappings(TOUCH_USER, params)
        values = rows[0]
        self._user_seen = {k: copy.deepcopy(v) if k in MUTABLE_USER_COLUMNS else v for k, v in values.items()}
        user = _loaded(ChatUser, values)
        make_transient_to_detached(user)
        self._user = user
        return user

    async def save_user(self) -> None:
        """Write the columns the turn changed (the ORM already did when it held the user)."""
        user = self._user
        assert user is not None
        if self._session is not None:
            await self._session.flush()
            return
        seen = self._user_seen
        changed = {
            key: value
            for key in USER_COLUMNS
            if key != "id" and (value := getattr(user, key)) != seen.get(key)
        }
        if changed:
            await self.sql.execute(_update_user(tuple(changed)), {"b_id": user.id, **changed})

    # -- redelivery ------------------------------------------------------------------
    async def previous_answer(
        self, user_id: int, platform_msg_id: str
    ) -> tuple[int, str | None, list[Any]] | None:
        """(inbound id, intent, [(text, choices)]) when this platform id was answered before."""
        found = await self.sql.rows(SELECT_PREVIOUS, {"user_id": user_id, "msg_id": platform_msg_id})
        if not found:
            return None
        inbound_id, intent = found[0]
        replies = await self.sql.rows(SELECT_REPLIES, {"inbound_id": inbound_id})
        return inbound_id, intent, [(text, list(choices or [])) for text, choices in replies]

    # -- state -----------------------------------------------------------------------
    async def load_state(self, user_id: int, now: datetime) -> ConversationState:
        """The conversation state (a new one before the first); reads `handover_flags` with it."""
        (row,) = await self.sql.mappings(SELECT_STATE, {"user_id": user_id})
        self._flags = (bool(row["open_handover"]), bool(row["staff_waiting"]))
        self.state_exists = row["chat_user_id"] is not None
        if not self.state_exists:
            values = {"chat_user_id": user_id, "flow": None, "step": None, "data": {}, "last_choices": []}
            return _loaded(ConversationState, {**values, "updated_at": now})
        return _loaded(ConversationState, {key: row[key] for key in STATE_COLUMNS})

    async def save_state(self, state: ConversationState) -> None:
        values = {
            "flow": state.flow,
            "step": state.step,
            "data": state.data if state.data is not None else {},
            "last_choices": list(state.last_choices or []),
            "updated_at": state.updated_at,
        }
        if self.state_exists:
            await self.sql.execute(UPDATE_STATE, {"b_user_id": state.chat_user_id, **values})
        else:
            await self.sql.execute(INSERT_STATE, {"chat_user_id": state.chat_user_id, **values})
            self.state_exists = True

    # -- transcript ------------------------------------------------------------------
    async def add_inbound(
        self, user_id: int, text: str, platform_msg_id: str | None, intent: str | None, now: datetime
    ) -> int:
        values = {
            "chat_user_id": user_id,
            "direction": "in",
            "text": text,
            "choices": [],
            "platform_msg_id": platform_msg_id,
            "in_reply_to_id": None,
            "intent": intent,
            "created_at": now,
        }
        ((inbound_id,),) = await self.sql.rows(INSERT_INBOUND, values)
        return int(inbound_id)

    async def add_replies(self, user_id: int, inbound_id: int, replies: list[Any], now: datetime) -> None:
        if not replies:
            return
        rows = [
            {
                "chat_user_id": user_id,
                "direction": "out",
                "text": reply.text,
                "choices": list(reply.choices),
                "platform_msg_id": None,
                "in_reply_to_id": inbound_id,
                "intent": None,
                "created_at": now,
            }
            for reply in replies
        ]
        await self.sql.execute(INSERT_OUTBOUND, rows)

    @property
    def handover_flags(self) -> tuple[bool, bool]:
        """(an open hand-over, staff messages waiting for a web user), as `load_state` read them."""
        return self._flags


class LazySession:
    """Stands for `ctx.db`: the turn's ORM session, made the first time a handler uses it."""

    __slots__ = ("_store",)

    def __init__(self, store: TurnStore) -> None:
        self._store = store

    def reader(self) -> Any:
        """Where a read-only answer runs its Core statements: the turn's raw connection while
        no handler has made the ORM session (no session, no flush at the turn's end), else the
        session, so the reads see what the turn has already changed."""
        return self._store.session if self._store.has_session else self._store.conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store.session, name)
