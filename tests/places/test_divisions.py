"""The division data of 吉林省 (config/places/jilin.yaml) and reading places from a message."""

from __future__ import annotations

import pytest

from bot.places import ancestors, contains, divisions, find_places, parent, region_name, short_name

# Codes checked by hand against the 民政部 list (the ones most often got wrong).
KNOWN = {
    "220000": "吉林省",
    "220102": "南关区",
    "220113": "九台区",
    "220184": "公主岭市",
    "220211": "丰满区",
    "220323": "伊通满族自治县",
    "220403": "西安区",
    "220581": "梅河口市",
    "220605": "江源区",
    "220623": "长白朝鲜族自治县",
    "220721": "前郭尔罗斯蒙古族自治县",
    "220781": "扶余市",
    "220882": "大安市",
    "222400": "延边朝鲜族自治州",
    "222401": "延吉市",
    "222404": "珲春市",
    "222426": "安图县",
}


def test_codes_are_six_digits_unique_and_consistent_with_their_parents() -> None:
    divs = divisions()
    levels = [d.level for d in divs.values()]
    assert levels.count("province") == 1
    assert levels.count("prefecture") == 9
    assert levels.count("county") == 60
    for code, div in divs.items():
        assert len(code) == 6 and code.isdigit() and code.startswith("22")
        if div.level == "prefecture":
            assert div.parent == "220000" and code.endswith("00")
        if div.level == "county":
            assert divs[str(div.parent)].level == "prefecture", code
            assert code[:4] == str(div.parent)[:4] and not code.endswith("00"), code
    for code, name in KNOWN.items():
        assert region_name(code) == name


def test_no_name_is_given_to_two_divisions() -> None:
    seen: dict[str, str] = {}
    for div in divisions().values():
        for name in div.names:
            assert name not in seen, f"{name}: {seen.get(name)} and {div.code}"
            seen[name] = div.code


def codes(text: str) -> list[str | None]:
    return [hit.code for hit in find_places(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("延边有没有培训", ["222400"]),
        ("我在延吉想学电商", ["222401"]),
        ("南关区有班吗", ["220102"]),
        ("梅河口有厨师班不", ["220581"]),
        ("长春哪有学电工的", ["220100"]),
        ("我家在吉林省长春市南关区", ["220000", "220100", "220102"]),
        ("吉林市船营区", ["220200", "220204"]),
        ("俺在吉林打工", ["220000"]),  # 吉林 alone is the province, not 吉林市
        ("二道江区的", ["220503"]),  # not 二道区
        ("通化县", ["220521"]),
        ("通化", ["220500"]),
        ("前郭那边", ["220721"]),
        ("延边州", ["222400"]),
        ("想去西安打工", []),  # the city in 陕西, not 辽源's 西安区
        ("朝阳的时候上课", []),
        ("做事四平八稳", []),
        ("", []),
    ],
)
def test_places_named_in_a_message(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


def test_an_area_that_is_not_a_division_covers_the_counties_it_lies_in() -> None:
    [hit] = find_places("长白山有班吗")
    assert hit.code is None and hit.text == "长白山"
    assert set(hit.within) == {"220621", "220623", "222426"}  # not 白山市, not 长白县 alone


def test_the_hierarchy() -> None:
    assert ancestors("222401") == ("222400", "220000")
    assert ancestors("220000") == ()
    assert parent("220581") == "220500"  # 梅河口 counts under 通化 by its code
    assert contains("222400", "222401") and contains("220000", "222404")
    assert contains("220102", "220102")
    assert not contains("220100", "222401") and not contains("222401", "222400")
    # A zone's statistics code (not a division) still lies in its city.
    assert contains("220100", "220171") and not contains("220200", "220171")
    assert not contains("220100", None) and not contains("garbage", "220102")
    assert short_name("222400") == "延边州" and short_name("220100") == "长春市"
    assert region_name("229999") is None
