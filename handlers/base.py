"""What a handler sees and produces; the registry that the engine routes by.

A handler never speaks a channel's format: it reads a `Context` and adds
`Reply` objects (text plus choices). Channels render them.

Two kinds of handlers:
- an *intent handler* answers one intent in one turn (`@on_intent("greet")`);
- a *flow* (`Flow` subclass, `register_flow`) keeps state across turns: the
  engine gives it every message while it is active, and it says whether the
  message was an answer it understood.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from nlu.facts import NO_FACTS, Facts
from nlu.types import Parse

# The NLU gives exact commands and escape phrases (签到, 取消, menu labels, 找个工作人员吧)
# full confidence: at least this much means the user said it outright.
EXACT_COMMAND = 0.999

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services import Services
    from models import ChatUser, ConversationState


@dataclass
class Reply:
    text: str
    choices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "choices": list(self.choices)}


@dataclass
class Context:
    """One turn of one user: the message, who sent it, and where to put the answer."""

    text: str
    parse: Parse
    user: ChatUser
    state: ConversationState
    db: AsyncSession
    now: datetime
    services: Services
    replies: list[Reply] = field(default_factory=list)
    # Profile facts the message states (age, 没领养老金, 农村户口 …), read on every
    # message by the engine before routing (nlu.facts); empty when it says none.
    facts: Facts = NO_FACTS

    @property
    def today(self) -> date:
        return self.now.date()

    def t(self, key: str, **fmt: Any) -> str:
        return self.services.texts.get(key, **fmt)

    def say(self, text: str, choices: list[str] | tuple[str, ...] = ()) -> None:
        self.replies.append(Reply(text, list(choices)))

    def say_key(self, key: str, choices: list[str] | tuple[str, ...] = (), **fmt: Any) -> None:
        self.say(self.t(key, **fmt), choices)

    # -- flow state -------------------------------------------------------
    @property
    def flow(self) -> str | None:
        return self.state.flow

    @property
    def data(self) -> dict[str, Any]:
        """The active flow's scratch data; reassign via `set_data` to persist changes."""
        return self.state.data if self.state.data is not None else {}

    def set_data(self, **values: Any) -> None:
        # A new dict each time: JSON columns only notice reassignment.
        merged = dict(self.state.data or {})
        merged.update(values)
        self.state.data = merged

    def goto(self, step: str | None) -> None:
        self.state.step = step

    async def start_flow(self, name: str, **data: Any) -> None:
        flow = get_flow(name)
        self.state.flow = name
        self.state.step = None
        self.state.data = dict(data)
        await flow.start(self)

    def end_flow(self) -> None:
        self.state.flow = None
        self.state.step = None
        self.state.data = {}


IntentHandler = Callable[[Context], Awaitable[None]]


class Flow(ABC):
    """A multi-turn conversation. Subclasses set `name` and implement the three methods."""

    name: ClassVar[str]

    @abstractmethod
    async def start(self, ctx: Context) -> None:
        """Begin: usually asks the first question."""

    @abstractmethod
    async def on_message(self, ctx: Context) -> bool:
        """Handle a message while active; False when it is not an answer this flow understood."""

    @abstractmethod
    async def reask(self, ctx: Context) -> None:
        """Say kindly that the answer was not understood and ask the current question again."""


_INTENTS: dict[str, IntentHandler] = {}
_FLOWS: dict[str, Flow] = {}
# Whether an intent's handler can answer this message itself, or would only ask back
# ("您想查哪种补贴的材料？") or guess (a class search for a word that is no trade).
DirectCheck = Callable[[Context], bool]
_DIRECT: dict[str, DirectCheck] = {}


def on_intent(*intents: str) -> Callable[[IntentHandler], IntentHandler]:
    def register(fn: IntentHandler) -> IntentHandler:
        for intent in intents:
            if intent in _INTENTS and _INTENTS[intent] is not fn:
                raise ValueError(f"intent {intent!r} already has a handler")
            _INTENTS[intent] = fn
        return fn

    return register


def register_flow(flow: Flow) -> Flow:
    if flow.name in _FLOWS:
        raise ValueError(f"flow {flow.name!r} registered twice")
    _FLOWS[flow.name] = flow
    return flow


def answers_directly(*intents: str) -> Callable[[DirectCheck], DirectCheck]:
    """Register the check a rule answer consults before it yields to the intent's handler."""

    def register(fn: DirectCheck) -> DirectCheck:
        for intent in intents:
            _DIRECT[intent] = fn
        return fn

    return register


def handler_answers_directly(ctx: Context, intent: str) -> bool:
    """True unless the intent's handler registered a check and it says the handler would ask back."""
    check = _DIRECT.get(intent)
    return check is None or check(ctx)


def intent_handler(intent: str) -> IntentHandler | None:
    return _INTENTS.get(intent)


def get_flow(name: str) -> Flow:
    return _FLOWS[name]


def has_flow(name: str) -> bool:
    return name in _FLOWS
