"""Answering free policy questions from the articles, or admitting we cannot.

Passages (a few sentences of an article, `config/nlu/articles.yaml`) are
segmented with jieba (search mode, so 退役军人 also matches 退役) and ranked
with BM25 against the question. Each passage's `keywords` (the words people
use: 网课 for 线上培训) are indexed with it.

The BM25 score is unbounded, so for the "do we know?" decision it is divided
by the best score the question could reach (every informative question word
matched with saturated frequency). That ratio says how much of what was asked
the passage actually covers; a question about the weather covers nothing and
gets None, and the caller offers a person instead of a wrong answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from nlu.config import ArticleFile, RetrievalParams
from nlu.text import compact
from nlu.tokenizer import Tokenizer
from nlu.types import PolicyAnswer

_SENTENCE = re.compile(r"(?<=[。；！？])")
# Amounts say nothing about which article answers a question (the text writes
# 70%, people write 百分之七十), so numeral tokens are not search terms.
_NUMERAL_TOKEN = re.compile(r"^(?:百分之?|[零〇一二两三四五六七八九十百千万\d.%]+)+$")


@dataclass(frozen=True, slots=True)
class _Doc:
    article: str
    source: str
    text: str
    tf: Counter[str]
    length: int


class PolicyIndex:
    def __init__(
        self,
        articles: ArticleFile,
        tokenizer: Tokenizer,
        params: RetrievalParams,
        stopwords: tuple[str, ...],
        doc_terms: list[list[str]] | None = None,
    ) -> None:
        """`doc_terms` (from `passage_terms`, cached by the caller) skips segmenting the articles."""
        self._tokenizer = tokenizer
        self._params = params
        self._stop = frozenset(stopwords)
        passages = [(art, p) for art in articles.articles for p in art.passages]
        if doc_terms is None or len(doc_terms) != len(passages):
            doc_terms = self.passage_terms(articles)
        docs: list[_Doc] = []
        for (art, passage), terms in zip(passages, doc_terms, strict=True):
            docs.append(_Doc(art.id, articles.sources[art.source], passage.text, Counter(terms), len(terms)))
        self._docs = docs
        self._avg_len = sum(d.length for d in docs) / len(docs)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.tf.keys())
        n = len(docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self._idf_unseen = math.log(1 + (n + 0.5) / 0.5)
        self._postings: dict[str, list[int]] = {}
        for i, d in enumerate(docs):
            for t in d.tf:
                self._postings.setdefault(t, []).append(i)

    def passage_terms(self, articles: ArticleFile) -> list[list[str]]:
        """The indexed terms of every passage, in file order."""
        out = []
        for art in articles.articles:
            for passage in art.passages:
                # The article title is not indexed: shared by every passage of
                # the article, it would make the shortest passage win.
                terms = self.terms(passage.text)
                for keyword in passage.keywords:
                    # Each keyword on its own (joined they would run together
                    # once punctuation is dropped), and whole as well as cut.
                    terms += sorted({*self.terms(keyword), compact(keyword)} - self._stop)
                out.append(terms)
        return out

    def terms(self, text: str) -> list[str]:
        """Search terms of a text: jieba words and sub-words, minus function words."""
        words = self._tokenizer.cut_for_search(compact(text))
        return [w for w in words if w not in self._stop and not _NUMERAL_TOKEN.match(w)]

    def _bm25(self, doc: _Doc, query: Counter[str]) -> float:
        k1, b = self._params.bm25_k1, self._params.bm25_b
        norm = k1 * (1 - b + b * doc.length / self._avg_len)
        score = 0.0
        for term in query:
            tf = doc.tf.get(term, 0)
            if tf:
                score += self._idf[term] * tf * (k1 + 1) / (tf + norm)
        return score

    def search(self, text: str) -> tuple[float, _Doc | None]:
        """The best passage and its coverage ratio (0..1)."""
        query = Counter(self.terms(text))
        if not query:
            return 0.0, None
        candidates = {i for t in query for i in self._postings.get(t, ())}
        if not candidates:
            return 0.0, None
        k1 = self._params.bm25_k1
        ceiling = sum(self._idf.get(t, self._idf_unseen) * (k1 + 1) for t in query)
        best_i = max(sorted(candidates), key=lambda i: self._bm25(self._docs[i], query))
        best = self._docs[best_i]
        return self._bm25(best, query) / ceiling, best

    def answer(self, text: str) -> PolicyAnswer | None:
        score, doc = self.search(text)
        if doc is None or score < self._params.min_score:
            return None
        return PolicyAnswer(self._excerpt(doc.text, text), doc.article, doc.source, round(score, 4))

    def _excerpt(self, passage: str, question: str) -> str:
        """The passage, or the sentences of it around the best-matching one when it is long."""
        limit = self._params.max_answer_chars
        if len(passage) <= limit:
            return passage
        sentences = [s for s in _SENTENCE.split(passage) if s]
        query = set(self.terms(question))

        def overlap(s: str) -> float:
            return sum(self._idf.get(t, 0.0) for t in set(self.terms(s)) & query)

        start = max(range(len(sentences)), key=lambda i: (overlap(sentences[i]), -i))
        excerpt = sentences[start]
        for s in sentences[start + 1 :]:
            if len(excerpt) + len(s) > limit:
                break
            excerpt += s
        if len(excerpt) > limit:
            excerpt = excerpt[: limit - 1] + "…"
        return excerpt
