"""The knowledge search scores from postings exactly as rank-bm25 scores the whole corpus."""

from __future__ import annotations

import numpy as np
import pytest

from nlu import NLU

QUESTIONS = [
    "补贴多久到账",
    "开班申请交上去人社局几天能审完",
    "俺家小子初中毕业不念了能学技术不",
    "今天天气怎么样",
    "",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_postings_give_rank_bm25s_scores(nlu_model: NLU, question: str) -> None:
    index = nlu_model.policy
    query = index.terms(question)
    np.testing.assert_allclose(index._scorer.get_scores(query), index._bm25.get_scores(query), rtol=1e-12)
