"""The knowledge base of the Measures: reviewed answers to rule questions.

Each entry of `config/knowledge/entries/*.yaml` is one question people ask,
with the phrasings they use, a short plain answer, the article that says it
and the words of that article (see `config/knowledge/README.md`). The answer
text is written and reviewed by people; the bot never assembles a rule
sentence itself, so a citation can be checked against the law once, here,
instead of at every turn (`check_quotes`, run by the tests).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.config_file import StrictModel, load_yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "config" / "knowledge"

SOURCES = {
    "measures": "《吉林省政府补贴职业技能培训工作管理办法（试行）》（吉人社规〔2024〕3号）",
    "action_plan": "《吉林省职业技能培训行动计划（2022-2025年）》（吉人社联〔2022〕145号）",
}
# The short name said after an answer: people need the article, not the full title each time.
SOURCE_SHORT = {"measures": "《管理办法》", "action_plan": "《职业技能培训行动计划》"}

_NUM = "一二三四五六七八九十"
ARTICLE = re.compile(rf"^(第[{_NUM}]+条)((?:（[{_NUM}]+）)*)$")
_PLAN_SECTION = re.compile(rf"^(?:[（(][{_NUM}]+[）)]|专栏\s*\d+)\s*\S+$")
ELLIPSIS = "……"


class Entry(StrictModel):
    """One rule question and its answer (field meanings in config/knowledge/README.md)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    article: str
    source: Literal["measures", "action_plan"] = "measures"
    quote: str = Field(min_length=2)
    answer: str = Field(min_length=4, max_length=220)
    ask: tuple[str, ...] = Field(min_length=2)
    keywords: tuple[str, ...] = ()
    kind: Literal["rule", "term"] = "rule"
    eligibility: bool = False
    personal: str | None = None
    offer: str | None = None
    # The entry that sums its article up: the answer to "第十七条说的啥".
    overview: bool = False

    @field_validator("answer")
    @classmethod
    def _short(cls, v: str) -> str:
        sentences = [s for s in re.split(r"[。！？]", v) if s.strip()]
        if len(sentences) > 3:
            raise ValueError("an answer is one to three sentences")
        return v

    @model_validator(mode="after")
    def _article_shape(self) -> Entry:
        pattern = ARTICLE if self.source == "measures" else _PLAN_SECTION
        if not pattern.match(self.article):
            raise ValueError(
                f"{self.id}: article {self.article!r} does not look like a {self.source} article"
            )
        return self

    @property
    def base_article(self) -> str:
        """第十四条 of 第十四条（四）; the section itself for the action plan."""
        m = ARTICLE.match(self.article)
        return m.group(1) if m else self.article

    @property
    def clause(self) -> str:
        m = ARTICLE.match(self.article)
        return m.group(2) if m else ""


class _EntryFile(StrictModel):
    entries: tuple[Entry, ...]


class KnowledgeBase:
    """All entries, in file order, with their ids unique."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = tuple(entries)
        self.by_id: dict[str, Entry] = {}
        for e in entries:
            if e.id in self.by_id:
                raise ValueError(f"knowledge entry id {e.id!r} is used twice")
            self.by_id[e.id] = e

    @classmethod
    def load(cls, directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
        entries: list[Entry] = []
        for path in sorted((directory / "entries").glob("*.yaml")):
            try:
                entries.extend(load_yaml(_EntryFile, path).entries)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from exc
        if not entries:
            raise ValueError(f"{directory}/entries holds no knowledge entries")
        return cls(entries)

    def __len__(self) -> int:
        return len(self.entries)


# --- the law text, for checking quotes ------------------------------------------

# Page furniture of the gazette scan ("—７２—") that falls inside sentences.
_PAGE_MARK = re.compile(r"—\s*\d+\s*—")
_NOT_WORD = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")
_ARTICLE_START = re.compile(rf"^\s*(第[{_NUM}]+条)[\s　]", re.MULTILINE)
_CLAUSE_START = re.compile(rf"[（(]([{_NUM}]+)[）)]")


def normalise(text: str) -> str:
    """Letters, digits and Han characters only: the quote and the scan differ in punctuation and width."""
    text = _PAGE_MARK.sub("", unicodedata.normalize("NFKC", text))
    return _NOT_WORD.sub("", text)


class LawText:
    """The articles of the Measures and the sections of the action plan, from the copies in sources/."""

    def __init__(self, directory: Path = KNOWLEDGE_DIR / "sources") -> None:
        self._directory = directory

    @cached_property
    def articles(self) -> dict[str, str]:
        """第N条 → its raw text (the heading included), from the Measures."""
        text = (self._directory / "measures.txt").read_text(encoding="utf-8")
        start = text.index("第一章")
        end = text.index("附件", start)
        body = text[start:end]
        marks = list(_ARTICLE_START.finditer(body))
        out: dict[str, str] = {}
        for m, nxt in zip(marks, [*marks[1:], None], strict=True):
            out.setdefault(m.group(1), body[m.start() : nxt.start() if nxt else len(body)])
        return out

    @cached_property
    def plan_sections(self) -> dict[str, str]:
        """Section heading (normalised) → the section's text, from the action plan."""
        lines = (self._directory / "action_plan.txt").read_text(encoding="utf-8").splitlines()
        out: dict[str, str] = {}
        current: str | None = None
        for line in lines:
            if line.startswith("#"):
                current = normalise(line)
                out.setdefault(current, "")
            elif current is not None:
                out[current] += line
        return out

    def scope(self, source: str, article: str) -> str | None:
        """The normalised text an `article` reference covers; None when there is no such article."""
        if source == "action_plan":
            return next(
                (normalise(v) for k, v in self.plan_sections.items() if k == normalise(article)), None
            )
        m = ARTICLE.match(article)
        if m is None or m.group(1) not in self.articles:
            return None
        text = self.articles[m.group(1)]
        for clause in re.findall(rf"（([{_NUM}]+)）", m.group(2)):
            text = _clause_text(text, clause)
            if not text:
                return None
        return normalise(text)

    def quote_stands(self, source: str, article: str, quote: str) -> bool:
        """Every piece of `quote` (split at ……) is in that article, in order."""
        scope = self.scope(source, article)
        if scope is None:
            return False
        pos = 0
        for piece in (normalise(p) for p in quote.split(ELLIPSIS)):
            if not piece:
                continue
            found = scope.find(piece, pos)
            if found < 0:
                return False
            pos = found + len(piece)
        return True


def _clause_text(text: str, numeral: str) -> str:
    """The item （numeral） of an article: from its marker to the next item's marker."""
    marks = list(_CLAUSE_START.finditer(text))
    for i, m in enumerate(marks):
        if m.group(1) == numeral:
            end = len(text)
            for later in marks[i + 1 :]:
                if later.group(1) != numeral:
                    end = later.start()
                    break
            return text[m.start() : end]
    return ""


def check_quotes(kb: KnowledgeBase, law: LawText | None = None) -> list[str]:
    """Entries whose quote does not stand in the article they cite ("id: article" each)."""
    law = law or LawText()
    return [f"{e.id}: {e.article}" for e in kb.entries if not law.quote_stands(e.source, e.article, e.quote)]
