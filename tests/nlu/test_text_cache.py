"""What the bot remembers of repeated short messages (nlu.text_cache): only texts that
cannot carry an ID or phone number, the least recently used leaving first, and the
remembered answer the same as a fresh one."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import NLU
from nlu.text_cache import CACHED_TEXT_MAX, TextCache, cacheable


@pytest.mark.parametrize("text", ["签到", "你好", "补贴标准是多少", "我能参加补贴培训吗", "五月份的课"])
def test_the_same_few_words_of_the_morning_are_kept(text: str) -> None:
    assert cacheable(text)


@pytest.mark.parametrize(
    "text",
    [
        "22010119900101123X",  # an ID number
        "我电话13812345678",
        "手机１３８１２３４５６７８",  # full-width digits
        "第①个",  # circled digits: str.isdigit, not \d
        "我" * (CACHED_TEXT_MAX + 1),  # a long personal message
    ],
)
def test_nothing_that_can_carry_a_number_or_a_story_is_kept(text: str) -> None:
    assert not cacheable(text)


def test_the_least_recently_used_leaves_first_and_none_is_a_value() -> None:
    cache: TextCache[str, str | None] = TextCache(2)
    cache.keep("签到", "a")
    cache.keep("你好", None)
    assert cache.lookup("签到") == (True, "a")  # now the most recent
    cache.keep("菜单", "c")
    assert cache.lookup("你好") == (False, None)  # the least recently used went
    assert cache.lookup("签到") == (True, "a") and cache.lookup("菜单") == (True, "c")
    cache.keep("谢谢", None)
    assert cache.lookup("谢谢") == (True, None)


def test_a_remembered_answer_is_the_answer_a_fresh_model_gives(nlu: NLU, nlu_cache_dir: Path) -> None:
    fresh = NLU.load(nlu_cache_dir)
    for question in ["补贴标准是多少", "线上培训算不算", "出勤不到七成 还给钱不"]:
        first = nlu.answer_question(question)
        again = nlu.answer_question(question)
        assert first is not None and again == first
        assert fresh.answer_question(question) == first


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("签到！", "签到"),
        (" 签 到 ", "签到"),
        ("签到。。", "签到"),
        ("ＯＫ，好的", "ok好的"),  # full-width letters and comma
        ("2026—12—25", "20261225"),  # the dashes some keyboards put in dates
        ("身份证２２０１０１１９９００１０１１２３Ｘ", "身份证22010119900101123x"),
    ],
)
def test_compacting_a_message_twice_reads_it_the_same_and_keeps_no_number(text: str, said: str) -> None:
    from nlu import text as normalise

    assert normalise.compact(text) == said
    assert normalise.compact(text) == said  # the second time from the memory
    assert normalise.for_matching(text) == normalise.for_matching(text) and len(
        normalise.for_matching(text)
    ) == len(text)
    kept = set(normalise._COMPACTED)
    assert all(not any(ch.isdigit() for ch in t) and len(t) <= CACHED_TEXT_MAX for t in kept)
    assert (text in kept) == cacheable(text)
