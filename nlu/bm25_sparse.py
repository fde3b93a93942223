"""rank-bm25's Okapi scores, computed from per-term postings instead of a pass over every document.

`BM25Okapi.get_scores` builds, for each query term, a Python list over the
whole corpus (every phrasing, answer and quote of the knowledge base): a rule
question cost several milliseconds of a chat turn's CPU that way (issue 17). A
term occurs in a few documents only, so its contribution is precomputed once per
document it occurs in; a query adds up the postings of its terms. The figures
are rank-bm25's own (its idf, k1, b and length normalisation), so the ranking is
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rank_bm25 import BM25Okapi


class SparseBm25:
    def __init__(self, bm25: BM25Okapi) -> None:
        # Built with whole-array arithmetic: a Python loop over every (document, term) pair
        # and two small arrays per term took about 70 ms of each start (issue 17).
        self.size = bm25.corpus_size
        terms: list[str] = []
        tfs: list[int] = []
        lengths: list[int] = []
        for freqs in bm25.doc_freqs:
            terms.extend(freqs)
            tfs.extend(freqs.values())
            lengths.append(len(freqs))
        ids = {t: i for i, t in enumerate(dict.fromkeys(terms))}
        term_ids = np.array(list(map(ids.__getitem__, terms)), dtype=np.intp)
        docs = np.repeat(np.arange(self.size, dtype=np.intp), lengths)
        doc_len = np.asarray(bm25.doc_len, dtype=float)
        norm = bm25.k1 * (1 - bm25.b + bm25.b * doc_len / bm25.avgdl)
        tf = np.asarray(tfs, dtype=float)
        idf = np.array([bm25.idf.get(t) or 0.0 for t in ids])
        values = tf * (bm25.k1 + 1) / (tf + norm[docs]) * idf[term_ids]
        # Grouped by term; the stable sort keeps each term's documents in ascending order.
        order = np.argsort(term_ids, kind="stable")
        ends = np.cumsum(np.bincount(term_ids, minlength=len(ids))).tolist()
        docs, values = docs[order], values[order]
        self._postings = {
            t: (docs[a:b], values[a:b]) for t, a, b in zip(ids, [0, *ends][:-1], ends, strict=True)
        }

    def get_scores(self, query: Iterable[str]) -> np.ndarray:
        """The same array `BM25Okapi.get_scores` returns; a repeated term counts each time, as there."""
        score = np.zeros(self.size)
        for term in query:
            posting = self._postings.get(term)
            if posting is not None:  # a term's documents are distinct: plain fancy-index addition
                score[posting[0]] += posting[1]
        return score
