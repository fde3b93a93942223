"""The knowledge index's segmented documents are cached, and a broken cache is only ignored."""

from __future__ import annotations

from pathlib import Path

from nlu import NLU


def test_cached_index_answers_like_a_fresh_one_and_survives_a_broken_cache(tmp_path: Path) -> None:
    fresh = NLU.load(tmp_path)
    [cached_file] = tmp_path.glob("knowledge-index-*.json")
    again = NLU.load(tmp_path)
    for q in ("补贴多久到账", "两后生是啥意思", "一个班最多多少人"):
        a, b = fresh.answer_question(q), again.answer_question(q)
        assert a is not None and b is not None and (a.entry_id, a.score) == (b.entry_id, b.score)
    cached_file.write_text("{not json", encoding="utf-8")
    broken = NLU.load(tmp_path)
    answer = broken.answer_question("补贴多久到账")
    assert answer is not None and answer.article == "第十七条"
