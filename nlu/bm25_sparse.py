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
        self.size = bm25.corpus_size
        doc_len = np.asarray(bm25.doc_len, dtype=float)
        norm = bm25.k1 * (1 - bm25.b + bm25.b * doc_len / bm25.avgdl)
        rows: dict[str, tuple[list[int], list[float]]] = {}
        for d, freqs in enumerate(bm25.doc_freqs):
            for term, tf in freqs.items():
                docs, values = rows.setdefault(term, ([], []))
                docs.append(d)
                values.append(tf * (bm25.k1 + 1) / (tf + norm[d]))
        idf = bm25.idf
        self._postings = {
            term: (np.asarray(docs, dtype=np.intp), np.asarray(values) * (idf.get(term) or 0.0))
            for term, (docs, values) in rows.items()
        }

    def get_scores(self, query: Iterable[str]) -> np.ndarray:
        """The same array `BM25Okapi.get_scores` returns; a repeated term counts each time, as there."""
        score = np.zeros(self.size)
        for term in query:
            posting = self._postings.get(term)
            if posting is not None:  # a term's documents are distinct: plain fancy-index addition
                score[posting[0]] += posting[1]
        return score
