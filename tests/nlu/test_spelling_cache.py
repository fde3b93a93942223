"""Pinyin and typo repair read the same after a warm start as after a cold one.

A warm start reads the words' readings from the NLU cache and the characters'
readings from pypinyin's table, without importing pypinyin (its phrase
dictionary was a quarter of a second of every start). What must not change:
银行 is still yin-hang (a phrase reading, not the character's first one), every
character reads as pypinyin reads it, and a damaged cache file costs a rebuild,
never a wrong answer.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pypinyin import lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal

from nlu import NLU
from nlu.spelling import _char_pinyin, _char_table, _toneless
from nlu.text import HAN

ROOT = Path(__file__).resolve().parents[2]
PROBES = ["yinhangka", "wo yao qian dao", "kaoqin怎么查"]


TYPOS = ["取销报名", "出琴率"]


def _spelling_of(n: NLU) -> list[str]:
    spelling = n.understanding.spelling
    return [spelling.transliterate(t) for t in PROBES] + [spelling.correct(t) for t in TYPOS]


def test_every_character_reads_as_pypinyin_reads_it() -> None:
    han = re.compile(f"[{HAN}]")
    checked = 0
    for code, readings in _char_table().items():
        ch = chr(int(code))
        for reading in readings.split(","):
            assert _toneless(reading) == to_normal(reading).replace("ü", "v"), reading
        if han.fullmatch(ch):
            assert _char_pinyin(ch) == lazy_pinyin(ch, errors="ignore")[0], ch
            checked += 1
    assert checked > 20_000
    assert _char_pinyin("绿") == "lv" and _char_pinyin("a") == ""


def test_warm_start_reads_phrase_readings_without_pypinyin(nlu: NLU, nlu_cache_dir: Path) -> None:
    assert any(p.name.startswith("spelling-readings-") for p in nlu_cache_dir.iterdir())
    script = (
        "import json, sys\n"
        "from nlu import NLU\n"
        f"n = NLU.load({str(nlu_cache_dir)!r})\n"
        "s = n.understanding.spelling\n"
        f"out = [s.transliterate(t) for t in {PROBES!r}] + [s.correct(t) for t in {TYPOS!r}]\n"
        "print(json.dumps([out, [m for m in ('pypinyin', 'pkg_resources') if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    spelled, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []
    assert spelled == _spelling_of(nlu)
    assert spelled[0] == "银行卡"  # 行 read háng, as in the phrase, not xíng
    assert spelled[-2:] == ["取消报名", "出勤率"]


def test_a_damaged_readings_cache_is_rebuilt(nlu: NLU, nlu_cache_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "nlu-cache"
    shutil.copytree(nlu_cache_dir, cache)
    (readings,) = cache.glob("spelling-readings-*.json")
    whole = json.loads(readings.read_text(encoding="utf-8"))
    cut_short, wrong_value, words_missing = '{"银行": ["yin"', {**whole, "银行": 7}, {"银行": ["yin", "hang"]}
    for damage in (cut_short, json.dumps(wrong_value), json.dumps(words_missing)):
        readings.write_text(damage, encoding="utf-8")
        again = NLU.load(cache)
        assert _spelling_of(again) == _spelling_of(nlu)
        assert json.loads(readings.read_text(encoding="utf-8")) == whole
