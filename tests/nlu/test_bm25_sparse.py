"""The knowledge search's scores are rank-bm25's own, however its postings are built.

SparseBm25 precomputes each term's contribution per document (built with whole-array
arithmetic at start-up, issue 17); a question's ranking must be exactly what
`BM25Okapi.get_scores` gives, or answers would change with a speed-up.
"""

from __future__ import annotations

import random

import numpy as np
from rank_bm25 import BM25Okapi

from nlu import NLU
from nlu.bm25_sparse import SparseBm25


def _same_scores(bm25: BM25Okapi, queries: list[list[str]]) -> None:
    sparse = SparseBm25(bm25)
    for query in queries:
        expected = bm25.get_scores(query)
        got = sparse.get_scores(query)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        assert np.argmax(got) == np.argmax(expected) or expected.max() == 0


def test_the_knowledge_base_scores_as_rank_bm25_scores_it(nlu: NLU) -> None:
    bm25 = nlu.policy._bm25
    docs = nlu.policy._doc_terms
    rng = random.Random(17)
    vocabulary = sorted({t for d in docs for t in d})
    queries = [list(d) for d in rng.sample(docs, 200)]
    queries += [rng.sample(vocabulary, rng.randint(1, 6)) for _ in range(200)]
    queries += [[t, t] for t in rng.sample(vocabulary, 20)]  # a repeated term counts twice
    queries += [["没有这个词"], []]
    _same_scores(bm25, queries)


def test_a_small_corpus_with_repeats_and_shared_terms() -> None:
    corpus = [["补贴", "补贴", "标准"], ["签到", "补贴"], ["出勤", "率", "签到", "签到"], ["材料"]]
    _same_scores(BM25Okapi(corpus), [["补贴"], ["签到", "材料"], ["补贴", "补贴"], ["率"], ["无"]])
