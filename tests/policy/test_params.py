"""The rules are data: every parameter is cited, and a new policy version is a YAML edit."""

from __future__ import annotations

import ast
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot.policy import PolicyError, get_policy, load_policy
from bot.policy.eligibility import assess
from bot.policy.params import POLICY_DIR
from bot.policy.share import subsidy_share

CONTRACT_GROUPS = {
    "rural_migrant": "农村转移就业劳动者",
    "poverty_alleviated": "脱贫劳动力",
    "college_graduate": "高校毕业生",
    "two_after": "两后生",
    "veteran": "退役军人",
    "registered_unemployed": "城镇登记失业人员",
    "disabled": "残疾人",
    "detox": "强制隔离戒毒人员",
    "prisoner": "服刑人员",
    "community_correction": "社区矫正对象",
    "employment_difficulty": "就业困难人员",
    "zero_employment_family": "城镇零就业家庭成员",
    "urban_dibao": "城市低保家庭",
    "designated": "经省委、省政府文件规定列入培训范围的其他人员",
}


def test_every_parameter_carries_article_document_and_effective_date() -> None:
    params = get_policy().all_params()
    assert len(params) > 50
    for p in params:
        assert re.fullmatch(r"第[一二三四五六七八九十]+条", p.article), p
        if p.document != "吉人社规〔2024〕3号":
            # Another law's article, said only as a labelled interpretation.
            assert p.note and "非《管理办法》原文" in p.note, p
            continue
        assert p.effective == date(2024, 9, 6)  # 第四十二条: in force from the day of issue


def test_contract_group_ids_with_their_chinese_names() -> None:
    policy = get_policy()
    for gid, name in CONTRACT_GROUPS.items():
        assert name in policy.group_by_id[gid].name
    assert set(policy.eligibility.categories) == {"enterprise_employee", "key_group", "designated"}


def test_every_question_says_why_it_is_asked() -> None:
    for q in get_policy().questions:
        assert q.why and q.label and q.article.startswith("第")


def test_the_deadline_table_cites_its_articles() -> None:
    articles = {e: p.article for e, p in get_policy().deadlines.items()}
    assert articles == {
        "class_application": "第十四条",
        "class_review": "第十四条",
        "claim_submission": "第十六条",
        "claim_review": "第十七条",
        "publicity_start": "第十七条",
        "publicity_end": "第十七条",
        "payment": "第十七条",
        "rectification": "第二十七条",
    }


def test_no_rates_in_python() -> None:
    """Thresholds are read from config: the engine's code holds no rate literal (float or decimal string)."""
    for path in Path("bot/policy").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant):
                assert not isinstance(node.value, float), (path, node.value)
                if isinstance(node.value, str):
                    assert not re.fullmatch(r"0?\.\d+", node.value.strip()), (path, node.value)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_new_policy_version_is_a_data_change(policy_copy: Path) -> None:
    """Say a 2026 notice raises the full-subsidy attendance to 95 %: only YAML changes."""
    _edit(
        policy_copy / "subsidies.yaml",
        '  full_rate:\n    <<: *law\n    article: 第十五条\n    value: "0.90"',
        "  full_rate:\n    <<: *law\n    article: 第十五条\n    document: 吉人社规〔2026〕1号\n"
        '    effective: 2026-03-01\n    value: "0.95"',
    )
    policy = load_policy(policy_copy)
    assert policy.effective == date(2026, 3, 1)
    assert subsidy_share(Decimal(92), Decimal(100), True, policy).share == Decimal("0.92")
    assert subsidy_share(Decimal(95), Decimal(100), True, policy).share == 1
    body = assess({"employment": "employed"}, date(2026, 6, 30), policy).to_dict()
    assert "95%" in " ".join(body["subsidies"]["training"]["conditions"])


def test_a_new_group_is_a_data_change(policy_copy: Path) -> None:
    path = policy_copy / "eligibility.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["groups"].append(
        {
            "id": "flood_victim",
            "name": "受灾群众",
            "category": "key_group",
            "article": "第十二条",
            "document": "吉人社规〔2026〕9号",
            "effective": "2026-08-01",
        }
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    policy = load_policy(policy_copy)
    body = assess(
        {"employment": "unemployed", "groups": ["flood_victim"], "reached_retirement_age": False},
        date(2026, 9, 1),
        policy,
    ).to_dict()
    assert body["eligible"] is True and body["categories"] == ["key_group"]


@pytest.mark.parametrize(
    ("file", "old", "new", "words"),
    [
        (
            "eligibility.yaml",
            "    id: veteran\n    name: 退役军人\n    category: key_group\n    article: 第十二条\n",
            "    id: veteran\n    name: 退役军人\n    category: key_group\n",
            "article",
        ),
        ("deadlines.yaml", "    count: 10\n", "    count: ten\n", "count"),
        (
            "subsidies.yaml",
            "groups: [poverty_alleviated,",
            "groups: [poverty_alleviatd,",
            "poverty_alleviatd",
        ),
        ("texts.yaml", "  retired_pension:", "  retired_pensions:", "retired_pension"),
        ("questions.yaml", "    field: household\n", "    field: hukou\n", "profile field"),
        ("subsidies.yaml", 'value: "0.90"', 'value: "1.5"', "full_rate"),
        (
            "eligibility.yaml",
            "article: 第十二条\n    clause: （一）",
            "article: Art. 12\n    clause: （一）",
            "article",
        ),
    ],
)
def test_broken_policy_stops_the_service(
    policy_copy: Path, file: str, old: str, new: str, words: str
) -> None:
    _edit(policy_copy / file, old, new)
    with pytest.raises(PolicyError) as info:
        load_policy(policy_copy)
    assert words in str(info.value)
