"""Trainees look for a class by where they live and ask about their own class, in their own words.

On the demo data (config/demo/demo.yaml, loaded on the clock fixture's Monday
2026-11-23): classes in 长春南关区, 吉林市船营区, 延吉, 梅河口 and 公主岭. Each
persona says what people in 吉林 say and answers the bot's question when it
asks one; every reply must be understood (no 没太明白) and fit a phone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.demo import seed_demo
from bot.services import Services
from models import Trainee
from tests.attendance import factory
from tests.conftest import ChatDriver

MAX_CHOICES = 8
NOT_UNDERSTOOD = "没太明白"
ASK_FILTER = "想学什么工种，或者在哪个地区"


@dataclass(frozen=True)
class Turn:
    say: str
    expect: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Persona:
    id: str
    about: str
    turns: tuple[Turn, ...]
    trainee: str | None = None  # a demo trainee the chat is bound to
    answer_filter: Turn | None = None  # the answer when the bot asks for an occupation or place


PERSONAS = [
    Persona(
        "yanji_ecommerce",
        "延吉的大姐想学电商",
        (
            Turn(
                "俺在延吉，想学那个电商", ("按“延吉 电商”找到1个", "电子商务师(四级)培训班", "0433-22220001")
            ),
        ),
    ),
    Persona(
        "hunchun_school_leaver",
        "珲春的两后生，珲春没有电商班",
        (
            Turn(
                "珲春那疙瘩有学电商的不",
                ("珲春暂时没有电商的班，延边州内有1个", "延吉市光明街88号"),
                ("长春市",),
            ),
        ),
    ),
    Persona(
        "meihekou_cook",
        "梅河口的大哥先问有啥班，再说想学厨师",
        (Turn("找培训班", ("找到5个补贴培训班", ASK_FILTER)),),
        answer_filter=Turn("梅河口的，想学厨师", ("按“梅河口 厨师”找到1个", "梅河口市新华街36号")),
    ),
    Persona(
        "tonghua_county_veteran",
        "通化县的退伍兵想学厨师，县里没有，梅河口有",
        (Turn("通化县有厨师班不", ("通化县暂时没有厨师的班，通化市内有1个", "中式烹调师(五级)培训班")),),
    ),
    Persona(
        "gongzhuling_housekeeping",
        "公主岭的大姐想学家政",
        (Turn("公主岭有保姆培训班吗", ("按“公主岭 保姆”找到1个", "家政服务员(五级)培训班", "正在上课")),),
    ),
    Persona(
        "baicheng_anything",
        "白城的小伙子，白城没有班",
        (Turn("白城有培训吗", ("白城暂时没有补贴培训班，省内其他地方有5个",), ("还有",)),),
    ),
    Persona(
        "nanguan_electrician",
        "长春南关的农民工想学电工",
        (
            Turn("南关区有班吗", ("按“南关区”找到1个", "电工(四级)就业技能培训班"), ("养老护理员",)),
            Turn("长春哪有学电工的", ("按“长春 电工”找到1个", "长春市南关区人民大街1000号")),
        ),
    ),
    Persona(
        "zhangwei_days",
        "在南关上电工班的张伟问哪天有课",
        (
            Turn(
                "明天有课吗", ("明天有课：8:30–11:30，长春市南关区人民大街1000号 实训楼302。",), ("授课老师",)
            ),
            Turn("今天下午有课没", ("今天下午没有课，今天的课是8:30–11:30。",)),
            Turn("后天上课不", ("11月25日（周三）有课：8:30–11:30",)),
        ),
        trainee="张伟",
    ),
    Persona(
        "zhoumin_afternoon",
        "吉林市上养老护理班的周敏（一三五下午）",
        (
            Turn("明儿有课不", ("明天没有课。", "下一节课是11月25日（周三）13:30–16:30。")),
            Turn(
                "今天下午有课没", ("今天下午有课：13:30–16:30，吉林市船营区解放路20号 2号教学楼105。", "签到")
            ),
        ),
        trainee="周敏",
    ),
    Persona(
        "maxiuying_just_ended",
        "育婴员班上周五刚结业的马秀英",
        (
            Turn(
                "我的班级",
                ("育婴员(五级)培训班（已结业）", "出勤率", "10个工作日内统一申请"),
                ("没有查到您正在参加的培训班",),
            ),
            Turn("明天有课吗", ("明天没有课：育婴员(五级)培训班已经在",)),
            Turn("补贴到哪了", (), ("没有查到",)),
        ),
        trainee="马秀英",
    ),
]


def check(persona: Persona, said: str, chat: ChatDriver, problems: list[str]) -> None:
    if NOT_UNDERSTOOD in chat.text:
        problems.append(f"{said!r} was not understood: {chat.text}")
    for reply in chat.replies:
        if len(reply["choices"]) > MAX_CHOICES:
            problems.append(f"{said!r}: {len(reply['choices'])} choices in one message")


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.id for p in PERSONAS])
async def test_place_persona(persona: Persona, chat: ChatDriver, services: Services) -> None:
    assert await seed_demo(services)
    if persona.trainee:
        async with services.db.session() as db:
            person = (await db.execute(select(Trainee).where(Trainee.name == persona.trainee))).scalar_one()
            await factory.chat_user(db, person, chat.user_id)
    problems: list[str] = []
    transcript: list[str] = []
    turns = list(persona.turns)
    answered = False
    while turns:
        turn = turns.pop(0)
        await chat.say(turn.say)
        transcript += [f"> {turn.say}", chat.text]
        check(persona, turn.say, chat, problems)
        problems += [f"{turn.say!r}: missing {e!r}" for e in turn.expect if e not in chat.text]
        problems += [f"{turn.say!r}: should not say {a!r}" for a in turn.absent if a in chat.text]
        if ASK_FILTER in chat.text:
            if persona.answer_filter is None or answered:
                problems.append(f"{turn.say!r}: asked for an occupation or place unexpectedly")
            else:
                answered = True
                turns.insert(0, persona.answer_filter)
    assert not problems, f"{persona.id} ({persona.about}):\n" + "\n".join(problems + transcript)
