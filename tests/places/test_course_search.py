"""找培训班 by the places of 吉林省: prefectures, counties, districts and the short names people use."""

from __future__ import annotations

from datetime import date, timedelta

from bot.services import Services
from models import Institution
from tests.conftest import ChatDriver
from tests.eligibility.helpers import add_class

TODAY = date(2026, 11, 23)
SOON, LATER = TODAY + timedelta(days=5), TODAY + timedelta(days=40)


async def arrange(services: Services) -> None:
    """Classes spread over the province, as the real-name system would import them."""
    async with services.db.session() as db:
        await add_class(db, occupation="电子商务师", region_code="222401", start=SOON, end=LATER)  # 延吉
        await add_class(db, occupation="电工", region_code="222403", start=SOON, end=LATER)  # 敦化
        await add_class(db, occupation="电工", region_code="220102", start=SOON, end=LATER)  # 南关区
        await add_class(db, occupation="育婴员", region_code="220104", start=SOON, end=LATER)  # 朝阳区
        await add_class(db, occupation="中式烹调师", region_code="220581", start=SOON, end=LATER)  # 梅河口
        await add_class(db, occupation="养老护理员", region_code="220621", start=SOON, end=LATER)  # 抚松县
        # Filed at city level, but the institution is in 绿园区.
        klass = await add_class(db, occupation="焊工", region_code="220100", start=SOON, end=LATER)
        inst = await db.get(Institution, klass.institution_id)
        assert inst is not None
        inst.region_code = "220106"


async def test_a_prefecture_finds_every_county_in_it(chat: ChatDriver, services: Services) -> None:
    await arrange(services)
    await chat.say("延边有没有培训")
    assert "按“延边”找到2个" in chat.text
    assert "电子商务师测试培训学校222401" in chat.text and "电工测试培训学校222403" in chat.text
    assert "220102" not in chat.text and "220581" not in chat.text
    assert "延吉市" in chat.text and "敦化市" in chat.text  # each class says where it is


async def test_a_county_with_a_colloquial_occupation(chat: ChatDriver, services: Services) -> None:
    await arrange(services)
    await chat.say("我在延吉想学电商")
    assert "按“延吉 电商”找到1个" in chat.text and "电子商务师(五级)培训班" in chat.text
    await chat.say("梅河口有厨师班不")
    assert "按“梅河口 厨师”找到1个" in chat.text and "中式烹调师(五级)培训班" in chat.text


async def test_a_district_and_a_city(chat: ChatDriver, services: Services) -> None:
    await arrange(services)
    await chat.say("南关区有班吗")
    assert "按“南关区”找到1个" in chat.text and "电工测试培训学校220102" in chat.text
    assert "育婴员" not in chat.text  # 朝阳区 is another district of 长春
    await chat.say("长春哪有学电工的")
    assert "按“长春 电工”找到1个" in chat.text and "220102" in chat.text and "222403" not in chat.text
    # A class filed under the city is found by its institution's district.
    await chat.say("绿园有焊工班吗")
    assert "按“绿园 焊工”找到1个" in chat.text
    await chat.say("长春市南关区有电工班吗")  # the district narrows the city
    assert "按“南关区 电工”找到1个" in chat.text


async def test_nothing_in_the_county_offers_the_prefecture_then_the_province(
    chat: ChatDriver, services: Services
) -> None:
    await arrange(services)
    await chat.say("珲春有电商班吗")
    assert chat.text.startswith("珲春暂时没有电商的班，延边州内有1个：")
    assert "电子商务师(五级)培训班" in chat.text
    await chat.say("通化县有厨师班吗")  # 梅河口 lies in 通化 by its code
    assert chat.text.startswith("通化县暂时没有厨师的班，通化市内有1个：")
    await chat.say("珲春有育婴员的班吗")  # none in 延边: the rest of the province
    assert chat.text.startswith("珲春暂时没有育婴员的班，省内其他地方有1个：")
    assert "育婴员测试培训学校220104" in chat.text
    await chat.say("白城有培训吗")  # a prefecture goes straight to the province
    assert chat.text.startswith("白城暂时没有补贴培训班，省内其他地方有7个：")
    assert "还有2个班没列出来" in chat.text


async def test_nothing_anywhere_says_so_and_offers_a_person(chat: ChatDriver, services: Services) -> None:
    await arrange(services)
    await chat.say("延吉有挖机班吗")
    assert "暂时没有找到延吉 挖机的补贴培训班" in chat.text
    assert "12333" in chat.text and "转人工" in chat.choices


async def test_an_area_that_is_not_a_division(chat: ChatDriver, services: Services) -> None:
    await arrange(services)
    await chat.say("长白山那边有培训班吗")
    assert "按“长白山”找到1个" in chat.text and "养老护理员测试培训学校220621" in chat.text


async def test_the_province_named_filters_nothing(chat: ChatDriver, services: Services) -> None:
    await arrange(services)
    await chat.say("吉林省有电工班吗")
    assert "按“电工”找到2个" in chat.text


async def test_institutions_of_the_place_without_a_class_are_named_when_asked(
    chat: ChatDriver, services: Services
) -> None:
    await arrange(services)
    async with services.db.session() as db:
        db.add(
            Institution(
                code="I-WQ", name="汪清县职业技能培训学校", region_code="222424", contact_phone="0433-8888"
            )
        )
        db.add(Institution(code="I-WQ2", name="汪清停业学校", region_code="222424", status="suspended"))
        db.add(
            Institution(
                code="I-YJ", name="延吉市第二培训学校", region_code="222401", contact_phone="0433-7777"
            )
        )
    await chat.say("汪清有培训学校吗")
    assert "汪清的定点培训机构（现在没有开班）：\n· 汪清县职业技能培训学校  电话：0433-8888" in chat.text
    assert "汪清停业学校" not in chat.text
    assert "汪清暂时没有补贴培训班，延边州内有2个：" in chat.text
    await chat.say("延吉有哪些定点培训机构")
    assert "按“延吉”找到1个" in chat.text
    assert "延吉还有这些定点培训机构（现在没有开班）：\n· 延吉市第二培训学校" in chat.text
    assert "汪清" not in chat.text
    await chat.say("延吉有电商班吗")  # a class, not the institutions, asked for
    assert "延吉市第二培训学校" not in chat.text
