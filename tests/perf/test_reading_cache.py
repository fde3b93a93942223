"""The engine's cache of parses for repeated short messages (issue 17).

What must hold: a cached reading is the one the NLU gives for that text on
that day (so 明天 means tomorrow of the day it is said), a message with digits
in it (an ID number, a phone) is never kept in memory, the cache stays bounded,
and a new NLU model is never answered with its predecessor's readings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.clock import LOCAL_TZ, FrozenClock
from bot.engine import Engine
from nlu.types import Parse
from tests.conftest import ChatDriver


def _kept_texts(engine: Engine) -> set[str]:
    return {text for text, _ in engine._readings}


async def test_a_repeated_message_is_answered_the_same_and_read_once(
    chat: ChatDriver, engine: Engine, services: Any
) -> None:
    await chat.say("你好")
    first = chat.text
    calls = []
    nlu = services.nlu

    class Counting:
        def parse(self, text: str, today: Any = None) -> Parse:
            calls.append(text)
            return nlu.parse(text, today)

        def __getattr__(self, name: str) -> Any:
            return getattr(nlu, name)

    counting = Counting()
    services.nlu = counting
    await chat.say("你好")
    await chat.say("你好")
    assert chat.text == first
    assert calls == ["你好"]  # a new model is read afresh once, then kept
    services.nlu = nlu


async def test_the_day_is_part_of_the_reading(engine: Engine) -> None:
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    on_monday, _ = engine._read("明天上课吗", monday)
    on_tuesday, _ = engine._read("明天上课吗", tuesday)
    dates = [e.value for p in (on_monday, on_tuesday) for e in p.entities if e.type == "date"]
    assert len(dates) == 2 and dates[0] != dates[1]


async def test_messages_with_digits_are_never_kept(
    chat: ChatDriver, engine: Engine, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=LOCAL_TZ))
    await chat.say("你好")
    await chat.say("我的身份证是220102199001011234")
    await chat.say("电话13912345678")
    await chat.say("２０岁")
    kept = _kept_texts(engine)
    assert "你好" in kept
    assert not any(ch.isdigit() for text in kept for ch in text)


async def test_the_cache_is_bounded_and_keeps_the_most_recent(engine: Engine, monkeypatch: Any) -> None:
    monkeypatch.setattr(engine._readings, "kept", 3)
    day = date(2026, 11, 23)
    for text in ("你好", "签到", "菜单", "谢谢", "你好"):
        engine._read(text, day)
    assert _kept_texts(engine) == {"菜单", "谢谢", "你好"}
