"""No rule sentence cites an article that does not say it.

Every knowledge-base entry, and every entry of `config/policy/*.yaml` that
carries an article of the Measures, has a quote; the quote must stand in that
article (and item) of the law text (config/knowledge/sources/, copies of the
seeds). Messages that cite an article inline are listed with their quotes in
config/knowledge/message_citations.yaml and checked the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import CONFIG_DIR
from bot.texts import Texts
from nlu.knowledge import ARTICLE, KnowledgeBase, LawText, check_quotes

MEASURES = "吉人社规〔2024〕3号"
LAW = LawText()
_INLINE = re.compile(r"第[一二三四五六七八九十]+条(?:（[一二三四五六七八九十]+）)?")


def _cited(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every mapping in a YAML tree that names an article, with its path."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "article" in node:
            found.append((where, node))
        for key, value in node.items():
            found += _cited(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _cited(value, f"{where}[{i}]")
    return found


def _policy_entries() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((CONFIG_DIR / "policy").glob("*.yaml")):
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
        out += [(w, n) for w, n in _cited(tree, path.stem) if n.get("document") == MEASURES]
    return out


def test_the_law_text_has_every_article() -> None:
    assert len(LAW.articles) == 42
    assert "享受补贴性培训人员身份认定以培训班次结束时的身份为准" in LAW.articles["第十二条"]


def test_every_knowledge_quote_stands_in_its_article() -> None:
    assert check_quotes(KnowledgeBase.load(), LAW) == []


def test_the_check_catches_a_misquote_and_a_wrong_article() -> None:
    assert not LAW.quote_stands("measures", "第十二条", "已到法定退休年龄，劳动合同依法终止")
    gate = "对出勤课时不足备案课时70%的参训学员，不得安排结业考核"
    assert not LAW.quote_stands("measures", "第十五条", gate)
    assert LAW.quote_stands("measures", "第十四条（四）", gate)
    assert not LAW.quote_stands("measures", "第十四条（一）", "对出勤课时不足备案课时70%的参训学员")
    assert not LAW.quote_stands("measures", "第九十条", "本办法")


@pytest.mark.parametrize(("where", "node"), _policy_entries(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_policy_citation_quotes_its_article(where: str, node: dict[str, Any]) -> None:
    quote = node.get("quote")
    assert quote, f"{where} cites {node['article']} without a quote"
    article = node["article"] + (node.get("clause") or "")
    assert LAW.quote_stands("measures", article, quote), f"{where}: {quote!r} is not in {article}"


def _message_citations() -> dict[str, list[dict[str, str]]]:
    path = CONFIG_DIR / "knowledge" / "message_citations.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]


def _message_texts() -> dict[str, str]:
    """Every message text (dotted key → text) that names an article inline."""
    tree = Texts.load()._tree
    out: dict[str, str] = {}

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{key}[{i}]")
        elif isinstance(node, str) and _INLINE.search(node):
            out[key] = node

    walk(tree, "")
    return out


def test_every_message_that_cites_an_article_is_checked() -> None:
    listed = _message_citations()
    for key, text in _message_texts().items():
        named = {m.group(0) for m in _INLINE.finditer(text)}
        given = {c["article"] for c in listed.get(key, [])}
        assert named <= given, f"config/messages {key} cites {sorted(named - given)} without a quote"


@pytest.mark.parametrize(
    ("key", "citation"),
    [(k, c) for k, cs in _message_citations().items() for c in cs],
    ids=lambda v: v if isinstance(v, str) else v.get("article", ""),
)
def test_every_message_citation_quotes_its_article(key: str, citation: dict[str, str]) -> None:
    assert ARTICLE.match(citation["article"])
    assert LAW.quote_stands("measures", citation["article"], citation["quote"]), key


def test_no_answer_is_longer_than_three_sentences_or_gives_an_amount() -> None:
    for entry in KnowledgeBase.load().entries:
        assert not re.search(r"\d+元", entry.answer), entry.id
    assert Path(CONFIG_DIR / "knowledge" / "sources" / "measures.txt").exists()


def test_the_class_size_limit_is_one_number_in_policy_and_database() -> None:
    from bot.policy import get_policy

    cap = get_policy().subsidies.classes.offline_max_size.value
    models = (CONFIG_DIR.parent / "models" / "training.py").read_text(encoding="utf-8")
    assert f"capacity <= {cap} OR capacity_approved" in models
