"""Finding the knowledge-base entry that answers a rule question, or admitting we cannot.

Every phrasing, answer and quote of `config/knowledge/` is one BM25 document
(rank-bm25's Okapi BM25) over jieba search-mode words plus Han character
bigrams: words carry meaning, bigrams survive segmentation that differs
between a question and a phrasing (打到哪张卡 / 打到哪). An entry's score is
its best document's.

BM25 ranks but is unbounded, so whether we know is decided by *coverage*:
the share of the question's IDF weight that the best document contains. A
question about the weather shares no informative term with the Measures and
covers nothing; the caller then says honestly that it does not know and
offers a person. The threshold is data (`config/knowledge/retrieval.yaml`),
chosen with `python -m nlu evaluate-rules`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydantic import Field
from rank_bm25 import BM25Okapi

from bot.config_file import StrictModel, load_yaml
from nlu.articles import ARTICLE_MENTION, mentioned_articles
from nlu.bm25_sparse import SparseBm25
from nlu.focus import focus_parts
from nlu.knowledge import KNOWLEDGE_DIR, SOURCE_SHORT, SOURCES, Entry, KnowledgeBase
from nlu.text import HAN, compact
from nlu.tokenizer import Tokenizer
from nlu.types import PolicyAnswer

# Amounts say nothing about which entry answers a question (the text writes
# 70%, people write 百分之七十), so numeral tokens are not search terms; nor is a
# rough one (四十多, 二十来): an age under sixty is no question about retirement.
_NUMERAL_TOKEN = re.compile(r"^(?:百分之?|[零〇一二两三四五六七八九十百千万\d.%]+)+[多来几]?$")
_HAN_RUN = re.compile(f"[{HAN}]+")
# A share, however written (70%, ７０％, 百分之七十, 七成, 八成半): the amount says
# nothing about which entry answers, but *that* the question is about a share
# does (出勤八成 → the attendance rule), so every share becomes this one term.
_SHARE = re.compile(
    r"\d+(?:\.\d+)?\s*[%％]"  # 70%, ７０％
    r"|百分之[零〇一二两三四五六七八九十百几]+"  # 百分之七十, 百分之几
    r"|[一二三四五六七八九几]成半?"  # 七成, 八成半, 几成
    r"|[一二三四五六七八九十几\d]+来?个点"  # 八十来个点 (percentage points, spoken)
)
SHARE_TERM = "%share"
# So is a span of years (两年, 三年, 几年; not a year such as 2024年): 毕业三年 asks
# about the rule of 离校两年, whatever the number.
_YEARS = re.compile(r"(?<![\d年])(?:[一二两三四五六七八九十几]+|\d)年")
YEARS_TERM = "%years"
# A spoken age past sixty (六十五了, 63岁, 七十多) asks, in the Measures' words, about the
# 法定退休年龄 rule: the number itself is in no entry.
_OLD_AGE = re.compile(r"(?:[六七八]十[一二三四五六七八九]?|(?<!\d)[6-8]\d)(?:岁|了|多|出头|来岁)")
OLD_AGE_TERMS = ("退休", "年龄")


class Bm25Params(StrictModel):
    k1: float = Field(gt=0)
    b: float = Field(ge=0, le=1)


class Preference(StrictModel):
    entry: str
    markers: tuple[str, ...] = Field(min_length=1)


class RetrievalConfig(StrictModel):
    bm25: Bm25Params
    min_coverage: float = Field(ge=0, le=1)
    min_coverage_out_of_scope: float = Field(ge=0, le=1)
    min_coverage_agreeing: float = Field(default=1.0, ge=0, le=1)
    answer_weight: float = Field(gt=0, le=1)
    min_query_idf: float = Field(ge=0)
    tie_max_query_idf: float = Field(default=0.0, ge=0)
    rerank_top: int = Field(default=8, ge=1)
    coverage_power: float = Field(default=1.0, ge=0)
    unseen_weight: float = Field(default=1.0, ge=0, le=1)
    strong_match_idf: float = Field(default=float("inf"), gt=0)
    strong_match_min_coverage: float = Field(default=1.0, ge=0, le=1)
    source_weight: dict[str, float] = Field(default_factory=dict)
    phrases: dict[str, str] = Field(default_factory=dict)
    synonyms: dict[str, str] = Field(default_factory=dict)
    fillers: tuple[str, ...] = ()
    question_kinds: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    prefer: tuple[Preference, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """The best entry for a question, how much of the question it covers, and the runner-up."""

    entry: Entry
    coverage: float
    score: float
    runner_up: Entry | None = None
    # The IDF of the question's words (not bigrams) the entry contains: how much it matched.
    matched_idf: float = 0.0


class KnowledgeIndex:
    def __init__(
        self,
        kb: KnowledgeBase,
        tokenizer: Tokenizer,
        stopwords: tuple[str, ...],
        config: RetrievalConfig,
        doc_terms: list[list[str]] | None = None,
    ) -> None:
        """`doc_terms` (from `document_terms`, cached by the caller) skips segmenting the entries."""
        self.kb = kb
        self.config = config
        self._tokenizer = tokenizer
        self._stop = frozenset(stopwords)
        self._fillers = frozenset(compact(w) for w in config.fillers)
        self._kinds = [
            ("%ask:" + k, tuple(compact(m) for m in ms)) for k, ms in config.question_kinds.items()
        ]
        # Longest first, so 掏钱 is rewritten before 钱 would be.
        self._phrases = sorted(
            ((compact(k), compact(v)) for k, v in config.phrases.items()), key=lambda kv: -len(kv[0])
        )
        self._synonyms = {compact(k): v for k, v in config.synonyms.items()}
        self._synonym_terms = {k: self._cut(v) for k, v in self._synonyms.items()}
        texts, owners, weights = self._documents()
        if doc_terms is None or len(doc_terms) != len(texts):
            doc_terms = [self.terms(t) for t in texts]
        docs = doc_terms
        # What an entry covers: the terms of all its documents together.
        self._entry_terms: list[set[str]] = [set() for _ in kb.entries]
        for owner, d in zip(owners, docs, strict=True):
            self._entry_terms[owner].update(d)
        self._owners = np.array(owners)
        self._weights = np.array(weights)
        # An action-plan section may mention what an article of the Measures decides
        # (退役军人): the article answers unless the plan matches clearly better.
        self._entry_weights = np.array([config.source_weight.get(e.source, 1.0) for e in kb.entries])
        self._doc_terms = docs
        self._bm25 = BM25Okapi(docs, k1=config.bm25.k1, b=config.bm25.b)
        self._scorer = SparseBm25(self._bm25)
        # Each entry's documents are contiguous (`_documents`): where each entry's run starts.
        self._entry_starts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
        self._prefer: list[tuple[tuple[str, ...], Entry]] = []
        for pref in config.prefer:
            if pref.entry not in kb.by_id:
                raise ValueError(f"retrieval.yaml: prefer names unknown entry {pref.entry!r}")
            self._prefer.append((tuple(compact(m) for m in pref.markers), kb.by_id[pref.entry]))
        # An article named in a question without anything else ("第十七条说的啥")
        # gets its overview entry, else its first entry in file order.
        self._article_entries: dict[str, list[int]] = {}
        for i, e in enumerate(kb.entries):
            if e.source == "measures":
                self._article_entries.setdefault(e.base_article, []).append(i)
        self._overview: dict[str, int] = {}
        for base, ids in self._article_entries.items():
            flagged = [i for i in ids if kb.entries[i].overview]
            self._overview[base] = flagged[0] if flagged else ids[0]
        n = len(docs)
        # The IDF a term never seen in any document would have: the most informative.
        self._idf_unseen = math.log((n + 0.5) / 0.5)

    @classmethod
    def load(
        cls,
        tokenizer: Tokenizer,
        stopwords: tuple[str, ...],
        directory: Path = KNOWLEDGE_DIR,
        doc_terms: list[list[str]] | None = None,
    ) -> KnowledgeIndex:
        config = load_yaml(RetrievalConfig, directory / "retrieval.yaml")
        return cls(KnowledgeBase.load(directory), tokenizer, stopwords, config, doc_terms)

    def _documents(self) -> tuple[list[str], list[int], list[float]]:
        """Every document's text, owning entry and weight, in a fixed order."""
        texts: list[str] = []
        owners: list[int] = []
        weights: list[float] = []
        for i, entry in enumerate(self.kb.entries):
            for text in (*entry.ask, *entry.keywords):
                texts.append(text)
                owners.append(i)
                weights.append(1.0)
            for text in (entry.answer, entry.quote):
                texts.append(text)
                owners.append(i)
                weights.append(self.config.answer_weight)
        return texts, owners, weights

    def document_terms(self) -> list[list[str]]:
        """The indexed terms of every document, in order (what the caller may cache)."""
        return self._doc_terms

    # ----------------------------------------------------------------- terms
    def _cut(self, text: str) -> list[str]:
        return [
            w
            for w in self._tokenizer.cut_for_search(text)
            if w not in self._stop and w not in self._fillers and not _NUMERAL_TOKEN.match(w)
        ]

    def rewrite(self, text: str) -> str:
        """The text in the Measures' words: phrases people say (掏钱, 帮我申请) replaced, compacted."""
        t = compact(_YEARS.sub("", _SHARE.sub("", text)))
        for said, written in self._phrases:
            if said in t:
                t = t.replace(said, written)
        return t

    def terms(self, text: str) -> list[str]:
        """Search terms: jieba words (people's words mapped to the Measures') and Han bigrams."""
        t = self.rewrite(text)
        words: list[str] = [SHARE_TERM] if _SHARE.search(text) else []
        if _YEARS.search(text):
            words.append(YEARS_TERM)
        if _OLD_AGE.search(text):
            words.extend(OLD_AGE_TERMS)
        raw = compact(text)
        words.extend(kind for kind, markers in self._kinds if any(m in raw for m in markers))
        for w in self._cut(t):
            words.extend(self._synonym_terms.get(w, (w,)))
        stripped = "".join(
            w for w in self._tokenizer.cut(t) if w not in self._stop and w not in self._fillers
        )
        bigrams = ["#" + run[i : i + 2] for run in _HAN_RUN.findall(stripped) for i in range(len(run) - 1)]
        return words + bigrams

    def _idf(self, term: str) -> float:
        return float(self._bm25.idf.get(term, self._idf_unseen))

    def _cover_weight(self, term: str) -> float:
        """A term's share in coverage: its IDF, less for a term no entry has ever used.

        An unseen term (瞅着, a bigram across two words such as 着网) can be
        covered by no entry, so at full weight it would push every answer below
        the threshold; it still counts a little, so a question made mostly of
        words we have never seen (the weather) stays unanswered.
        """
        if term in self._bm25.idf:
            return float(self._bm25.idf[term])
        return self._idf_unseen * self.config.unseen_weight

    # ---------------------------------------------------------------- search
    def search(self, text: str) -> Match | None:
        """The best entry and its coverage; None when the question shares no term with any entry."""
        named = [a for a in mentioned_articles(text) if a in self._article_entries]
        if named:
            return self._search_articles(ARTICLE_MENTION.sub(" ", text), named)
        query = list(dict.fromkeys(self.terms(text)))
        if sum(self._idf(t) for t in query if not t.startswith("#")) < self.config.min_query_idf:
            return None  # "补贴到哪了" says only 补贴: too little to pick an answer by
        per_entry = self._entry_scores(query)
        total = sum(self._cover_weight(t) for t in query)
        # BM25 favours the shortest phrasing sharing a word or two; among the best few, the entry
        # covering more of the question (all its phrasings, answer and quote) is the better answer.
        candidates = [int(e) for e in np.argsort(-per_entry, kind="stable")[: self.config.rerank_top]]
        candidates = [e for e in candidates if per_entry[e] > 0]
        if not candidates or total <= 0:
            return None
        cover = {e: self._coverage(query, e, total) for e in candidates}
        power = self.config.coverage_power
        rank = {e: per_entry[e] * cover[e] ** power for e in candidates}
        ranked = sorted(candidates, key=lambda e: -rank[e])
        top, entry = ranked[0], self.kb.entries[ranked[0]]
        runner = self.kb.entries[ranked[1]] if len(ranked) > 1 else None
        # "能参加吗": a word or two that rules of several articles share alike asks for none of them.
        tied = (
            runner is not None
            and runner.article != entry.article
            and rank[ranked[1]] >= rank[top] * (1 - 1e-9)
        )
        if tied and self._informative_idf(query) < self.config.tie_max_query_idf:
            return None
        matched = self._informative_idf(query, self._entry_terms[top])
        return Match(entry, cover[top], float(per_entry[top]), runner, matched)

    def _entry_scores(self, query: list[str]) -> np.ndarray:
        """Each entry's best document score for the query (document and entry weights applied)."""
        scores = self._scorer.get_scores(query) * self._weights
        return np.maximum.reduceat(scores, self._entry_starts) * self._entry_weights

    def _coverage(self, query: list[str], entry: int, total: float) -> float:
        """The share of the question's weight the entry's terms cover."""
        return sum(self._cover_weight(t) for t in query if t in self._entry_terms[entry]) / total

    def _informative_idf(self, query: list[str], within: Container[str] | None = None) -> float:
        """The IDF of the question's known words (no bigrams, no question kinds), in `within` if given."""
        return sum(
            self._idf(t)
            for t in query
            if t in self._bm25.idf and not t.startswith(("#", "%ask:")) and (within is None or t in within)
        )

    def _search_articles(self, rest: str, named: list[str]) -> Match:
        """A question naming its article: the entry of that article the rest of it matches best.

        Naming the article is the surest sign of a rule question there is, so
        the match counts as fully covered: the article's own overview answers
        when the rest says nothing more ("第十七条说的啥").
        """
        allowed = [i for a in named for i in self._article_entries[a]]
        query = list(dict.fromkeys(self.terms(rest)))
        best: int | None = None
        if query:
            per_entry = self._entry_scores(query)
            total = sum(self._cover_weight(t) for t in query) or 1.0
            power = self.config.coverage_power
            ranked = sorted(
                (i for i in allowed if per_entry[i] > 0),
                key=lambda i: -per_entry[i] * self._coverage(query, i, total) ** power,
            )
            # Only the kind of question ("说的啥") matched: the overview says it better.
            if ranked and self._informative_idf(query) >= self.config.min_query_idf:
                best = ranked[0]
        if best is None:
            best = self._overview[named[0]]
        return Match(self.kb.entries[best], 1.0, 1.0, None, float("inf"))

    def threshold(self, out_of_scope: bool) -> float:
        """The coverage needed: higher when the intent classifier, too, sees nothing of ours."""
        return self.config.min_coverage_out_of_scope if out_of_scope else self.config.min_coverage

    def preferred(self, text: str) -> Entry | None:
        """The entry a marker of `prefer` pins the question to (an amount question → 第十八条)."""
        t = compact(text)
        return next((entry for markers, entry in self._prefer if any(m in t for m in markers)), None)

    def answer(
        self, text: str, out_of_scope: bool = False, intent: str | None = None, need: float | None = None
    ) -> PolicyAnswer | None:
        """The entry's answer when the match is good enough to say; None means "we do not know".

        When the intent classifier reads the message as the entry's own topic
        (its `personal` or `offer` intent: "结业后多长时间内得申请补贴" is
        claim_status, and so is the entry), two independent readings agree and
        a lower coverage is enough.
        """
        match = self.search(text)
        # A share names its rule ("出勤八成给多少"): the attendance rule, not "amounts are local".
        pinned = None if _SHARE.search(text) else self.preferred(text)
        if pinned is not None and match is not None and not out_of_scope:
            return to_answer(Match(pinned, match.coverage, match.score, match.entry))
        need = self.threshold(out_of_scope) if need is None else need
        if match is not None and self._passes(match, need, intent):
            return to_answer(match)
        # The whole message is covered too little: its asking clause may be covered well.
        found = (self.search(part) for part in focus_parts(text))
        parts = [m for m in found if m is not None and self._passes(m, need, intent)]
        if not parts:
            return None
        return replace(to_answer(max(parts, key=lambda m: m.coverage)), focused=True)

    def _passes(self, match: Match, need: float, intent: str | None) -> bool:
        """Covered enough; less is enough when the classifier reads the entry's own topic."""
        if intent is not None and intent in (match.entry.personal, match.entry.offer):
            need = min(need, self.config.min_coverage_agreeing)
        return match.coverage >= need or self.strong(match)

    def strong(self, match: Match) -> bool:
        """Whether the entry shares enough specific words with the question to answer at a lower coverage.

        Coverage falls when a question is long and chatty ("一个补贴班最多能招多少人
        俺们想招七八十个"): its chatter is covered by nothing. A question the
        Measures do not answer ("培训期间包吃住吗") shares a word or two with an
        entry; one they answer shares several specific ones (班, 最多, 招收, 人).
        """
        cfg = self.config
        return match.coverage >= cfg.strong_match_min_coverage and match.matched_idf >= cfg.strong_match_idf


def to_answer(match: Match) -> PolicyAnswer:
    e = match.entry
    return PolicyAnswer(
        text=e.answer,
        article=e.article,
        source=SOURCE_SHORT[e.source],
        score=round(match.coverage, 4),
        entry_id=e.id,
        quote=e.quote,
        source_title=SOURCES[e.source],
        eligibility=e.eligibility,
        personal=e.personal,
        offer=e.offer,
        kind=e.kind,
    )
