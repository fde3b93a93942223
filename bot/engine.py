"""The one conversation engine behind every channel.

A turn: find or create the chat user and lock its row (an UPDATE of its last
inbound time, so two messages of one user never interleave, also across
processes), drop a platform redelivery, record the message, understand it,
route it to a flow or an intent handler, save the state and the replies,
commit. The channel only translates formats around `Engine.handle`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

import handlers
from bot import ops
from bot.handover import turn as handover_turn
from bot.identity import mask_personal, normalize_inbound
from bot.services import Services
from bot.turn_store import LazySession, TurnStore
from handlers import rules
from handlers.base import EXACT_COMMAND, Context, Reply, get_flow, has_flow, intent_handler
from handlers.eligibility.person import opens_screening
from models import ChatUser, ConversationState
from nlu.facts import Facts, read_facts
from nlu.text_cache import TextCache, cacheable
from nlu.types import Parse

log = logging.getLogger(__name__)

# Intents that work even inside a flow (when the NLU is sure enough).
GLOBAL_INTENTS = ("cancel", "human_agent", "help")
# Intents that are answers, never a change of topic inside a flow.
ANSWER_INTENTS = ("affirm", "deny", "out_of_scope", "greet", "thanks")
TRAILING_PUNCT = re.compile(r"[.、.\s]+$")
FULLWIDTH_DIGITS = str.maketrans("0123456789", "0123456789")
# The parse and facts of the same short texts, worked out once per day and model
# (nlu.text_cache says which texts may be kept).
READINGS_KEPT = 4096
NO_PARSE = Parse("out_of_scope", 0.0)


@dataclass
class TurnResult:
    replies: list[Reply]
    chat_user_id: int
    inbound_id: int | None = None
    duplicate: bool = False
    intent: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Engine:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._sqlite_lock = asyncio.Lock()
        # (text, day) -> (parse, facts) of short messages, most recent last (see `_read`).
        self._readings: TextCache[tuple[str, date], tuple[Parse, Facts]] = TextCache(READINGS_KEPT)
        self._cache_nlu: Any = None
        handlers.load_all()
        menu = services.texts.raw("menu.menu")
        self.menu_labels: list[str] = [item["label"] for item in menu]
        self._label_intents: dict[str, str] = {item["label"]: item["intent"] for item in menu}

    def _turn_lock(self, channel: str, external_id: str) -> asyncio.Lock:
        """Per user on PostgreSQL; one for all turns on SQLite.

        SQLite has a single writer: concurrent turns would meet in its busy
        handler, which sleeps in growing steps (p99 over a second at 32 users).
        Queueing them in the process instead keeps the wait to the turns ahead.
        """
        if self.services.db.is_sqlite:
            return self._sqlite_lock
        return self._lock(channel, external_id)

    def _lock(self, channel: str, external_id: str) -> asyncio.Lock:
        key = (channel, external_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(
        self,
        channel: str,
        external_id: str,
        text: str,
        *,
        platform_msg_id: str | None = None,
        display_name: str | None = None,
    ) -> TurnResult:
        """Run one turn; a redelivered `platform_msg_id` gets the first answer back, unchanged."""
        started = time.perf_counter()
        text = normalize_inbound(text or "")  # the turn reads it; only its masked form is kept
        async with self._turn_lock(channel, external_id), self.services.db.turn() as store:
            user = await store.lock_user(channel, external_id, self.services.clock.now())
            if display_name and not user.display_name:
                user.display_name = display_name[:100]
            if platform_msg_id is not None:
                previous = await store.previous_answer(user.id, platform_msg_id)
                if previous is not None:
                    await store.save_user()
                    inbound_id, intent, replies = previous
                    return TurnResult(
                        [Reply(t, c) for t, c in replies], user.id, inbound_id, duplicate=True, intent=intent
                    )
            result = await self._turn(store, user, text, platform_msg_id)
        elapsed_ms = (time.perf_counter() - started) * 1000
        ops.turn_done(channel, result, elapsed_ms / 1000)
        if elapsed_ms > self.services.settings.slow_turn_ms:
            log.warning("slow turn: %.0f ms (intent %s)", elapsed_ms, result.intent)
        return result

    async def get_user(self, db: AsyncSession, channel: str, external_id: str, *, lock: bool) -> ChatUser:
        """The chat user, created on first contact; locked when asked (for callers outside a turn)."""
        query = select(ChatUser).where(ChatUser.channel == channel, ChatUser.external_id == external_id)
        if lock:
            query = query.with_for_update()
        user = (await db.execute(query)).scalar_one_or_none()
        if user is not None:
            return user
        insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
        await db.execute(
            insert(ChatUser)
            .values(channel=channel, external_id=external_id, created_at=self.services.clock.now())
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
        return (await db.execute(query)).scalar_one()

    async def _turn(
        self, store: TurnStore, user: ChatUser, raw_text: str, platform_msg_id: str | None
    ) -> TurnResult:
        services = self.services
        now = services.clock.now()
        text = (raw_text or "").strip()
        max_chars = services.settings.max_text_chars
        masked = mask_personal(text)[:max_chars]  # privacy: only the masked text is ever stored
        state = await store.load_state(user.id, now)  # (lock_user set user.last_inbound_at)

        text = self._resolve_choice_number(text, state)
        readable = bool(text) and len(text) <= max_chars
        db: Any = LazySession(store)
        ctx = Context(text=text, parse=NO_PARSE, user=user, state=state, db=db, now=now, services=services)
        if readable:
            # -- facts hook (issue 14): profile facts said in passing, on every message --
            parse, ctx.facts = self._read(text, ctx.today)
            ctx.parse = parse = self._label_override(text, parse)
        else:
            parse = NO_PARSE
        inbound_id = await store.add_inbound(user.id, masked, platform_msg_id, parse.intent, now)

        # Hand-over (转人工): while a person holds the conversation the bot steps aside.
        open_handover, staff_waiting = store.handover_flags
        if open_handover and await handover_turn.intercept(ctx):
            pass
        elif not text:
            ctx.say_key("menu.empty", self.menu_labels)
        elif len(text) > max_chars:
            ctx.say_key("menu.too_long")
        else:
            await self.route(ctx)

        state.updated_at = now
        last_choices = next((r.choices for r in reversed(ctx.replies) if r.choices), [])
        state.last_choices = list(last_choices)
        # Hand-over: staff messages a web user has not seen yet come first.
        waiting = await handover_turn.pending(ctx) if staff_waiting else []
        await store.save_user()
        await store.add_replies(user.id, inbound_id, ctx.replies, now)
        await store.save_state(state)
        replies = waiting + ctx.replies
        return TurnResult(replies, user.id, inbound_id, intent=parse.intent, meta={"flow": state.flow})

    def _read(self, text: str, today: date) -> tuple[Parse, Facts]:
        """The NLU's parse and the profile facts of a message, the same texts' from the cache."""
        nlu = self.services.nlu
        if nlu is not self._cache_nlu:  # a new model: what was kept was its predecessor's reading
            self._cache_nlu = nlu
            self._readings.clear()
        if not cacheable(text):
            return nlu.parse(text, today), read_facts(text, today)
        key = (text, today)
        _, kept = self._readings.lookup(key)
        if kept is not None:  # (a reading is never None)
            ops.metrics.nlu_cache_hit()
            return kept
        reading = (nlu.parse(text, today), read_facts(text, today))
        self._readings.keep(key, reading)
        return reading

    @staticmethod
    def _resolve_choice_number(text: str, state: ConversationState) -> str:
        """ "2" answers the second choice offered last turn (WeChat shows choices as a numbered list)."""
        digits = TRAILING_PUNCT.sub("", text.translate(FULLWIDTH_DIGITS))
        choices = state.last_choices or []
        if digits.isdigit() and len(digits) <= 3 and choices and 1 <= int(digits) <= len(choices):
            return choices[int(digits) - 1]
        return text

    def _label_override(self, text: str, parse: Parse) -> Parse:
        """Pressing (or typing) a main-menu button is an exact command."""
        intent = self._label_intents.get(text)
        if intent is None:
            return parse
        return Parse(intent, 1.0, parse.entities, ((intent, 1.0),))

    async def route(self, ctx: Context) -> None:
        settings = self.services.settings
        parse = ctx.parse
        sure = parse.confidence >= settings.global_threshold
        if ctx.flow and has_flow(ctx.flow):
            # An exact command (取消, 转人工, 帮助) interrupts at once, unless it is one of the
            # choices the flow itself just offered. Anything else is the flow's to read first:
            # its own words (继续, 为什么问这个, 不知道) must never be taken for a command.
            offered = ctx.text in (ctx.state.last_choices or [])
            if parse.intent in GLOBAL_INTENTS and parse.confidence >= EXACT_COMMAND and not offered:
                await self.dispatch_intent(ctx, parse.intent)
                return
            # -- rule-question hook (issue 15): a general rule question is answered, never
            # taken as the flow's answer; the flow's question is then asked again.
            if await rules.side_question(ctx):
                return
            # -- end rule-question hook --
            flow = get_flow(ctx.flow)
            if await flow.on_message(ctx):
                return
            if ctx.flow is None:  # the flow ended itself and let the message go
                await self.route_free(ctx)
                return
            if await rules.side_question(ctx, declined=True):  # rule-question hook (issue 15)
                return
            if parse.intent in GLOBAL_INTENTS and sure:
                await self.dispatch_intent(ctx, parse.intent)
                return
            if (
                parse.intent not in ANSWER_INTENTS
                and parse.confidence >= settings.intent_threshold
                and intent_handler(parse.intent) is not None
            ):
                # A clear change of topic: leave the flow and answer the new question.
                ctx.end_flow()
                await self.dispatch_intent(ctx, parse.intent)
                return
            # -- rule-question hook (issue 15): a question nobody understood is said so --
            if await rules.unanswered_side_question(ctx):
                return
            # -- end rule-question hook --
            await flow.reask(ctx)
            return
        if ctx.flow:  # a flow that no longer exists (renamed in an upgrade)
            ctx.end_flow()
        await self.route_free(ctx)

    async def route_free(self, ctx: Context) -> None:
        """Route a message that no flow claims: by intent, else clarify, else fallback."""
        settings = self.services.settings
        parse = ctx.parse
        # Facts about the person ("我今年62了，在外面打工") open the screening (issue 14);
        # a rule question in the same message is answered first (issue 15).
        screening = opens_screening(ctx, settings.intent_threshold)
        if await rules.free_question(ctx, screening_follows=screening):
            if screening and ctx.flow is None and rules.personal_intent(ctx, None) is None:
                await self.dispatch_intent(ctx, "check_eligibility")
            return
        if screening:
            await self.dispatch_intent(ctx, "check_eligibility")
            return
        if parse.confidence >= settings.intent_threshold:
            await self.dispatch_intent(ctx, parse.intent)
            return
        pair = self.services.nlu.clarify(parse)
        clarifies = pair is not None and all(intent_handler(i) is not None for i in pair)
        if clarifies and await rules.unsure_question(ctx):
            return
        if pair is not None and clarifies:
            question, labels = self.services.nlu.clarify_question(parse) or ("", [])
            options = dict(zip(labels, pair, strict=False))
            # --- issue 14: one likely meaning is a yes/no question ("您是想签到吗？")
            yes = pair[0] if len(pair) == 1 else None
            await ctx.start_flow("clarify", question=question, labels=labels, options=options, yes=yes)
            return
        await self.dispatch_intent(ctx, "out_of_scope")

    async def dispatch_intent(self, ctx: Context, intent: str) -> None:
        handler = intent_handler(intent) or intent_handler("out_of_scope")
        if handler is None:  # pragma: no cover - the menu module always registers it
            ctx.say_key("menu.fallback", self.menu_labels)
            return
        await handler(ctx)
